"""A training step is recorded once per batch (shape) and replayed: same numbers, less Python.

The reference in each test is the same model with layers that opt out of recording
(`traceable = False`), so every one of its steps runs the rules eagerly.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd


@attrs.define(frozen=True)
class _Counted(dg.Dense):
    """A dense layer that counts the calls of its Python."""

    name: ClassVar[str] = "counted_dense"
    calls: ClassVar[list[int]] = [0]

    def __call__(self, params: Any, x: Any) -> Any:
        type(self).calls[0] += 1
        return super().__call__(params, x)


@attrs.define(frozen=True)
class _Eager(dg.Dense):
    """A dense layer that runs eagerly at every step."""

    name: ClassVar[str] = "eager_dense"
    traceable: ClassVar[bool] = False


@attrs.define(frozen=True)
class _Branching(dg.Dense):
    """A dense layer whose Python reads its input's values."""

    name: ClassVar[str] = "branching_dense"

    def __call__(self, params: Any, x: Any) -> Any:
        out = super().__call__(params, x)
        return out * 2.0 if np.sum(x) > 1e9 else out


def _pair(layer: type, units: list[int], loss: str, optimizer: Any = "sgd") -> tuple[Any, Any]:
    """A model of `layer`s and the same model run eagerly, with equal weights."""
    def make(cls: type) -> dg.Model:
        layers = [cls(units=u, activation="tanh") for u in units[:-1]]
        layers.append(cls(units=units[-1],
                          activation="sigmoid" if loss == "logloss" else None))
        return dg.Model(layers, loss, optimizer, seed=0, input_shape=[3])
    return make(layer), make(_Eager)


def _data(n: int = 23, k: int = 1, binary: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(n, 3))
    y = rng.normal(size=(n, k))
    return x, (y > 0).astype(float) if binary else y


@pytest.mark.parametrize(("batch_size", "shuffle"), [(None, True), (5, False), (5, True)])
@pytest.mark.parametrize(("loss", "units"), [("mse", [4, 2]), ("logloss", [5, 3, 1])])
def test_replayed_training_gives_the_eager_weights(batch_size, shuffle, loss, units):
    """Full-batch, unshuffled and shuffled mini-batch training replay recorded steps and end
    at the weights of the same training run eagerly, to 1e-12."""
    x, y = _data(k=units[-1], binary=loss == "logloss")
    model, eager = _pair(dg.Dense, units, loss)
    model.fit(x, y, epochs=4, batch_size=batch_size, shuffle=shuffle, verbose=False)
    eager.fit(x, y, epochs=4, batch_size=batch_size, shuffle=shuffle, verbose=False)
    for a, b in zip(model.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("batch_size", "shuffle", "recordings"),
                         [(None, True, 1), (10, False, 2), (10, True, 2)])
def test_a_layers_python_runs_once_per_recording_not_per_step(batch_size, shuffle, recordings):
    """The layers' Python runs when a step is recorded: once for full-batch training, once per
    batch shape for mini-batches (23 samples in batches of 10: shapes 10 and 3), shuffled or
    not; later steps replay."""
    x, y = _data()
    model = dg.Model([_Counted(units=4, activation="tanh"), _Counted(units=1)], "mse", "sgd",
                     seed=0, input_shape=[3])
    _Counted.calls[0] = 0
    model.fit(x, y, epochs=5, batch_size=batch_size, shuffle=shuffle, verbose=False)
    assert _Counted.calls[0] == 2 * recordings


def test_a_layer_that_opts_out_runs_at_every_step():
    """A layer with ``traceable = False`` runs its Python at every step."""
    calls = [0]

    @attrs.define(frozen=True)
    class Opted(_Eager):
        name: ClassVar[str] = "opted_dense"

        def __call__(self, params: Any, x: Any) -> Any:
            calls[0] += 1
            return super().__call__(params, x)

    x, y = _data()
    model = dg.Model([Opted(units=1)], "mse", "sgd", seed=0, input_shape=[3])
    model.fit(x, y, epochs=6, verbose=False)
    assert calls[0] == 6


