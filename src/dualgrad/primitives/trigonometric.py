"""Trigonometric and hyperbolic functions, their inverses, and the polar pair hypot / arctan2.

tanh lives with the activations in `elementwise`. Domains: arcsin and arccos take [-1, 1] and have
infinite slope at its ends; arctanh takes (-1, 1); arccosh takes [1, inf) with infinite slope at
1. Convention at the origin, where hypot has a kink and arctan2 a jump: both have slope 0 in
both arguments there (hypot(x, 0) = |x| then has abs's slope 0 at 0).
"""

from __future__ import annotations

from typing import Any

from .._core import Primitive, Specialisations
from . import _numpy as np  # NumPy bound at import: see _numpy
from .elementwise import _nonzero

# every rule here treats the direction axis as a batch axis: it may run on compact tangents
_ON_ROWS = Specialisations(rows=True)

# ---- trigonometric ------------------------------------------------------------------------------

sin = Primitive("sin", np.sin, lambda t, out, x: t * np.cos(x), elementwise=True, special=_ON_ROWS)

cos = Primitive("cos", np.cos, lambda t, out, x: t * -np.sin(x), elementwise=True, special=_ON_ROWS)

# tan' = 1 / cos^2 = 1 + tan^2
tan = Primitive("tan", np.tan, lambda t, out, x: t * (1.0 + out * out), elementwise=True,
                special=_ON_ROWS)

arcsin = Primitive("arcsin", np.arcsin, lambda t, out, x: t / np.sqrt(1.0 - x * x),
                   elementwise=True, special=_ON_ROWS)

arccos = Primitive("arccos", np.arccos, lambda t, out, x: t / -np.sqrt(1.0 - x * x),
                   elementwise=True, special=_ON_ROWS)

# 1 / (1 + x^2) as (1 / hypot(x, 1))^2: x * x would overflow for |x| > 1e154, and the slope
# (1e-310 there, a subnormal) become 0
arctan = Primitive("arctan", np.arctan,
                   lambda t, out, x: t * np.square(1.0 / np.hypot(x, 1.0)), elementwise=True,
                   special=_ON_ROWS)


# ---- hyperbolic ---------------------------------------------------------------------------------

sinh = Primitive("sinh", np.sinh, lambda t, out, x: t * np.cosh(x), elementwise=True,
                 special=_ON_ROWS)

cosh = Primitive("cosh", np.cosh, lambda t, out, x: t * np.sinh(x), elementwise=True,
                 special=_ON_ROWS)

# 1 / sqrt(x^2 + 1) = 1 / hypot(x, 1), which does not overflow where x * x would
arcsinh = Primitive("arcsinh", np.arcsinh, lambda t, out, x: t / np.hypot(x, 1.0),
                    elementwise=True, special=_ON_ROWS)

# 1 / sqrt(x^2 - 1) as 1 / (sqrt(x - 1) sqrt(x + 1)): precise near x = 1, and no overflow of
# x^2 for large x
arccosh = Primitive("arccosh", np.arccosh,
                    lambda t, out, x: t / (np.sqrt(x - 1.0) * np.sqrt(x + 1.0)),
                    elementwise=True, special=_ON_ROWS)

arctanh = Primitive("arctanh", np.arctanh, lambda t, out, x: t / (1.0 - x * x),
                    elementwise=True, special=_ON_ROWS)


# ---- polar coordinates: radius and angle of the point (x, y) ------------------------------------

# hypot(x, y) = sqrt(x^2 + y^2): slopes x / r and y / r
hypot = Primitive("hypot", np.hypot,
                  lambda t, out, x, y: t * (x / _nonzero(out)),
                  lambda t, out, x, y: t * (y / _nonzero(out)), elementwise=True, special=_ON_ROWS)


def _over_radius_squared(a: Any, y: Any, x: Any) -> Any:
    """a / (x^2 + y^2), as a / r / r: x^2 + y^2 would overflow for coordinates past 1e154."""
    r = _nonzero(np.hypot(y, x))
    return a / r / r


# arctan2(y, x), the angle of (x, y): slopes x / r^2 in y and -y / r^2 in x
arctan2 = Primitive("arctan2", np.arctan2,
                    lambda t, out, y, x: t * _over_radius_squared(x, y, x),
                    lambda t, out, y, x: t * _over_radius_squared(-y, y, x), elementwise=True,
                    special=_ON_ROWS)

PRIMITIVES = (sin, cos, tan, arcsin, arccos, arctan, sinh, cosh, arcsinh, arccosh, arctanh, hypot,
              arctan2)
