"""executor=: chunks of directions, cotangent rows and shards of data on a process pool and on
a real two-worker Dask cluster give the serial results, and failures are clear errors.

The Dask tests start one LocalCluster for the module (skipped, with the reason, where
dask[distributed] is not installed); the tests that kill a worker come last in their group.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from dualgrad import _registry

RNG = np.random.default_rng(7)
A = RNG.normal(size=(8, 12)) / 3
B = RNG.normal(size=(8, 8)) / 3
X = RNG.normal(size=12)
DATA_X = RNG.normal(size=(45, 3))
DATA_Y = (DATA_X[:, :1] + 0.5 * DATA_X[:, 1:2] > 0).astype(float)


def close(a: Any, b: Any) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ---- functions and parts shipped to the workers (module level: they pickle) ----------------


def layers(x: Any) -> Any:
    """R^12 -> R^8: matrix products and elementwise functions."""
    h = dg.tanh(dg.matmul(A, x))
    return dg.matmul(B, h) * dg.sin(h) + dg.exp(-h * h)


def energy(x: Any) -> Any:
    return dg.sum(dg.tanh(dg.matmul(A, x)) ** 2) + dg.sum(x ** 3) / 10


def fails_on_workers(parent: int, x: Any) -> Any:
    if os.getpid() != parent:
        raise ValueError("boom on a worker")
    return x * x


def exits_on_workers(parent: int, x: Any) -> Any:
    if os.getpid() != parent:
        os._exit(1)
    return x * x


def sleeps_on_workers(parent: int, x: Any) -> Any:
    if os.getpid() != parent:
        time.sleep(1.0)
    return x * x


@attrs.define(frozen=True)
class ExitInWorker(dg.Layer):
    """The identity in the process `parent`; ends any other process (a worker) at once."""

    name = "exit_in_worker"
    parent: int = 0

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        return []

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __call__(self, params: Any, x: Any) -> Any:
        if os.getpid() != self.parent:
            os._exit(1)
        return x


def register_exit_layer(*_: Any) -> None:
    dg.register(ExitInWorker, kind="layer")


def classifier(*extra: Any, **options: Any) -> dg.Model:
    return dg.Model([*extra, {"type": "dense", "units": 5, "activation": "tanh"},
                     {"type": "dense", "units": 1, "activation": "sigmoid"}], "logloss",
                    options.pop("optimizer", "adam"), seed=3, metrics=["accuracy", "auc"],
                    **options)


# ---- fixtures ---------------------------------------------------------------------------------


def _spawned_pool(**options: Any) -> ProcessPoolExecutor:
    # spawn: a pool forked from a process running threads (Dask's) is unsafe, and warns
    return ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"), **options)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    """A two-process pool, shared by the module's tests that do not break it."""
    with _spawned_pool() as executor:
        yield executor


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[Any]:
    """A real two-worker Dask LocalCluster on loopback (worker processes, no dashboard), and
    its client's executor; closed after the module."""
    distributed = pytest.importorskip(
        "distributed", reason="dask[distributed] is not installed (pip install 'dualgrad[dask]')")
    import cloudpickle
    import dask

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import it
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
        client = distributed.Client(cluster)
    try:
        yield client.get_executor()
    finally:
        client.close()
        cluster.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture
def clean_local() -> Iterator[None]:
    """Forget, after the test, what it registered in-process."""
    before = dict(_registry._LOCAL)
    yield
    _registry._LOCAL.clear()
    _registry._LOCAL.update(before)
    _registry.reload()


# ---- transformations on a process pool -------------------------------------------------------


def test_forward_jacobian_on_a_process_pool_equals_serial(pool):
    """A forward-mode Jacobian in chunks of directions on a pool equals the serial one."""
    serial = dg.jacobian(layers, mode="forward")(X)
    close(dg.jacobian(layers, mode="forward", executor=pool)(X), serial)
    close(dg.jacobian(layers, chunk_size=5, executor=pool)(X), serial)


def test_reverse_jacobian_on_a_process_pool_equals_serial(pool):
    """A reverse-mode Jacobian in chunks of cotangent rows on a pool equals the serial one."""
    serial = dg.jacobian(layers, mode="reverse")(X)
    close(dg.jacobian(layers, mode="reverse", executor=pool)(X), serial)
    close(serial, dg.jacobian(layers, mode="forward")(X))


def test_grads_and_hessian_on_a_process_pool_equal_serial(pool):
    """grad (both modes), value_and_grad and hessian on a pool equal the serial ones."""
    for mode in ("forward", "reverse"):
        close(dg.grad(energy, mode=mode, executor=pool)(X), dg.grad(energy, mode=mode)(X))
    value, g = dg.value_and_grad(energy, mode="forward", executor=pool)(X)
    close(value, energy(X))
    close(g, dg.grad(energy)(X))
    close(dg.hessian(energy, executor=pool)(X), dg.hessian(energy)(X))


