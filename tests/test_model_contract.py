"""Model's promises that mutation testing found no test holding: gradients repaired pass by
pass, the optimizers a Model accepts, what fit says of bad validation data, and when it draws a
progress bar."""

from __future__ import annotations

import io
import sys
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


def test_validation_data_of_other_shapes_names_the_training_shapes_per_sample():
    """validation_data whose samples differ in shape from the training data is a DataError
    naming the per-sample shapes it must have."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    x, y = np.ones((4, 2)), np.ones((4, 1))
    with pytest.raises(dg.DataError, match=r"per sample: x \(2,\), y \(1,\)"):
        model.fit(x, y, validation_data=(np.ones((3, 3)), np.ones((3, 1))), verbose=False)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("epochs", "drawn"), [(9, False), (10, True)])
def test_a_progress_bar_is_drawn_on_a_terminal_from_ten_epochs(monkeypatch, epochs, drawn):
    """A verbose fit draws a progress bar on a terminal when it runs 10 epochs or more; a
    shorter fit stays quiet."""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=0)
    model.fit(np.ones((2, 1)), np.ones((2, 1)), epochs=epochs, verbose=True)
    assert ("epochs" in terminal.getvalue()) == drawn
