"""Arithmetic: the operators of `Variable` (``+ - * / ** @`` and unary minus)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import Primitive

# ---- sums and products --------------------------------------------------------------------------

add = Primitive("add", np.add,
                lambda t, out, x, y: t,
                lambda t, out, x, y: t, elementwise=True)

# a - b is not built as a + (-b): that would cost an extra pass over the value and the tangent.
subtract = Primitive("subtract", np.subtract,
                     lambda t, out, x, y: t,
                     lambda t, out, x, y: -t, elementwise=True)

negative = Primitive("negative", np.negative, lambda t, out, x: -t, elementwise=True)

multiply = Primitive("multiply", np.multiply,
                     lambda t, out, x, y: t * y,
                     lambda t, out, x, y: x * t, elementwise=True)

# d(x/y)/dy = -x/y**2 = -out/y
divide = Primitive("divide", np.divide,
                   lambda t, out, x, y: t / y,
                   lambda t, out, x, y: t * (-out / y), elementwise=True)


# ---- powers -------------------------------------------------------------------------------------

def _power_base(t: Any, out: Any, x: Any, y: Any) -> Any:
    # d(x**y)/dx = y * x**(y - 1), taken as 0 where y == 0 so that 0**0 is not NaN.
    if isinstance(y, (int, float)):
        return t * (y * x ** (y - 1)) if y != 0 else t * 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = y * x ** (y - 1)
    return t * np.where(y == 0, 0.0, slope)


def _power_exponent(t: Any, out: Any, x: Any, y: Any) -> Any:
    # d(x**y)/dy = x**y * log(x); 0**y is flat in y for y > 0, so log(0) is read as 0.
    return t * (out * np.log(np.where(x == 0, 1.0, x)))


power = Primitive("power", np.power, _power_base, _power_exponent, elementwise=True)


# ---- matrix product -----------------------------------------------------------------------------

def _leading_first(a: Any) -> Any:
    """Move the last axis of `a` to the front."""
    return a.transpose((a.ndim - 1, *range(a.ndim - 1)))


def _matmul_left(t: Any, out: Any, x: Any, y: Any) -> Any:
    if x.ndim == 1:
        if y.ndim <= 2:
            return t @ y  # (T, k) @ (k, m) -> (T, m); (T, k) @ (k,) -> (T,)
        # (T, 1.., 1, k) @ (B.., k, m) -> (T, B.., 1, m): drop the row axis
        t = t.reshape((t.shape[0],) + (1,) * (y.ndim - 1) + (t.shape[1],))
        r = t @ y
        return r.reshape(r.shape[:-2] + r.shape[-1:])
    return _align_batch(t, x, y) @ y


def _matmul_right(t: Any, out: Any, x: Any, y: Any) -> Any:
    if y.ndim == 1:
        return _leading_first(x @ t.T)  # x (.., n, k) @ (k, T) -> (.., n, T) -> (T, .., n)
    return x @ _align_batch(t, y, x)


def _align_batch(t: Any, a: Any, other: Any) -> Any:
    # the direction axis must sit in front of every batch axis of the product
    missing = max(other.ndim - a.ndim, 0)
    if missing == 0:
        return t
    return t.reshape(t.shape[:1] + (1,) * missing + t.shape[1:])


matmul = Primitive("matmul", np.matmul, _matmul_left, _matmul_right)
