"""A Model's gradient and loss computed data-parallel on an executor (``executor=``).

The batch is cut into contiguous shards, one task each. Each task rebuilds the model from its
config (once per worker process and config: the rebuilt model, with its recorded training
step, is kept there), takes the weights sent with the task and returns its shard's loss and
gradient. The loss is a mean over samples, so the batch's is the shards' weighed by their
sizes: ``sum(n_k * loss_k) / N``, and the same for the gradient. The config and the weights
travel once per step (scattered to the cluster on Dask; with every task elsewhere).

What cannot be cut into shards exactly is refused before anything is sent: training layers
or losses that draw random numbers or otherwise change from call to call (``traceable =
False``: a dropout mask depends on the whole batch), a loss that is not a mean over samples
(one without ``per_sample``), and optimizers that estimate the gradient from random
directions.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _executors
from ._errors import ConfigError
from ._weights import Weights
from .layers.base import Mode, running_in
from .losses import Loss
from .losses.weighted import SampleWeighted

# The model is a `dualgrad.Model`; this module sits below it (the Model imports it), so it is
# typed Any here, and the workers rebuild it by the `from_config` the tasks carry.
Model = Any

__all__ = ["Sharded", "evaluate", "gradient", "ranges"]


def ranges(n: int, shards: int | None, executor: Any) -> list[tuple[int, int]]:
    """`n` samples cut into `shards` contiguous shards (None: one per worker of `executor`),
    of sizes differing by one at most; never more shards than samples."""
    if shards is None:
        shards = _executors.workers(executor)
    elif isinstance(shards, bool) or not isinstance(shards, (int, np.integer)) or shards < 1:
        raise ConfigError(f"shards must be a positive int or None, got {shards!r}")
    k = max(1, min(int(shards), n))
    cuts = [n * i // k for i in range(k + 1)]
    return list(itertools.pairwise(cuts))


class Sharded:
    """A model's loss and gradient over shards of each batch: what the training loop asks in
    place of its `GradientEngine` when `fit` gets an executor.

    Args:
        model: the model (its config is read at every step: a callback may change its loss).
        executor: a `concurrent.futures.Executor`.
        shards: shards per batch; None for one per worker.
        timeout: seconds to wait for a step's tasks; None for no limit.
        training: whether the layers run in training mode (`fit`'s steps).
    """

    def __init__(self, model: Model, executor: Any, shards: int | None,
                 timeout: float | None, training: bool) -> None:
        self.model = model
        self.executor = executor
        self.shards = shards
        self.timeout = _executors.checked(executor, timeout)
        self.training = training
        ranges(1, shards, executor)  # refuses a bad `shards` before anything runs
        refuse_unshardable(model, training)

    def value_and_gradient(self, weights: Weights, x: np.ndarray, y: np.ndarray,
                           flat: np.ndarray | None = None, repair: bool = False,
                           fixed: bool = False, mode: Any = None) -> tuple[float, np.ndarray]:
        """The batch's loss and gradient (see `GradientEngine.value_and_gradient`), summed
        from its shards'. (`mode` is the engine's argument; the shards run in the mode this
        object's `training` says.)"""
        engine = self.model._gradients
        if self.training:
            refuse_unshardable(self.model, True)  # a part a callback assigned
        columns = engine.loss.columns if isinstance(engine.loss, SampleWeighted) else 0
        payload = (type(self.model).from_config, self.model.get_config(), columns,
                   weights.flat if flat is None else flat, self.training)
        parts = _run(self.executor, _gradient_task, payload, x, y, (repair,), self.shards,
                     "the model's gradient", self.timeout)
        n = x.shape[0]
        value = sum(size * v for size, (v, _) in parts) / n
        grad = sum(size * g for size, (_, g) in parts) / n
        return float(value), np.asarray(grad, dtype=np.float64)


def refuse_unshardable(model: Model, training: bool) -> None:
    """Raise `ConfigError` for what `Sharded` cannot compute exactly (see the module)."""
    loss = model.loss
    if type(loss).per_sample is Loss.per_sample:
        raise ConfigError(f"the loss {loss!r} gives no per-sample values, so its batch loss "
                          "cannot be computed from shards of the batch; implement its "
                          "per_sample method (its mean is the loss), or run without executor=")
    if not training:
        return
    for part in (*model.layers, loss):
        if not getattr(part, "traceable", True):
            raise ConfigError(
                f"{part!r} changes from call to call in training (traceable = False: random "
                "numbers, say a dropout mask drawn for the whole batch), so a step cannot be "
                "cut into shards exactly; train it without executor=, or without that part")
    if model.optimizer.gradient_estimate != "exact":
        raise ConfigError(f"the optimizer {model.optimizer!r} estimates the gradient from "
                          "random directions, which shards cannot reproduce; train it "
                          "without executor=, or with an optimizer of the exact gradient")


def gradient(model: Model, weights: Weights, x: np.ndarray, y: np.ndarray, executor: Any,
             shards: int | None, timeout: float | None) -> np.ndarray:
    """`Model.gradient` over shards: the flat gradient, repaired as the serial one is."""
    sharded = Sharded(model, executor, shards, timeout, training=False)
    flat = sharded.value_and_gradient(weights, x, y)[1]
    if np.isnan(flat).any():  # an infinite slope met a zero tangent: see _zeros
        flat = sharded.value_and_gradient(weights, x, y, repair=True)[1]
    return flat


def evaluate(model: Model, weights: Weights, x: np.ndarray, y: np.ndarray, executor: Any,
             shards: int | None, timeout: float | None
             ) -> tuple[float, np.ndarray | None]:
    """The loss on (x, y) from shards, and the model's outputs for x when it has metrics
    (each metric is then computed here from all of them, exactly)."""
    timeout = _executors.checked(executor, timeout)
    ranges(1, shards, executor)
    refuse_unshardable(model, training=False)
    want = bool(model.metrics)
    payload = (type(model).from_config, model.get_config(), 0, weights.flat, False)
    parts = _run(executor, _loss_task, payload, x, y, (want,), shards, "the model's loss",
                 timeout)
    loss = sum(size * v for size, (v, _) in parts) / x.shape[0]
    outputs = np.concatenate([o for _, (_, o) in parts]) if want else None
    return float(loss), outputs


def _run(executor: Any, task: Any, payload: tuple[Any, ...], x: np.ndarray, y: np.ndarray,
         extra: tuple[Any, ...], shards: int | None, what: str, timeout: float | None
         ) -> list[tuple[int, Any]]:
    """``task(payload, x_shard, y_shard, *extra)`` per shard; (shard size, result) pairs."""
    cuts = ranges(x.shape[0], shards, executor)
    _executors.check_picklable(payload[:2], what, executor)
    sent = _executors.send_once(executor, payload)
    results = _executors.run(
        executor, task, [(sent, x[a:b], y[a:b], *extra) for a, b in cuts],
        [f"shard {k} (samples {a}..{b} of {x.shape[0]})" for k, (a, b) in enumerate(cuts)],
        what, timeout)
    return [(b - a, r) for (a, b), r in zip(cuts, results)]


# ---- on the workers --------------------------------------------------------------------------

# The models rebuilt in this worker, by config: one cache per thread, since a model (its
# weights, its recorded programs and their buffers) serves one task at a time, and a worker
# may run several tasks at once in threads (a thread pool, Dask's default workers).
_LOCAL = threading.local()
_KEEP = 4


def _models() -> dict[str, Model]:
    models: dict[str, Model] | None = getattr(_LOCAL, "models", None)
    if models is None:
        models = _LOCAL.models = {}
    return models


def _worker_model(from_config: Any, config: dict[str, Any], columns: int, flat: np.ndarray
                  ) -> tuple[Model, Weights]:
    """The model of `config`, rebuilt (by `from_config`) once per process, with its loss
    weighed by the last target column when `columns`, and its weights at `flat`."""
    key = json.dumps(config, sort_keys=True, default=repr)
    models = _models()
    model = models.get(key)
    if model is None:
        try:
            model = from_config(config)
        except ConfigError as exc:
            raise ConfigError(
                f"a worker cannot rebuild the model: {exc}. Workers resolve the parts' names "
                "from the plugins installed where they run: install the same plugin packages "
                "on them (a part registered with dualgrad.register in your process only is "
                "unknown to a worker that did not fork from it)") from None
        if len(models) >= _KEEP:
            models.pop(next(iter(models)))
        models[key] = model
    weights = model._built_weights()
    if flat.shape != weights.flat.shape:
        raise ConfigError(f"the model rebuilt on the worker has {weights.size} weights, the "
                          f"task sent {flat.size}: the workers' plugins build other layers")
    engine = model._gradients
    engine.loss = SampleWeighted(model.loss, columns) if columns else model.loss
    return model, weights


def _gradient_task(payload: tuple[Any, ...], x: np.ndarray, y: np.ndarray, repair: bool
                   ) -> tuple[float, np.ndarray]:
    from_config, config, columns, flat, training = payload
    model, weights = _worker_model(from_config, config, columns, flat)
    engine = model._gradients
    with running_in(Mode(training, None, engine.layers)), \
            np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value, grad = engine.value_and_gradient(weights, x, y, flat, repair=repair)
    return float(value), np.asarray(grad)


def _loss_task(payload: tuple[Any, ...], x: np.ndarray, y: np.ndarray, outputs: bool
               ) -> tuple[float, np.ndarray | None]:
    from_config, config, columns, flat, _ = payload
    model, weights = _worker_model(from_config, config, columns, flat)
    engine = model._gradients
    params: Sequence[Any] = weights.views(flat)
    loss = float(engine.loss_of(params, x, y))
    return loss, np.asarray(engine.forward(params, x)) if outputs else None
