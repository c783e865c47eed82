"""Elementwise functions: exponentials, logarithms, activations, and the piecewise ones.

Conventions at kinks: abs and relu have slope 0 at 0; maximum and minimum split the tangent
evenly between tied arguments; clip passes the tangent to x where lo <= x <= hi.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import Primitive, Variable

# ---- exponentials and logarithms ----------------------------------------------------------------

exp = Primitive("exp", np.exp, lambda t, out, x: t * out, elementwise=True)

log = Primitive("log", np.log, lambda t, out, x: t / x, elementwise=True)

sqrt = Primitive("sqrt", np.sqrt, lambda t, out, x: t * (0.5 / out), elementwise=True)

square = Primitive("square", np.square, lambda t, out, x: t * (2.0 * x), elementwise=True)


# ---- activations ---------------------------------------------------------------------------------

def _sigmoid(x: Any) -> Any:
    # 1 / (1 + e^-x) written as exp(-log(1 + e^-x)): no overflow for any x, and full relative
    # precision in both tails (the plain form rounds sigmoid(-40) to 0 when it is 4e-18).
    return np.exp(-np.logaddexp(0.0, -x))


sigmoid = Primitive("sigmoid", _sigmoid,
                    lambda t, out, x: t * (out - out * out), elementwise=True)

tanh = Primitive("tanh", np.tanh, lambda t, out, x: t * (1.0 - out * out), elementwise=True)

relu = Primitive("relu", lambda x: np.maximum(x, 0.0),
                 lambda t, out, x: t * (x > 0), elementwise=True)

# softplus(x) = log(1 + e^x); its slope sigmoid(x) = e^(x - softplus(x)) never overflows.
softplus = Primitive("softplus", lambda x: np.logaddexp(0.0, x),
                     lambda t, out, x: t * np.exp(x - out), elementwise=True)

# log_sigmoid(x) = -softplus(-x); its slope sigmoid(-x) = e^(log_sigmoid(x) - x).
log_sigmoid = Primitive("log_sigmoid", lambda x: -np.logaddexp(0.0, -x),
                        lambda t, out, x: t * np.exp(out - x), elementwise=True)


# ---- piecewise ------------------------------------------------------------------------------------

def _primal(x: Any) -> Any:
    # Comparisons and signs are piecewise constant: their own derivative is zero, so they may
    # look at the innermost value and skip every level of tangents.
    return x.primal() if isinstance(x, Variable) else x


sign = Primitive("sign", np.sign, lambda t, out, x: t * 0.0, elementwise=True)

absolute = Primitive("abs", np.absolute, lambda t, out, x: t * np.sign(_primal(x)),
                     elementwise=True)


def _share(x: Any, y: Any) -> Any:
    """1 where x wins, 1/2 on ties, 0 where y wins."""
    x, y = _primal(x), _primal(y)
    return (x > y) + 0.5 * (x == y)


maximum = Primitive("maximum", np.maximum,
                    lambda t, out, x, y: t * _share(x, y),
                    lambda t, out, x, y: t * _share(y, x), elementwise=True)

minimum = Primitive("minimum", np.minimum,
                    lambda t, out, x, y: t * _share(y, x),
                    lambda t, out, x, y: t * _share(x, y), elementwise=True)


def _inside(x: Any, lo: Any, hi: Any) -> Any:
    x = _primal(x)
    return (x >= _primal(lo)) & (x <= _primal(hi))


clip = Primitive("clip", np.clip,
                 lambda t, out, x, lo, hi: t * _inside(x, lo, hi),
                 lambda t, out, x, lo, hi: t * (_primal(x) < _primal(lo)),
                 lambda t, out, x, lo, hi: t * (_primal(x) > _primal(hi)), elementwise=True)

where = Primitive("where", np.where,
                  None,
                  lambda t, out, c, x, y: np.where(c, t, 0.0),
                  lambda t, out, c, x, y: np.where(c, 0.0, t), elementwise=True)