def test_a_lambda_on_a_process_pool_is_refused_saying_what_to_do(pool):
    """A lambda cannot pickle for a process pool: DualgradTypeError saying to define it at
    module level, before any task is sent."""
    with pytest.raises(dg.DualgradTypeError, match=r"module level.*cloudpickle"):
        dg.jacobian(lambda x: x * x, executor=pool)(X)


def test_an_exception_in_f_names_the_chunk_and_the_cause(pool):
    """An exception in f on a worker is an ExecutorError naming the chunk and the cause."""
    f = functools.partial(fails_on_workers, os.getpid())
    with pytest.raises(dg.ExecutorError, match=r"chunk \d \(directions.*ValueError: boom") as e:
        dg.jacobian(f, mode="forward", executor=pool)(X)
    assert isinstance(e.value.__cause__, ValueError)


def test_executor_and_timeout_are_checked():
    """executor= takes an Executor (DualgradTypeError); timeout= a positive number and an
    executor (ConfigError)."""
    with pytest.raises(dg.DualgradTypeError, match="Executor"):
        dg.grad(energy, executor="dask")
    with pytest.raises(dg.ConfigError, match="timeout"):
        dg.grad(energy, timeout=3)
    with pytest.raises(dg.ConfigError, match="timeout"):
        dg.jacobian(energy, executor=_spawned_pool(), timeout=-1)


def test_a_timeout_cancels_the_tasks_and_raises():
    """Tasks slower than timeout= give ExecutorError naming the chunk: nothing hangs."""
    executor = _spawned_pool()
    try:
        f = functools.partial(sleeps_on_workers, os.getpid())
        start = time.perf_counter()
        with pytest.raises(dg.ExecutorError, match=r"chunk 0 .*timeout of 0.2 s"):
            dg.jacobian(f, mode="forward", executor=executor, timeout=0.2)(X)
        assert time.perf_counter() - start < 1.0
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def test_a_killed_pool_worker_is_a_clear_error():
    """A worker process that dies mid-task (os._exit in f) is an ExecutorError saying so."""
    with _spawned_pool() as executor:
        f = functools.partial(exits_on_workers, os.getpid())
        with pytest.raises(dg.ExecutorError, match=r"chunk \d.*BrokenProcessPool.*died"):
            dg.jacobian(f, mode="forward", executor=executor)(X)


# ---- the Model on a process pool -------------------------------------------------------------


def test_model_gradient_and_evaluate_on_a_process_pool_equal_serial(pool):
    """Model.gradient and evaluate (loss, accuracy, auc) over shards equal the serial ones."""
    model = classifier(input_shape=(3,))
    for a, b in zip(model.gradient(DATA_X, DATA_Y, executor=pool, shards=3),
                    model.gradient(DATA_X, DATA_Y)):
        close(a, b)
    sharded = model.evaluate(DATA_X, DATA_Y, return_dict=True, executor=pool)
    serial = model.evaluate(DATA_X, DATA_Y, return_dict=True)
    assert sharded.keys() == serial.keys()
    for key in serial:
        close(sharded[key], serial[key])


def test_three_epochs_of_fit_on_a_process_pool_equal_serial(pool):
    """fit with executor= (shuffled mini-batches, sample weights) ends where serial fit ends."""
    weights = np.linspace(0.5, 2.0, len(DATA_X))
    runs = []
    for executor in (None, pool):
        model = classifier()
        history = model.fit(DATA_X, DATA_Y, epochs=3, batch_size=16, verbose=False,
                            sample_weight=weights, executor=executor, shards=2)
        runs.append((history.history, model.get_weights()))
    (h1, w1), (h2, w2) = runs
    for key in h1:
        close(h2[key], h1[key])
    for a, b in zip(w2, w1):
        close(a, b)


def test_fit_refuses_what_shards_cannot_reproduce(pool):
    """A dropout layer or a forward-gradient optimizer cannot be sharded exactly: ConfigError
    before any step, the weights untouched."""
    model = classifier({"type": "dropout", "rate": 0.2}, input_shape=(3,))
    before = model.get_weights()
    with pytest.raises(dg.ConfigError, match="shards"):
        model.fit(DATA_X, DATA_Y, epochs=1, verbose=False, executor=pool)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(dg.ConfigError, match="random directions"):
        classifier(optimizer="fgd").fit(DATA_X, DATA_Y, verbose=False, executor=pool)
    with pytest.raises(dg.ConfigError, match="shards"):
        model.gradient(DATA_X, DATA_Y, executor=pool, shards=0)


