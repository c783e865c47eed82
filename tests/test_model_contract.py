"""Model's promises that mutation testing found no test holding: gradients repaired pass by
pass, the optimizers a Model accepts, what fit says of bad validation data, and when it draws a
progress bar."""

from __future__ import annotations

import io
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg

# the last layer's sqrt starts at 0 (zero kernel and bias): an infinite slope that the first
# layer's directions meet with a zero tangent, so the gradient needs the NaN-safe repair
SQRT_HEAD = [{"type": "dense", "units": 2},
             {"type": "dense", "units": 1, "activation": "sqrt", "initializer": "zeros"}]


def test_a_repaired_gradient_is_the_same_in_one_pass_or_one_direction_a_pass():
    """A gradient that needs the zero-tangent repair is the same whether one pass covers every
    weight or the memory budget allows one direction a pass."""
    x, y = np.array([[1.0, 2.0]]), np.array([[-1.0]])
    grads = []
    for budget in (None, 1):
        model = dg.Model(SQRT_HEAD, "mse", "sgd", seed=0, input_shape=[2], memory_budget=budget)
        with np.errstate(divide="ignore"):
            grads.append(model.gradient(x, y))
    assert [g.tolist() for g in grads[0]] == [[[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0],
                                              [[-np.inf], [-np.inf]], [np.inf]]
    assert all(np.array_equal(a, b) for a, b in zip(*grads))


@attrs.define(frozen=True)
class _ListSGD(dg.Optimizer):
    """Plain SGD on the flat weight vector, returning the new weights as a list of floats."""

    name = "list_sgd"
    flat_weights = True
    lr: float = 0.1

    def init(self, params: Sequence[np.ndarray]) -> Any:
        return None

    def update(self, grads: Sequence[np.ndarray], state: Any,
               params: Sequence[np.ndarray]) -> tuple[list[Any], Any]:
        return [[float(w - self.lr * g) for w, g in zip(params[0], grads[0])]], state


def test_a_flat_optimizer_may_return_the_weights_as_a_list():
    """A flat-weights optimizer whose update returns a list of floats trains as SGD does."""
    x = np.linspace(-1, 1, 8)
    models = [dg.Model([{"type": "dense", "units": 1}], "mse", opt, seed=0)
              for opt in (_ListSGD(), {"type": "sgd", "lr": 0.1})]
    for model in models:
        model.fit(x, 2 * x, epochs=3, verbose=False)
    assert np.allclose(models[0].get_weights()[0], models[1].get_weights()[0])


@pytest.mark.parametrize("features", [1, 3])
def test_validation_data_of_other_shapes_names_the_training_shapes_per_sample(features):
    """validation_data whose samples have fewer or more features than the training data is a
    DataError naming the per-sample shapes it must have, before anything is built."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    x, y = np.ones((4, 2)), np.ones((4, 1))
    val = (np.ones((3, features)), np.ones((3, 1)))
    with pytest.raises(dg.DataError, match=r"per sample: x \(2,\), y \(1,\)"):
        model.fit(x, y, validation_data=val, verbose=False)
    assert not model.built


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _SlowMSE(dg.MeanSquaredError):
    """Mean squared error that takes a while, so that a progress bar redraws every epoch (at
    every step: its Python has an effect, so the step is not recorded and replayed)."""

    traceable = False

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        time.sleep(0.12)
        return super().__call__(y_true, y_pred)


@pytest.mark.parametrize(("epochs", "drawn"), [(9, False), (10, True)])
def test_a_progress_bar_is_drawn_on_a_terminal_from_ten_epochs(monkeypatch, epochs, drawn):
    """A fit (verbose by default) draws a progress bar on a terminal when it runs 10 epochs or
    more, and advances it epoch by epoch with the loss; a shorter fit stays quiet."""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    model = dg.Model([{"type": "dense", "units": 1}], _SlowMSE(), "sgd", seed=0)
    model.fit(np.ones((2, 1)), np.ones((2, 1)), epochs=epochs)  # verbose by default
    text = terminal.getvalue()
    assert ("epochs" in text) == drawn
    assert bool(re.search(r"\b10/10 .*loss=", text)) == drawn  # one step of the bar an epoch
    assert not re.search(r"\b(1[1-9]|[2-9][0-9])/10\b", text)
    assert text.endswith("\n") == drawn  # and the bar stays, one line a run, when fit ends


def test_a_gradient_whose_only_infinite_slope_meets_zero_tangents_trains():
    """A model whose sqrt meets its infinite slope at 0 with zero tangents only trains: the
    NaN-safe repair gives a zero gradient, and the weights stay finite."""
    layers = [{"type": "dense", "units": 2, "initializer": "zeros"},
              {"type": "dense", "units": 1, "activation": "sqrt", "initializer": "zeros",
               "use_bias": False}]
    model = dg.Model(layers, "mse", "sgd", seed=0, input_shape=[2])
    history = model.fit(np.array([[1.0, 2.0], [0.5, 1.0]]), np.array([[1.0], [0.0]]),
                        epochs=2, verbose=False)
    assert history.history["loss"] == [0.5, 0.5]
    assert all(not w.any() for w in model.get_weights())


def test_a_sigmoid_log_loss_model_of_three_layers_evaluates_its_own_loss():
    """A three-layer model with a sigmoid output and log-loss evaluates to the log-loss of its
    own predictions (every layer counted)."""
    layers = [{"type": "dense", "units": 2, "activation": "tanh"},
              {"type": "dense", "units": 2, "activation": "tanh"},
              {"type": "dense", "units": 1, "activation": "sigmoid"}]
    model = dg.Model(layers, "logloss", "sgd", seed=3, input_shape=[2])
    x = np.array([[0.5, -1.0], [2.0, 1.0], [-0.3, 0.8]])
    y = np.array([[1.0], [0.0], [1.0]])
    expected = float(dg.loss("logloss")(y, model.predict(x)))
    assert model.evaluate(x, y) == pytest.approx(expected, rel=1e-12)


def test_a_batch_size_of_one_trains_sample_by_sample():
    """batch_size=1 is a valid batch size: one step per sample each epoch."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    steps = []
    model.fit(np.ones((3, 1)), np.ones((3, 1)), epochs=1, batch_size=1, verbose=False,
              callbacks=[lambda epoch, logs: steps.append(logs)])
    assert len(steps) == 1


def test_validation_data_of_several_features_is_scored():
    """validation_data shaped like training data of two features and one output is scored
    each epoch as val_loss."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    x, y = np.ones((4, 2)), np.ones((4, 1))
    history = model.fit(x, y, epochs=2, validation_data=(x[:2], y[:2]), verbose=False)
    assert len(history.history["val_loss"]) == 2


@pytest.mark.parametrize(("outputs", "val_outputs"), [(1, 2), (2, 1)])
def test_validation_targets_of_another_shape_are_refused_before_training(outputs, val_outputs):
    """validation_data whose targets have more or fewer outputs per sample than y is a
    DataError, before anything is built."""
    model = dg.Model([{"type": "dense", "units": outputs}], "mse", "sgd", seed=0)
    x, y = np.ones((4, 2)), np.ones((4, outputs))
    val = (np.ones((3, 2)), np.ones((3, val_outputs)))
    with pytest.raises(dg.DataError, match="must have the shapes of the training data"):
        model.fit(x, y, validation_data=val, verbose=False)
    assert not model.built


def test_a_loss_a_callback_assigns_has_its_targets_checked_before_it_trains():
    """A loss assigned from a callback during fit has the targets checked before its first
    step: log-loss on targets of 0.5 is a DataError, and no step trained with it."""
    model = dg.Model([{"type": "dense", "units": 1, "activation": "sigmoid"}], "mse", "sgd",
                     seed=0)
    before: list[np.ndarray] = []

    def switch(epoch: int, logs: dict[str, float]) -> None:
        if epoch == 0:
            model.loss = "logloss"
            before.extend(model.get_weights())

    with pytest.raises(dg.DataError, match=r"'logloss' needs targets of 0 or 1; got 0\.5"):
        model.fit(np.ones((2, 1)), np.array([[0.5], [1.0]]), epochs=3, verbose=False,
                  callbacks=[switch])
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_data_of_more_than_256_samples_trains():
    """x and y of 300 samples each are accepted as one target per sample."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    x = np.linspace(-1, 1, 300)
    history = model.fit(x, 2 * x, epochs=1, verbose=False)
    assert model.evaluate(x, 2 * x) < history.history["loss"][0]


@attrs.define(frozen=True)
class _Double(dg.Layer):
    """A layer without weights: twice its input."""

    name = "double"

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        return []

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __call__(self, params: Sequence[Any], x: Any) -> Any:
        return 2 * x


def test_a_model_of_layers_without_weights_builds_and_predicts():
    """A model whose layers hold no weights builds with no parameters and predicts."""
    model = dg.Model([_Double()], "mse", "sgd", seed=0, input_shape=[2])
    assert model.num_params == 0 and model.get_weights() == []
    assert model.predict(np.ones((3, 2))).tolist() == [[2.0, 2.0]] * 3
    assert model.gradient(np.ones((3, 2)), np.ones((3, 2))) == []
    model.set_weights([])
    assert model.num_params == 0


def test_log_loss_assigned_later_reads_a_sigmoid_output_from_its_logits():
    """Log-loss assigned to a model with a sigmoid output scores it from the logits, exactly as
    a model built with log-loss does (no clipping at a saturated output)."""
    layers = [{"type": "dense", "units": 2, "activation": "tanh"},
              {"type": "dense", "units": 1, "activation": "sigmoid"}]
    built = dg.Model(layers, "logloss", "sgd", seed=0, input_shape=[2])
    assigned = dg.Model(layers, "mse", "sgd", seed=0, input_shape=[2])
    assigned.loss = "logloss"
    weights = [np.ones((2, 2)), np.zeros(2), np.full((2, 1), 40.0), np.full(1, 40.0)]
    built.set_weights(weights)
    assigned.set_weights(weights)
    x, y = np.array([[1.0, 1.0]]), np.array([[0.0]])
    assert assigned.evaluate(x, y) == built.evaluate(x, y) > 100


def test_fgd_never_falls_back_to_an_exact_gradient():
    """fgd whose forward gradient comes out NaN stops with NonFiniteLossError, rather than
    stepping along an exact (repaired) gradient."""
    layers = [{"type": "dense", "units": 2, "initializer": "zeros"},
              {"type": "dense", "units": 1, "activation": "sqrt", "initializer": "zeros",
               "use_bias": False}]
    model = dg.Model(layers, "mse", "fgd", seed=0, input_shape=[2])
    with pytest.raises(dg.NonFiniteLossError, match="NaN or infinite weights"):
        model.fit(np.array([[1.0, 2.0], [0.5, 1.0]]), np.array([[1.0], [0.0]]), epochs=1,
                  verbose=False)


def test_an_object_array_of_numbers_is_data():
    """x given as an object array of numbers (as from a table of mixed columns) trains like the
    same numbers as floats."""
    x = np.linspace(-1, 1, 6)
    models = [dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0) for _ in "ab"]
    models[0].fit(x.astype(object), 2 * x, epochs=2, verbose=False)
    models[1].fit(x, 2 * x, epochs=2, verbose=False)
    assert all(np.array_equal(a, b) for a, b in zip(models[0].get_weights(),
                                                     models[1].get_weights()))


