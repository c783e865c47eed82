"""Trigonometric and hyperbolic functions, their inverses, and the polar pair hypot / arctan2.

tanh lives with the activations in `elementwise`. Domains: arcsin and arccos take [-1, 1] and have
infinite slope at its ends; arctanh takes (-1, 1); arccosh takes [1, inf) with infinite slope at
1. Convention at the origin, where hypot has a kink and arctan2 a jump: both have slope 0 in
both arguments there (hypot(x, 0) = |x| then has abs's slope 0 at 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import Primitive
from .elementwise import _nonzero

# ---- trigonometric ------------------------------------------------------------------------------

sin = Primitive("sin", np.sin, lambda t, out, x: t * np.cos(x), elementwise=True)

cos = Primitive("cos", np.cos, lambda t, out, x: t * -np.sin(x), elementwise=True)

# tan' = 1 / cos^2 = 1 + tan^2
tan = Primitive("tan", np.tan, lambda t, out, x: t * (1.0 + out * out), elementwise=True)

arcsin = Primitive("arcsin", np.arcsin, lambda t, out, x: t / np.sqrt(1.0 - x * x),
                   elementwise=True)

arccos = Primitive("arccos", np.arccos, lambda t, out, x: t / -np.sqrt(1.0 - x * x),
                   elementwise=True)

arctan = Primitive("arctan", np.arctan, lambda t, out, x: t / (1.0 + x * x), elementwise=True)


# ---- hyperbolic ---------------------------------------------------------------------------------

sinh = Primitive("sinh", np.sinh, lambda t, out, x: t * np.cosh(x), elementwise=True)

cosh = Primitive("cosh", np.cosh, lambda t, out, x: t * np.sinh(x), elementwise=True)

arcsinh = Primitive("arcsinh", np.arcsinh, lambda t, out, x: t / np.sqrt(x * x + 1.0),
                    elementwise=True)

# 1 / sqrt(x^2 - 1) written as (x - 1)(x + 1), which keeps its precision near x = 1
arccosh = Primitive("arccosh", np.arccosh,
                    lambda t, out, x: t / np.sqrt((x - 1.0) * (x + 1.0)), elementwise=True)

arctanh = Primitive("arctanh", np.arctanh, lambda t, out, x: t / (1.0 - x * x),
                    elementwise=True)


# ---- polar coordinates: radius and angle of the point (x, y) ------------------------------------

# hypot(x, y) = sqrt(x^2 + y^2): slopes x / r and y / r
hypot = Primitive("hypot", np.hypot,
                  lambda t, out, x, y: t * (x / _nonzero(out)),
                  lambda t, out, x, y: t * (y / _nonzero(out)), elementwise=True)


def _radius_squared(y: Any, x: Any) -> Any:
    return _nonzero(x * x + y * y)


# arctan2(y, x), the angle of (x, y): slopes x / r^2 in y and -y / r^2 in x
arctan2 = Primitive("arctan2", np.arctan2,
                    lambda t, out, y, x: t * (x / _radius_squared(y, x)),
                    lambda t, out, y, x: t * (-y / _radius_squared(y, x)), elementwise=True)