def test_a_pool_worker_killed_mid_step_leaves_the_weights_unchanged(clean_local):
    """A worker dying during a step of fit: ExecutorError naming the shard, weights as before."""
    register_exit_layer()
    with _spawned_pool(initializer=register_exit_layer) as executor:
        model = classifier({"type": "exit_in_worker", "parent": os.getpid()}, input_shape=(3,))
        before = model.get_weights()
        with pytest.raises(dg.ExecutorError, match=r"shard \d \(samples.*died"):
            model.fit(DATA_X, DATA_Y, epochs=2, verbose=False, executor=executor)
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b)


# ---- on a Dask cluster ----------------------------------------------------------------------


def test_jacobians_and_grads_on_dask_equal_serial(dask_executor):
    """Forward and reverse Jacobians and a gradient on a Dask cluster equal the serial ones;
    Dask ships a lambda (cloudpickle)."""
    close(dg.jacobian(layers, mode="forward", executor=dask_executor)(X),
          dg.jacobian(layers, mode="forward")(X))
    close(dg.jacobian(layers, mode="reverse", executor=dask_executor)(X),
          dg.jacobian(layers, mode="reverse")(X))
    close(dg.grad(energy, mode="forward", executor=dask_executor)(X), dg.grad(energy)(X))
    close(dg.jacobian(lambda x: dg.sin(x) * x, executor=dask_executor)(X),
          dg.jacobian(lambda x: dg.sin(x) * x)(X))


def test_model_gradient_and_three_epochs_of_fit_on_dask_equal_serial(dask_executor):
    """Model.gradient and 3 epochs of fit on a Dask cluster (weights scattered once per step)
    equal the serial ones."""
    model = classifier(input_shape=(3,))
    for a, b in zip(model.gradient(DATA_X, DATA_Y, executor=dask_executor),
                    model.gradient(DATA_X, DATA_Y)):
        close(a, b)
    serial, sharded = classifier(), classifier()
    h1 = serial.fit(DATA_X, DATA_Y, epochs=3, batch_size=20, verbose=False)
    h2 = sharded.fit(DATA_X, DATA_Y, epochs=3, batch_size=20, verbose=False,
                     executor=dask_executor)
    close(h2.history["loss"], h1.history["loss"])
    for a, b in zip(sharded.get_weights(), serial.get_weights()):
        close(a, b)


def test_a_part_dask_workers_cannot_resolve_is_a_clear_error(dask_executor, clean_local):
    """A layer registered in this process only is unknown to the workers: ExecutorError
    naming the shard and saying to install the same plugins there."""
    register_exit_layer()
    model = classifier({"type": "exit_in_worker", "parent": os.getpid()}, input_shape=(3,))
    with pytest.raises(dg.ExecutorError, match=r"shard \d.*exit_in_worker.*plugin"):
        model.gradient(DATA_X, DATA_Y, executor=dask_executor)


def test_a_dask_worker_killed_mid_step_leaves_the_weights_unchanged(dask_executor,
                                                                   clean_local):
    """A Dask worker dying during a step of fit: ExecutorError naming the shard and the
    cause (KilledWorker), the weights as before."""
    register_exit_layer()
    dask_executor._client.run(register_exit_layer)
    model = classifier({"type": "exit_in_worker", "parent": os.getpid()}, input_shape=(3,))
    before = model.get_weights()
    with pytest.raises(dg.ExecutorError, match=r"shard \d.*KilledWorker"):
        model.fit(DATA_X, DATA_Y, epochs=2, verbose=False, executor=dask_executor)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_shards_on_threads_of_one_process_do_not_share_a_model():
    """A thread pool runs shards at once in one process: each thread rebuilds its own model
    (its recorded programs write into buffers of their own), so the sharded gradient and
    three epochs of fit equal the serial ones."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(200, 6)), rng.normal(size=(200, 2))

    def model() -> dg.Model:
        return dg.Model([{"type": "dense", "units": 16, "activation": "tanh"},
                         {"type": "dense", "units": 2}], "mse", "adam", seed=0,
                        gradient="forward")

    serial, sharded = model(), model()
    with ThreadPoolExecutor(8) as threads:
        for a, b in zip(serial.gradient(x, y),
                        sharded.gradient(x, y, executor=threads, shards=8)):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
        serial.fit(x, y, epochs=3, batch_size=50, shuffle=False, verbose=False)
        sharded.fit(x, y, epochs=3, batch_size=50, shuffle=False, verbose=False,
                    executor=threads, shards=4)
    for a, b in zip(serial.get_weights(), sharded.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