def test_a_loss_a_callback_assigns_has_the_validation_targets_checked_too():
    """A loss assigned from a callback has the validation targets checked as well, before its
    first step: log-loss with validation targets of 0.5 is a DataError, nothing trained."""
    model = dg.Model([{"type": "dense", "units": 1, "activation": "sigmoid"}], "mse", "sgd",
                     seed=0)
    before: list[np.ndarray] = []

    def switch(epoch: int, logs: dict[str, float]) -> None:
        if epoch == 0:
            model.loss = "logloss"
            before.extend(model.get_weights())

    x, y = np.ones((2, 1)), np.array([[0.0], [1.0]])
    with pytest.raises(dg.DataError, match=r"'logloss' needs targets of 0 or 1; got 0\.5"):
        model.fit(x, y, epochs=3, validation_data=(x, np.array([[0.5], [1.0]])),
                  verbose=False, callbacks=[switch])
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_samples_with_fewer_features_than_the_model_takes_are_named():
    """x whose samples have fewer features than a built model takes is a DataError naming
    both shapes."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0, input_shape=[2])
    with pytest.raises(dg.DataError, match=r"takes samples of shape \(2,\); x has samples of "
                                           r"shape \(1,\)"):
        model.predict(np.ones((3, 1)))


def test_targets_of_another_shape_than_a_built_model_predicts_are_named():
    """y whose samples differ in shape from what a built model predicts is a DataError naming
    both shapes."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0, input_shape=[2])
    with pytest.raises(dg.DataError, match=r"predicts \(1,\) per sample; y has \(2,\)"):
        model.evaluate(np.ones((3, 2)), np.ones((3, 2)))


