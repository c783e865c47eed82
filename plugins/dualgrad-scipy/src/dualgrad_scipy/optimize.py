"""`LBFGS`: scipy.optimize.minimize (L-BFGS-B) as a dualgrad optimizer, on forward-mode gradients.

L-BFGS is a full-batch method with its own line search: one `update` runs the whole
minimisation on the batch it is given, evaluating the loss and its gradient wherever the line
search asks through the ``loss_and_grad`` function that `dualgrad.Model.fit` passes. Train with
``batch_size=None`` and ``epochs=1``; a further epoch restarts from the minimum found.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
import scipy.optimize
from dualgrad import ConfigError, DualgradTypeError, Optimizer

__all__ = ["LBFGS", "LBFGSState"]

LossAndGrad = Callable[[Sequence[np.ndarray]], tuple[float, Sequence[np.ndarray]]]


def _positive_int(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"'lbfgs': {attribute.name} must be a positive int, got {value!r}")


def _positive_float(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"'lbfgs': {attribute.name} must be a positive finite number, got "
                          f"{value!r}")


@attrs.frozen
class LBFGSState:
    """What the runs so far did: iterations and loss evaluations in all, and how the last ended.

    Attributes:
        nit: L-BFGS iterations over every `update`.
        nfev: loss-and-gradient evaluations over every `update`.
        loss: the loss at the weights the last `update` returned (NaN before the first).
        success: whether the last run met its tolerance (False before the first).
        message: scipy's message for the last run ("" before the first).
    """

    nit: int = 0
    nfev: int = 0
    loss: float = math.nan
    success: bool = False
    message: str = ""


@attrs.define(frozen=True)
class LBFGS(Optimizer):
    """Limited-memory BFGS by ``scipy.optimize.minimize(method="L-BFGS-B")``, without bounds.

    Each `update` minimises the loss of its batch from the current weights: the inverse Hessian
    is approximated from the last `maxcor` steps and gradients, and a line search satisfying
    the Wolfe conditions picks each step. It stops when ``max |g_i| <= tol``, when the relative
    decrease of the loss falls below `tol`, or after `maxiter` iterations.

    Args:
        maxiter: the most L-BFGS iterations one `update` runs.
        tol: the tolerance on the gradient's largest component and on the relative decrease of
            the loss (scipy's ``gtol`` and ``ftol``).
        maxcor: how many past steps approximate the inverse Hessian.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> x = np.linspace(-1, 1, 20); y = 3 * x - 2
        >>> model = dg.Model([{"type": "dense", "units": 1}], "mse",
        ...                  {"type": "lbfgs", "maxiter": 20}, seed=0)
        >>> _ = model.fit(x, y, epochs=1, verbose=False)
        >>> weights = np.concatenate([np.ravel(w) for w in model.get_weights()])
        >>> [round(float(w), 6) for w in weights]
        [3.0, -2.0]
    """

    name = "lbfgs"
    flat_weights = True
    needs_loss = True

    maxiter: int = attrs.field(default=100, validator=_positive_int)
    tol: float = attrs.field(default=1e-10, validator=_positive_float)
    maxcor: int = attrs.field(default=10, validator=_positive_int)

    def init(self, params: Sequence[np.ndarray]) -> LBFGSState:
        return LBFGSState()

    def update(self, grads: Sequence[np.ndarray], state: LBFGSState,
               params: Sequence[np.ndarray], loss_and_grad: LossAndGrad | None = None,
               ) -> tuple[list[np.ndarray], LBFGSState]:
        """Minimise from `params`; `grads` is not used, since the line search evaluates anew.

        Args:
            grads: the gradient at `params` (ignored).
            state: the `LBFGSState` so far.
            params: the starting weights, one or more arrays.
            loss_and_grad: ``fn(params) -> (loss, grads)``, with params and grads in the form
                of `params`. `dualgrad.Model.fit` passes it.

        Returns:
            The weights at the minimum found, in the form of `params`, and the new state.
        """
        if loss_and_grad is None:
            raise DualgradTypeError(
                "the 'lbfgs' optimizer evaluates the loss during its line search, so update() "
                "needs loss_and_grad=fn with fn(params) -> (loss, grads); got none. "
                "dualgrad.Model.fit passes it; when calling update yourself, pass it too")
        shapes = [np.shape(w) for w in params]
        cuts = np.cumsum([math.prod(s) for s in shapes])[:-1]

        def unflatten(w: np.ndarray) -> list[np.ndarray]:
            return [part.reshape(s) for part, s in zip(np.split(w, cuts), shapes, strict=True)]

        def fun(w: np.ndarray) -> tuple[float, np.ndarray]:
            value, g = loss_and_grad(unflatten(w))
            return float(value), np.concatenate([np.ravel(np.asarray(gi, dtype=np.float64))
                                                 for gi in g])

        x0 = np.concatenate([np.ravel(np.asarray(w, dtype=np.float64)) for w in params])
        result = scipy.optimize.minimize(
            fun, x0, jac=True, method="L-BFGS-B",
            options={"maxiter": self.maxiter, "ftol": self.tol, "gtol": self.tol,
                     "maxcor": self.maxcor})
        new_state = LBFGSState(state.nit + int(result.nit), state.nfev + int(result.nfev),
                               float(result.fun), bool(result.success), str(result.message))
        return unflatten(np.asarray(result.x, dtype=np.float64)), new_state
