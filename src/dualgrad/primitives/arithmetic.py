"""Arithmetic: the operators of `Variable` (``+ - * / **``, unary minus); ``@`` is in `linalg`."""

from __future__ import annotations

from typing import Any

from .._core import Primitive, Specialisations
from . import _numpy as np  # NumPy bound at import: see _numpy

# every rule here treats the direction axis as a batch axis: it may run on compact tangents
_ON_ROWS = Specialisations(rows=True)

# ---- sums and products --------------------------------------------------------------------------
#
# Beside each rule of add, subtract and multiply, the same rule written into an array `o` the
# engine hands it (`into`): a sum of contributions on different directions then fills one array
# of their union instead of allocating each first.

def _copy(t: Any, o: Any, x: Any, y: Any) -> None:
    np.copyto(o, t)


add = Primitive("add", np.add,
                lambda t, out, x, y: t,
                lambda t, out, x, y: t, elementwise=True,
                special=Specialisations(rows=True, into=(_copy, _copy)))

# a - b is not built as a + (-b): that would cost an extra pass over the value and the tangent.
subtract = Primitive("subtract", np.subtract,
                     lambda t, out, x, y: t,
                     lambda t, out, x, y: -t, elementwise=True,
                     special=Specialisations(rows=True, into=(
                         _copy, lambda t, o, x, y: np.negative(t, out=o))))

negative = Primitive("negative", np.negative, lambda t, out, x: -t, elementwise=True,
                     special=_ON_ROWS)

multiply = Primitive("multiply", np.multiply,
                     lambda t, out, x, y: t * y,
                     lambda t, out, x, y: x * t, elementwise=True,
                     special=Specialisations(rows=True, into=(
                         lambda t, o, x, y: np.multiply(t, y, out=o),
                         lambda t, o, x, y: np.multiply(x, t, out=o))))

# d(x/y)/dy = -x/y**2 = -out/y
divide = Primitive("divide", np.divide,
                   lambda t, out, x, y: t / y,
                   lambda t, out, x, y: t * (-out / y), elementwise=True, special=_ON_ROWS)


# ---- powers -------------------------------------------------------------------------------------

def _power_base(t: Any, out: Any, x: Any, y: Any) -> Any:
    # d(x**y)/dx = y * x**(y - 1), taken as 0 at x == y == 0 so that 0**0 is not NaN. Only
    # there: elsewhere at y == 0 the slope is 0 by the formula, and keeps its own slope in y
    # (1/x), which higher derivatives need.
    if isinstance(y, (int, float)):
        # x**0 is the constant 1: zeros, not t * 0, which is NaN where t is infinite
        return t * (y * x ** (y - 1)) if y != 0 else Primitive.zero(t, out, x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = y * x ** (y - 1)
    return t * np.where((y == 0) & (x == 0), 0.0, slope)


def _power_exponent(t: Any, out: Any, x: Any, y: Any) -> Any:
    # d(x**y)/dy = x**y * log(x); 0**y is flat in y for y > 0, so log(0) is read as 0.
    return t * (out * np.log(np.where(x == 0, 1.0, x)))


power = Primitive("power", np.power, _power_base, _power_exponent, elementwise=True,
                  special=_ON_ROWS)

PRIMITIVES = (add, subtract, negative, multiply, divide, power)