def test_a_model_of_one_weight_has_its_gradient():
    """A model of a single weight gets the gradient of that weight: d/dw mean((w x - y)^2)."""
    model = dg.Model([{"type": "dense", "units": 1, "use_bias": False}], "mse", "sgd", seed=0,
                     input_shape=[1])
    model.set_weights([np.array([[2.0]])])
    x, y = np.array([[1.0], [3.0]]), np.array([[1.0], [3.0]])
    (grad,) = model.gradient(x, y)
    assert grad.tolist() == [[10.0]]  # mean(2 (2x - y) x) = mean(2, 18)


def test_a_new_model_is_not_asked_to_stop_training():
    """A new model's stop_training flag is False until a callback sets it."""
    assert dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0).stop_training is False


@attrs.define(frozen=True)
class _Probing(dg.Optimizer):
    """SGD that asks the model for the loss and gradient at its weights, and at a wrong number
    of weights, on every step (as a line search does)."""

    name = "probing"
    needs_loss = True
    flat_weights = True

    def init(self, params: Sequence[np.ndarray]) -> Any:
        return []

    def update(self, grads: Sequence[np.ndarray], state: Any, params: Sequence[np.ndarray],
               loss_and_grad: Any = None) -> tuple[list[np.ndarray], Any]:
        value, (grad,) = loss_and_grad(params)
        for wrong in (1, 3):
            with pytest.raises(dg.ShapeError, match=f"takes 2 weights in all, got {wrong}"):
                loss_and_grad([np.zeros(wrong)])
        state.append((value, np.array_equal(grad, grads[0])))
        return [params[0] - 0.1 * grad], state


