"""Gradient checking for dualgrad users and plugin authors.

`check_grads` compares dualgrad's directional derivatives with central finite differences, up to
any order. The test suite checks every registered primitive with it; a plugin's tests should do
the same for the primitives the plugin registers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._core import Variable, as_value
from ._errors import ConfigError, DualgradTypeError
from ._transforms import jvp

__all__ = ["check_grads", "numerical_jvp"]


def _defaults(dtype: np.dtype[Any]) -> tuple[float, float, float]:
    """eps, rtol, atol suited to a floating dtype."""
    if np.finfo(dtype).bits <= 32:
        return 1e-3, 2e-2, 2e-3
    return 1e-5, 1e-5, 1e-7


def numerical_jvp(f: Callable[..., Any], args: Sequence[Any], tangents: Sequence[Any],
                  eps: float) -> Any:
    """The central finite difference ``(f(x + eps t) - f(x - eps t)) / (2 eps)``."""
    plus = f(*[a + eps * t for a, t in zip(args, tangents)])
    minus = f(*[a - eps * t for a, t in zip(args, tangents)])
    if isinstance(plus, (tuple, list)):
        return tuple((np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in zip(plus, minus))
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


def _plain(x: Any) -> Any:
    return x.primal() if isinstance(x, Variable) else np.asarray(x)


def check_grads(f: Callable[..., Any], args: Sequence[Any], order: int = 1,
                eps: float | None = None, rtol: float | None = None,
                atol: float | None = None, directions: int = 2, seed: int = 0) -> None:
    """Check dualgrad's derivatives of `f` at `args` against central finite differences.

    Along `directions` random directions, the forward-mode derivative ``jvp(f, args, t)`` must
    match ``(f(args + eps t) - f(args - eps t)) / (2 eps)``. For ``order > 1`` the same check
    runs on the derivative itself (the function ``x -> jvp(f, x, t)[1]``), down to order 1, so
    higher derivatives are checked against finite differences of the ones below.

    Args:
        f: a function of arrays, returning an array or a tuple of arrays.
        args: the point, one array (or number) per positional argument of `f`.
        order: the highest order of derivative to check.
        eps: the finite-difference step; by default 1e-5 for float64, 1e-3 for float32.
        rtol, atol: the tolerances of the comparison; by default suited to the dtype.
        directions: how many random directions to try.
        seed: seeds the random directions, so a failure reproduces.

    Raises:
        AssertionError: naming the order, the direction, and both numbers on a mismatch.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> from dualgrad.testing import check_grads
        >>> check_grads(lambda x: dg.sigmoid(x) * x, (np.array([0.5, -2.0]),), order=2)
    """
    if not isinstance(order, (int, np.integer)) or isinstance(order, bool):
        raise DualgradTypeError(f"check_grads: order must be a positive int, got {order!r}")
    if order < 1:
        raise ConfigError(f"check_grads: order must be a positive int (1 checks first "
                          f"derivatives), got {order!r}")
    args = tuple(as_value(a, f"check_grads (argument {i})") for i, a in enumerate(args))
    dtype = np.result_type(*[a.dtype for a in args]) if args else np.dtype(np.float64)
    d_eps, d_rtol, d_atol = _defaults(dtype)
    eps = d_eps if eps is None else eps
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    rng = np.random.default_rng(seed)
    for k in range(directions):
        tangents = tuple(rng.normal(size=a.shape).astype(a.dtype) for a in args)
        _, exact = jvp(f, args, tangents)
        approx = numerical_jvp(f, args, tangents, eps)
        exact_parts = exact if isinstance(exact, tuple) else (exact,)
        approx_parts = approx if isinstance(approx, tuple) else (approx,)
        for j, (e, a) in enumerate(zip(exact_parts, approx_parts)):
            e, a = _plain(e), np.asarray(a)
            if not np.allclose(e, a, rtol=rtol, atol=atol, equal_nan=True):
                where = f" (output {j})" if len(exact_parts) > 1 else ""
                raise AssertionError(
                    f"order-{order} check failed along random direction {k}{where}: dualgrad "
                    f"gives {e!r}, central finite differences (eps={eps}) give {a!r}; largest "
                    f"difference {np.max(np.abs(e - a))!r}"
                )
        if order > 1:
            def derivative(*xs: Any, tangents: tuple[Any, ...] = tangents) -> Any:
                return jvp(f, xs, tangents)[1]

            check_grads(derivative, args, order - 1, eps, rtol, atol, 1, seed + k + 1)
