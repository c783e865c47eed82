"""Central finite differences: the independent reference every derivative test compares to.

Nothing here uses dualgrad. Functions are called on plain float64 arrays only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

EPS = 1e-6
# Second differences divide by eps**2: a larger step keeps rounding error near 1e-8.
EPS2 = 1e-4
RTOL = 1e-6
ATOL = 1e-7


def _shifted(args: Sequence[Any], directions: Sequence[Any], scale: float) -> list[Any]:
    return [a if d is None else np.asarray(a, dtype=np.float64) + scale * d
            for a, d in zip(args, directions, strict=True)]


def directional(f: Callable[..., Any], args: Sequence[Any], directions: Sequence[Any],
                eps: float = EPS) -> np.ndarray:
    """(f(args + eps d) - f(args - eps d)) / 2 eps; ``directions[i] is None`` holds arg i fixed."""
    plus = np.asarray(f(*_shifted(args, directions, eps)), dtype=np.float64)
    minus = np.asarray(f(*_shifted(args, directions, -eps)), dtype=np.float64)
    return (plus - minus) / (2 * eps)


def second_directional(f: Callable[..., Any], args: Sequence[Any], d1: Sequence[Any],
                       d2: Sequence[Any], eps: float = EPS2) -> np.ndarray:
    """The mixed second derivative of f along d1 then d2, by a four-point central stencil."""
    def at(s1: float, s2: float) -> np.ndarray:
        shifted = [a if (u is None and v is None) else
                   np.asarray(a, dtype=np.float64)
                   + (0 if u is None else s1 * u) + (0 if v is None else s2 * v)
                   for a, u, v in zip(args, d1, d2, strict=True)]
        return np.asarray(f(*shifted), dtype=np.float64)

    return (at(eps, eps) - at(eps, -eps) - at(-eps, eps) + at(-eps, -eps)) / (4 * eps * eps)


def jacobian(f: Callable[..., Any], args: Sequence[Any], argnum: int,
             eps: float = EPS) -> np.ndarray:
    """The Jacobian of f with respect to ``args[argnum]``, shaped ``out.shape + arg.shape``."""
    x = np.asarray(args[argnum], dtype=np.float64)
    out = np.asarray(f(*args))
    jac = np.zeros(out.shape + x.shape)
    for k in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[k] = 1.0
        directions = [e if j == argnum else None for j in range(len(args))]
        jac[(..., *k)] = directional(f, args, directions, eps)
    return jac


def derivative(f: Callable[[float], Any], x: float, eps: float = EPS) -> float:
    """df/dx of a scalar function of one scalar."""
    return float((np.asarray(f(x + eps)) - np.asarray(f(x - eps))) / (2 * eps))


def model_gradient(model: Any, x: Any, y: Any, eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences of `model`'s loss on (x, y) in each of its weights, shaped like
    `get_weights`; the model's weights are left as they were."""
    weights = model.get_weights()
    grads = [np.zeros_like(w) for w in weights]
    try:
        for i, w in enumerate(weights):
            for idx in np.ndindex(w.shape):
                bumped = [v.copy() for v in weights]
                bumped[i][idx] += eps
                model.set_weights(bumped)
                up = model.evaluate(x, y)
                bumped[i][idx] -= 2 * eps
                model.set_weights(bumped)
                down = model.evaluate(x, y)
                grads[i][idx] = (up - down) / (2 * eps)
    finally:
        model.set_weights(weights)
    return grads