def test_an_optimizer_that_needs_the_loss_gets_it_at_any_weights():
    """An optimizer that needs the loss gets a loss_and_grad giving the batch's loss and the
    gradient the model computed, and refusing a wrong number of weights with a ShapeError."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", _Probing(), seed=0)
    x = np.linspace(-1, 1, 5)
    history = model.fit(x, 2 * x, epochs=2, verbose=False)
    assert [v for v, _ in model.optimizer_state] == pytest.approx(history.history["loss"])
    assert all(same for _, same in model.optimizer_state)


def test_a_log_loss_clipping_finer_than_the_default_still_clips():
    """Log-loss with an eps below the default (1e-12) clips a saturated output at eps, as
    documented, rather than reading the exact loss from the logits."""
    model = dg.Model([{"type": "dense", "units": 1, "activation": "sigmoid"}],
                     {"type": "logloss", "eps": 1e-12}, "sgd", seed=0, input_shape=[1])
    model.set_weights([np.array([[100.0]]), np.array([0.0])])
    loss = model.evaluate(np.array([[1.0]]), np.array([[0.0]]))
    assert loss == pytest.approx(-np.log(1e-12), rel=1e-6)


@attrs.define(frozen=True)
class _OneNumber(dg.Optimizer):
    """A broken flat optimizer: its update is a single number instead of a weight vector."""

    name = "one_number"
    flat_weights = True
    scalar: bool = True

    def init(self, params: Sequence[np.ndarray]) -> Any:
        return None

    def update(self, grads: Sequence[np.ndarray], state: Any,
               params: Sequence[np.ndarray]) -> tuple[list[Any], Any]:
        return [np.float64(0.5) if self.scalar else np.append(params[0], 0.5)], state


@pytest.mark.parametrize("scalar", [True, False], ids=["one-number", "one-too-many"])
def test_an_update_of_the_wrong_shape_stops_training_and_keeps_the_weights(scalar):
    """An optimizer update that is not one weight per parameter (a single number, or one too
    many) stops fit with a ShapeError saying so and leaves the weights as they were."""
    model = dg.Model([{"type": "dense", "units": 2}], "mse", _OneNumber(scalar), seed=0,
                     input_shape=[2])
    before = model.get_weights()
    with pytest.raises(dg.ShapeError, match="new weight value"):
        model.fit(np.ones((3, 2)), np.ones((3, 2)), epochs=1, verbose=False)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


@pytest.mark.parametrize("rows", [2, 4])
def test_other_numbers_of_samples_in_x_and_y_are_named(rows):
    """x and y with different numbers of samples, y's more or fewer, is a DataError naming
    both counts."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    with pytest.raises(dg.DataError, match=f"x has 3 rows but y has {rows}"):
        model.fit(np.ones((3, 2)), np.ones((rows, 1)), verbose=False)


