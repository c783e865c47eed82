"""An optimizer's update, adapted to the model's weights: the gradient handed over in the form
the optimizer works in (one flat vector, or one array per weight array), its new weights taken
back as one flat float64 vector, and the loss-and-gradient callback line searches ask for."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._errors import ShapeError
from ._gradients import GradientEngine
from ._weights import Weights
from .optimizers import Optimizer

__all__ = ["LossAndGrad", "all_finite", "loss_and_grad", "updated"]

LossAndGrad = Callable[[Sequence[np.ndarray]], tuple[float, list[Any]]]

_NO_EXTRA: dict[str, Any] = {}  # keyword arguments for optimizers that need nothing more


def updated(opt: Optimizer, opt_state: Any, weights: Weights, grad: np.ndarray,
            evaluate: LossAndGrad | None = None) -> tuple[np.ndarray, Any]:
    """The optimizer's new weights, as one flat float64 vector, and its new state; `evaluate`
    is handed over as ``loss_and_grad`` to an optimizer that `needs_loss`."""
    flat = weights.flat
    extra = {"loss_and_grad": evaluate} if opt.needs_loss else _NO_EXTRA
    if opt.flat_weights:
        new, state = opt.update([grad], opt_state, [flat], **extra)
        new_flat = new[0]
        if type(new_flat) is not np.ndarray or new_flat.dtype != np.float64:
            new_flat = np.asarray(new_flat, dtype=np.float64)
        return new_flat, state
    new, state = opt.update(weights.arrays(grad), opt_state,
                            [w.copy() for w in weights.arrays()], **extra)
    return np.concatenate([np.ravel(w) for w in new]).astype(np.float64), state


def loss_and_grad(engine: GradientEngine, flat_form: bool, weights: Weights, x: np.ndarray,
                  y: np.ndarray, fixed: bool, mode: Any = None) -> LossAndGrad:
    """For optimizers that evaluate the loss elsewhere (line searches): the batch's loss and
    gradient at any weights, given and returned flat (`flat_form`) or as one array per weight
    array."""

    def evaluate(params: Sequence[np.ndarray]) -> tuple[float, list[Any]]:
        if flat_form:
            flat = np.asarray(params[0], dtype=np.float64)
        else:
            flat = np.concatenate([np.ravel(np.asarray(w, dtype=np.float64)) for w in params])
        if flat.shape != weights.flat.shape:
            raise ShapeError(f"loss_and_grad takes {weights.size} weights in all, got "
                             f"{flat.size}")
        value, grad = engine.value_and_gradient(weights, x, y, flat, fixed=fixed, mode=mode)
        if math.isfinite(value) and np.isnan(grad).any():  # see _zeros, as in Trainer.step
            value, grad = engine.value_and_gradient(weights, x, y, flat, repair=True,
                                                    mode=mode)
        return value, [grad] if flat_form else weights.arrays(grad)

    return evaluate


def all_finite(new_flat: np.ndarray) -> bool:
    """Whether an update gave finite weights: a finite sum of squares means finite weights,
    unless the sum itself overflowed (then look closer)."""
    return math.isfinite(new_flat.dot(new_flat)) or bool(np.isfinite(new_flat).all())