def test_a_layer_whose_python_reads_values_is_found_out_and_runs_eagerly():
    """A layer that branches on its input's values cannot be recorded: the model finds out on
    the first step and trains eagerly, to the eager weights."""
    x, y = _data()
    model, eager = _pair(_Branching, [4, 1], "mse")
    model.fit(x, y, epochs=3, verbose=False)
    eager.fit(x, y, epochs=3, verbose=False)
    for a, b in zip(model.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_a_replaced_layer_is_recorded_anew():
    """Replacing a layer of `model.layers` after a fit makes the next step record again: the
    gradient follows the new layer."""
    x, y = _data()
    model, eager = _pair(dg.Dense, [4, 1], "mse")
    model.fit(x, y, epochs=2, verbose=False)
    eager.fit(x, y, epochs=2, verbose=False)
    model.layers[0] = dg.Dense(units=4, activation="sigmoid")
    eager.layers[0] = _Eager(units=4, activation="sigmoid")
    for a, b in zip(model.gradient(x, y), eager.gradient(x, y)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_a_replayed_gradient_matches_finite_differences():
    """Model.gradient, replayed from its recorded program at new weights, agrees with central
    differences of the loss."""
    x, y = _data(k=2)
    model = dg.Model([dg.Dense(units=3, activation="sigmoid"), dg.Dense(units=2)], "mse", "sgd",
                     seed=1, input_shape=[3])
    model.gradient(x, y)  # records
    weights = [w + 0.1 for w in model.get_weights()]
    model.set_weights(weights)
    grads = model.gradient(x, y)  # replays
    for fd_grad, grad in zip(fd.model_gradient(model, x, y), grads):
        np.testing.assert_allclose(grad, fd_grad, rtol=0, atol=1e-7)


def test_fit_copies_the_data_it_folds_and_leaves_the_callers_arrays_alone():
    """fit folds a private read-only copy of batches that come back every epoch: the caller's
    arrays stay writable and unchanged."""
    x, y = _data()
    before = x.copy()
    dg.Model([dg.Dense(units=1)], "mse", "sgd", seed=0).fit(x, y, epochs=2, verbose=False)
    assert x.flags.writeable and y.flags.writeable
    x[0, 0] = 1.0
    before[0, 0] = 1.0
    np.testing.assert_array_equal(x, before)


def test_a_budget_that_splits_the_gradient_into_passes_trains_eagerly():
    """A memory budget too small for one pass over every weight splits the gradient into
    passes with other seeds each: those run eagerly (the layers' Python at every pass), and
    training ends at the weights of one recorded pass, to 1e-12."""
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))

    def model(budget: int) -> dg.Model:
        return dg.Model([_Counted(units=4, activation="tanh"), _Counted(units=1)], "mse", "sgd",
                        seed=5, input_shape=[3], memory_budget=budget)

    small, large = model(40_000), model(1 << 30)
    passes = -(-small.num_params // small._gradients.chunk_size(small._weights, 40))
    assert passes == 4
    _Counted.calls[0] = 0
    small.fit(x, y, epochs=3, verbose=False)
    assert _Counted.calls[0] == 2 * 3 * passes
    large.fit(x, y, epochs=3, verbose=False)
    assert _Counted.calls[0] == 2 * 3 * passes + 2
    for a, b in zip(small.get_weights(), large.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_fits_on_the_same_small_data_record_their_step_once():
    """A loop of ``fit(epochs=1)`` on the same small full-batch data records the step once
    and replays it after (the model keeps the program from one fit to the next), and ends at
    the weights of the same loop run eagerly."""
    x, y = _data()
    model = dg.Model([_Counted(units=4, activation="tanh"), _Counted(units=1)], "mse", "sgd",
                     seed=0, input_shape=[3])
    _, eager = _pair(dg.Dense, [4, 1], "mse")
    eager.set_weights(model.get_weights())
    _Counted.calls[0] = 0
    for _ in range(4):
        model.fit(x, y, epochs=1, verbose=False)
        eager.fit(x, y, epochs=1, verbose=False)
    assert _Counted.calls[0] == 2  # two layers, recorded once
    for a, b in zip(model.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_new_numbers_are_folded_into_the_recorded_step():
    """Data changed in place between fits (one number, or the sign of a zero), or other data
    of the same shapes, is not the data the kept program folded: the step recorded for the
    first is refolded on it (the layers' Python does not run again) and follows the new
    numbers, to the weights of the same fits run eagerly. Data of new shapes is recorded."""
    x, y = _data()
    x[0, 0] = 0.0
    model = dg.Model([_Counted(units=4, activation="tanh"), _Counted(units=1)], "mse", "sgd",
                     seed=0, input_shape=[3])
    _, eager = _pair(dg.Dense, [4, 1], "mse")
    eager.set_weights(model.get_weights())
    _Counted.calls[0] = 0
    other = _data(n=23)[0] * 0.5
    for change in (None, (1, 2, 5.0), (0, 0, -0.0), "other", "x"):
        if isinstance(change, tuple):
            x[change[0], change[1]] = change[2]
        data = other if change == "other" else x
        model.fit(data, y, epochs=2, verbose=False)
        eager.fit(data, y, epochs=2, verbose=False)
    assert _Counted.calls[0] == 2  # two layers, recorded once
    for a, b in zip(model.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    model.fit(x[:20], y[:20], epochs=1, verbose=False)
    assert _Counted.calls[0] == 4  # 20 samples: recorded


def test_large_data_is_not_kept_between_fits(monkeypatch):
    """Full-batch data beyond what a model keeps between fits (its copy, and what its program
    folds) is let go at the end of the fit, with what the program folded from it."""
    from dualgrad import _training

    monkeypatch.setattr(_training, "KEPT_BETWEEN_FITS", 700)  # the data: 23 x 4 x 8 = 736
    x, y = _data()
    model = dg.Model([dg.Dense(units=4, activation="tanh"), dg.Dense(units=1)], "mse", "sgd",
                     seed=0, input_shape=[3])
    model.fit(x, y, epochs=1, verbose=False)
    assert model._trainer._data is None
    assert model._gradients.programs.kept_bytes == 0
    monkeypatch.setattr(_training, "KEPT_BETWEEN_FITS", 1 << 20)
    model.fit(x, y, epochs=1, verbose=False)
    assert model._trainer._data is not None
    assert model._gradients.programs.kept_bytes > 0


@pytest.mark.parametrize("copied", ["pickle", "deepcopy"])
def test_a_model_with_recorded_steps_pickles_and_trains_on_alike(copied):
    """A model that has recorded steps (full-batch and mini-batch) pickles (or deep-copies)
    without them: the copy predicts the same, and trains on to the original's weights (its
    layers' weights are views of its own flat buffer, which its steps write)."""
    import copy as copying
    import pickle

    x, y = _data()
    model = dg.Model([dg.Dense(units=4, activation="tanh"), dg.Dense(units=1)], "mse", "sgd",
                     seed=0, input_shape=[3])
    model.fit(x, y, epochs=2, verbose=False)
    model.fit(x, y, epochs=2, batch_size=5, shuffle=False, verbose=False)
    copy = pickle.loads(pickle.dumps(model)) if copied == "pickle" else copying.deepcopy(model)
    np.testing.assert_array_equal(copy.predict(x), model.predict(x))
    for m in (model, copy):
        m.fit(x, y, epochs=2, verbose=False)
    for a, b in zip(model.get_weights(), copy.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@attrs.define(frozen=True)
class _PositiveMSE(dg.losses.Loss):
    """The squared error over the samples whose target is positive, divided by their count
    read from Python (the shape of y[mask])."""

    name: ClassVar[str] = "positive_mse_counted"

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        mask = y_true[:, 0] > 0
        sq = (y_pred[:, 0] - y_true[:, 0]) ** 2
        return dg.sum(sq * mask) / y_true[mask].shape[0]


@attrs.define(frozen=True)
class _BalancedMSE(dg.losses.Loss):
    """The mean of the squared errors of each class (the first column's sign and rounding),
    over the classes present, found with np.unique."""

    name: ClassVar[str] = "balanced_mse"

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        labels = y_true[:, 1]
        classes = np.unique(labels)
        total = 0.0
        for c in classes:
            hit = labels == c
            total = total + dg.sum((y_pred[:, 0] - y_true[:, 0]) ** 2 * hit) / dg.sum(hit)
        return total / len(classes)


@pytest.mark.parametrize("loss", [_PositiveMSE(), _BalancedMSE()])
@pytest.mark.parametrize("batch_size", [None, 8])
def test_python_reading_a_shape_set_by_values_runs_eagerly(loss, batch_size):
    """A loss whose Python reads the shape of a result set by values (y[mask], np.unique) is
    not recorded (the shape would be a constant of the recorded data): fits on data with other
    counts, full-batch or in mini-batches, end at the weights of a model trained eagerly."""
    rng = np.random.default_rng(0)

    def data(classes: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(size=(24, 3))
        y = np.column_stack([rng.normal(size=24) + shift, rng.integers(0, classes, 24)])
        return x, y.astype(float)

    model = dg.Model([dg.Dense(units=2)], loss, "sgd", seed=0, input_shape=[3])
    eager = dg.Model([_Eager(units=2)], loss, "sgd", seed=0, input_shape=[3])
    eager.set_weights(model.get_weights())
    for x, y in (data(2, 0.0), data(4, 1.0), data(3, -0.5)):
        for m in (model, eager):
            m.fit(x, y, epochs=2, batch_size=batch_size, shuffle=False, verbose=False)
    for a, b in zip(model.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_a_result_set_by_values_whose_shape_python_never_reads_is_replayed():
    """A loss that selects targets by their values (y[mask]) without reading the shape of
    the selection is recorded once, and its replays (refolded on new data, on other batches)
    follow the number selected, to the weights of a model trained eagerly."""
    @attrs.define(frozen=True)
    class Selected(dg.losses.Loss):
        name: ClassVar[str] = "selected_mse"

        def __call__(self, y_true: Any, y_pred: Any) -> Any:
            mask = y_true[:, 0] > 0
            count = dg.sum(y_true[mask] * 0.0 + 1.0) + 1.0  # the selection's size, plus one
            return dg.sum((y_pred[:, 0] - y_true[:, 0]) ** 2 * mask) / count

    rng = np.random.default_rng(1)
    model = dg.Model([_Counted(units=1)], Selected(), "sgd", seed=0, input_shape=[3])
    eager = dg.Model([_Eager(units=1)], Selected(), "sgd", seed=0, input_shape=[3])
    eager.set_weights(model.get_weights())
    _Counted.calls[0] = 0
    for shift in (0.0, 1.0, -1.0):
        x, y = rng.normal(size=(24, 3)), rng.normal(size=(24, 1)) + shift
        for m in (model, eager):
            m.fit(x, y, epochs=2, verbose=False)
            m.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=False)
    assert _Counted.calls[0] == 2  # recorded once full-batch, once for batches of 8
    for a, b in zip(model.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