def test_validation_data_without_targets_is_refused():
    """validation_data whose targets are None is a DataError, not an AttributeError."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    x, y = np.ones((4, 2)), np.ones((4, 1))
    with pytest.raises(dg.DataError, match="must have the shapes of the training data"):
        model.fit(x, y, validation_data=(x, None), verbose=False)


def test_the_chunk_plan_never_changes_what_is_learned():
    """Training in one pass, or with a memory budget allowing one direction a pass, on
    shuffled or fixed batches, ends at the same weights."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 2))
    layers = [{"type": "dense", "units": 4, "activation": "tanh"}, {"type": "dense", "units": 2}]
    for shuffle in (False, True):
        ends = []
        for budget in (None, 1):
            model = dg.Model(layers, "mse", "adam", seed=0, memory_budget=budget)
            model.fit(x, y, epochs=3, batch_size=4, shuffle=shuffle, verbose=False)
            ends.append(model.get_weights())
        assert all(np.allclose(a, b, rtol=1e-12, atol=1e-15) for a, b in zip(*ends))


def test_a_non_finite_input_names_its_first_row():
    """x with a NaN is a DataError naming the first row holding one (not its column)."""
    x = np.ones((4, 2))
    x[2, 0] = x[3, 1] = np.nan
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    with pytest.raises(dg.DataError, match=r"2 NaN .* the first in row 2 \(counting from 0\)"):
        model.fit(x, np.ones((4, 1)), verbose=False)


def test_targets_of_another_shape_are_named_before_building():
    """y with two outputs per sample for a model predicting one is a DataError naming both
    shapes, and the model stays unbuilt."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    with pytest.raises(dg.DataError, match=r"predicts \(1,\) per sample; y has \(2,\)"):
        model.fit(np.ones((3, 2)), np.ones((3, 2)), verbose=False)
    assert not model.built


def test_validation_data_of_three_parts_is_refused():
    """validation_data of three parts is a DataError asking for a pair."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    x, y = np.ones((4, 2)), np.ones((4, 1))
    with pytest.raises(dg.DataError, match=r"must be a pair \(x_val, y_val\)"):
        model.fit(x, y, validation_data=(x, y, y), verbose=False)


@attrs.define(frozen=True)
class _Unused(dg.Layer):
    """A layer with a weight its output ignores: twice its input."""

    name = "unused"

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        return [np.ones(3)]

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __call__(self, params: Sequence[Any], x: Any) -> Any:
        return 2 * x


@pytest.mark.parametrize("budget", [None, 1])
def test_weights_the_loss_ignores_have_a_zero_gradient_in_any_chunking(budget):
    """Weights the output does not depend on get a zero gradient, in one pass or one direction
    a pass."""
    model = dg.Model([{"type": "dense", "units": 1}, _Unused()], "mse", "sgd", seed=0,
                     input_shape=[2], memory_budget=budget)
    grads = model.gradient(np.ones((3, 2)), np.zeros((3, 1)))
    assert grads[2].tolist() == [0.0, 0.0, 0.0] and grads[0].any()


@pytest.mark.parametrize("budget", [None, 1])
def test_a_model_whose_loss_ignores_every_weight_has_a_zero_gradient(budget):
    """A model whose output depends on no weight has a zero gradient, in any chunking."""
    model = dg.Model([_Unused()], "mse", "sgd", seed=0, input_shape=[2], memory_budget=budget)
    (grad,) = model.gradient(np.ones((3, 2)), np.zeros((3, 2)))
    assert grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("budget", [None, 1])
def test_a_repaired_gradient_of_weights_the_loss_ignores_is_zero(budget):
    """In a gradient that needs the zero-tangent repair, weights the output ignores get zero,
    in one pass or one direction a pass."""
    layers = [{"type": "dense", "units": 2, "initializer": "zeros"},
              {"type": "dense", "units": 1, "activation": "sqrt", "initializer": "zeros",
               "use_bias": False}, _Unused()]
    model = dg.Model(layers, "mse", "sgd", seed=0, input_shape=[2], memory_budget=budget)
    with np.errstate(divide="ignore"):  # sqrt's slope at 0
        grads = model.gradient(np.array([[1.0, 2.0]]), np.array([[1.0]]))
    assert [g.tolist() for g in grads] == [[[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0], [[0.0], [0.0]],
                                           [0.0, 0.0, 0.0]]


def test_a_weight_of_a_smaller_shape_is_refused_by_set_weights():
    """set_weights with a weight smaller than its place is a ShapeError naming both shapes."""
    model = dg.Model([{"type": "dense", "units": 3}], "mse", "sgd", seed=0, input_shape=[2])
    kernel, _ = model.get_weights()
    with pytest.raises(dg.ShapeError, match=r"weight 1 must have shape \(3,\), got \(2,\)"):
        model.set_weights([kernel, np.zeros(2)])


@pytest.mark.parametrize("features", [1, 3])
def test_building_a_built_model_for_other_samples_is_refused(features):
    """build with another sample shape than a built model's, smaller or larger, is a
    ShapeError naming both."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0, input_shape=[2])
    with pytest.raises(dg.ShapeError,
                       match=rf"takes samples of shape \(2,\), got \({features},\)"):
        model.build((features,))


def test_x_of_no_samples_is_refused_whatever_its_features():
    """x of zero samples (shape (0, 2)) is a DataError saying it is empty."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    with pytest.raises(dg.DataError, match="x is empty; give at least one sample"):
        model.predict(np.ones((0, 2)))


def test_targets_with_fewer_outputs_than_predicted_are_refused():
    """y with one output per sample for a model predicting two is a DataError, not broadcast
    into the loss."""
    model = dg.Model([{"type": "dense", "units": 2}], "mse", "sgd", seed=0)
    with pytest.raises(dg.DataError, match=r"predicts \(2,\) per sample; y has \(1,\)"):
        model.fit(np.ones((3, 2)), np.ones((3, 1)), verbose=False)


def test_a_full_batch_is_the_same_batch_shuffled_or_not():
    """With every sample in one batch, shuffle changes nothing: the same weights, bit for bit."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 1))
    ends = []
    for shuffle in (False, True):
        model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
        model.fit(x, y, epochs=3, shuffle=shuffle, verbose=False)
        ends.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*ends))


def test_fgd_on_weights_the_loss_ignores_leaves_them_as_they_were():
    """fgd on a model whose output depends on no weight steps along a zero gradient."""
    model = dg.Model([_Unused()], "mse", "fgd", seed=0, input_shape=[2])
    model.fit(np.ones((3, 2)), np.zeros((3, 2)), epochs=2, verbose=False)
    assert model.get_weights()[0].tolist() == [1.0, 1.0, 1.0]


def test_log_loss_given_the_default_eps_explicitly_reads_the_logits():
    """Log-loss configured with eps=1e-7, the default, given explicitly, reads a sigmoid output
    from its logits as the default does (no clipping at a saturated output)."""
    layers = [{"type": "dense", "units": 1, "activation": "sigmoid"}]
    model = dg.Model(layers, {"type": "logloss", "eps": float("1e-7")}, "sgd", seed=0,
                     input_shape=[1])
    model.set_weights([np.array([[100.0]]), np.array([0.0])])
    assert model.evaluate(np.array([[1.0]]), np.array([[0.0]])) == pytest.approx(100.0)


def test_a_single_name_is_not_a_list_of_layers():
    """layers given as one name rather than a list is a ConfigError asking for a list."""
    with pytest.raises(dg.ConfigError, match="layers must be a non-empty list"):
        dg.Model("dense", "mse", "sgd")


def test_built_model_targets_with_fewer_outputs_are_refused():
    """y with one output per sample for a built model predicting two is a DataError."""
    model = dg.Model([{"type": "dense", "units": 2}], "mse", "sgd", seed=0, input_shape=[2])
    with pytest.raises(dg.DataError, match=r"predicts \(2,\) per sample; y has \(1,\)"):
        model.evaluate(np.ones((3, 2)), np.ones((3, 1)))


def test_a_weight_that_is_no_number_is_refused_by_set_weights():
    """set_weights with a weight of text is a DataError saying it is not numbers."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0, input_shape=[2])
    with pytest.raises(dg.DataError, match="weight 0 is not an array of numbers"):
        model.set_weights(["abc", np.zeros(1)])


def test_shuffled_mini_batches_cover_every_sample_each_epoch():
    """An epoch of shuffled mini-batches reports the loss over every sample: with a learning
    rate too small to move the weights, the model's loss on all of x."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", {"type": "sgd", "lr": 1e-300},
                     seed=0)
    x = np.arange(10.0)
    history = model.fit(x, -x, epochs=2, batch_size=3, shuffle=True, verbose=False)
    assert history.history["loss"] == pytest.approx([model.evaluate(x, -x)] * 2, rel=1e-12)


@attrs.define(frozen=True)
class _ProbingArrays(dg.Optimizer):
    """SGD over the weight arrays that asks the model for the loss and gradient at them."""

    name = "probing_arrays"
    needs_loss = True

    def init(self, params: Sequence[np.ndarray]) -> Any:
        return []

    def update(self, grads: Sequence[np.ndarray], state: Any, params: Sequence[np.ndarray],
               loss_and_grad: Any = None) -> tuple[list[np.ndarray], Any]:
        _, probed = loss_and_grad(params)
        state.append(all(np.array_equal(a, b) for a, b in zip(probed, grads)))
        return [w - 0.1 * g for w, g in zip(params, probed)], state


def test_an_optimizer_over_arrays_that_needs_the_loss_gets_it_as_arrays():
    """An optimizer working on weight arrays (not flat) gets a loss_and_grad taking and giving
    arrays shaped like the weights, the gradient the model computed."""
    model = dg.Model([{"type": "dense", "units": 2}], "mse", _ProbingArrays(), seed=0)
    model.fit(np.ones((3, 2)), np.zeros((3, 2)), epochs=2, verbose=False)
    assert model.optimizer_state == [True, True]


def test_a_model_of_more_than_256_weight_arrays_takes_its_weights_back():
    """set_weights takes back the 260 arrays get_weights gives for 130 dense layers."""
    model = dg.Model([{"type": "dense", "units": 1}] * 130, "mse", "sgd", seed=0,
                     input_shape=[1])
    model.set_weights(model.get_weights())
    assert len(model.get_weights()) == 260


@pytest.mark.parametrize("batch_size", [2.5, True])
def test_a_batch_size_that_is_no_int_is_refused(batch_size):
    """batch_size of a float or a bool is a ConfigError naming it, before training."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    with pytest.raises(dg.ConfigError, match="batch_size must be a positive int or None"):
        model.fit(np.ones((4, 1)), np.ones((4, 1)), batch_size=batch_size, verbose=False)
    assert not model.built


def test_fit_runs_one_epoch_by_default():
    """fit without epochs runs one epoch."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    history = model.fit(np.ones((2, 1)), np.ones((2, 1)), verbose=False)
    assert history.epoch == [0]
