"""Elementwise functions: exponentials, logarithms, activations, rounding, and the piecewise ones.

Conventions at kinks: abs and relu have slope 0 at 0; maximum and minimum split the tangent
evenly between tied arguments; clip passes the tangent to x where lo <= x <= hi. sign, floor,
ceil and round are piecewise constant and have derivative 0 everywhere, at their jumps too (the
jumps themselves have no derivative; 0 is the one-sided value on either side).

Piecewise rules select the tangent (np.where) rather than multiply it by a 0/1 mask, and the
piecewise constant ones contribute no tangent at all (`Primitive.zero`): an infinite tangent on
the side not taken then never becomes NaN (0 * inf), as JAX's rules behave.

log2 and log10 compute their slope as t * (1/ln b / x), never t / (x ln b): x ln b overflows for
x near the largest float, and the slope would be 0.
"""

from __future__ import annotations

import math
from typing import Any

from .._core import Primitive, Specialisations, Variable
from . import _numpy as np  # NumPy bound at import: see _numpy

# every rule here treats the direction axis as a batch axis: it may run on compact tangents
_ON_ROWS = Specialisations(rows=True)

# ---- exponentials and logarithms ----------------------------------------------------------------

exp = Primitive("exp", np.exp, lambda t, out, x: t * out, elementwise=True, special=_ON_ROWS)

# expm1(x) = e^x - 1, so its slope e^x is out + 1
expm1 = Primitive("expm1", np.expm1, lambda t, out, x: t * (out + 1.0), elementwise=True,
                  special=_ON_ROWS)

log = Primitive("log", np.log, lambda t, out, x: t / x, elementwise=True, special=_ON_ROWS)

log1p = Primitive("log1p", np.log1p, lambda t, out, x: t / (1.0 + x), elementwise=True,
                  special=_ON_ROWS)

# log_b(x) = log(x) / log(b), slope 1 / (x log b) = (1 / log b) / x, which cannot overflow
log2 = Primitive("log2", np.log2, lambda t, out, x: t * ((1.0 / math.log(2.0)) / x),
                 elementwise=True, special=_ON_ROWS)

log10 = Primitive("log10", np.log10, lambda t, out, x: t * ((1.0 / math.log(10.0)) / x),
                  elementwise=True, special=_ON_ROWS)


# ---- powers and roots ----------------------------------------------------------------------------

sqrt = Primitive("sqrt", np.sqrt, lambda t, out, x: t * (0.5 / out), elementwise=True,
                 special=_ON_ROWS)

# d cbrt(x) = 1 / (3 x^(2/3)) = 1 / (3 out^2): infinite at 0, like sqrt's
cbrt = Primitive("cbrt", np.cbrt, lambda t, out, x: t / (3.0 * (out * out)), elementwise=True,
                 special=_ON_ROWS)

square = Primitive("square", np.square, lambda t, out, x: t * (2.0 * x), elementwise=True,
                   special=_ON_ROWS)

# d(1/x) = -1/x^2 = -out^2
reciprocal = Primitive("reciprocal", np.reciprocal, lambda t, out, x: t * -(out * out),
                       elementwise=True, special=_ON_ROWS)


# ---- activations ---------------------------------------------------------------------------------

def _exp_cap(dtype: Any) -> float:
    """The largest whole number whose exp is finite in `dtype` (709 for float64)."""
    return float(int(np.log(np.finfo(dtype).max)))


_EXP_CAPS = {np.dtype(t): _exp_cap(t) for t in ("float16", "float32", "float64")}


def _fresh(x: Any) -> Any:
    """A new float array shaped like `x`, for results computed in place."""
    return np.empty_like(x, dtype=x.dtype if x.dtype.kind == "f" else np.float64)


# Below this many numbers a NumPy call costs more than its arithmetic: the activations then
# take the form with the fewest calls. Above it, each temporary array costs about as much as
# the arithmetic on it, so they compute in place, in one array.
_FEW = 512


def _sigmoid(x: Any) -> Any:
    # 1 / (1 + e^-x), exact to rounding on both tails: for x < -36, 1 + e^-x rounds to e^-x, so
    # the result is e^x with full relative precision. e^-x is capped below overflow; the cap
    # changes only x below -cap, where sigmoid(x) = e^x, computed so.
    x = np.asarray(x)
    cap = _EXP_CAPS.get(x.dtype, 709.0)
    if x.size < _FEW:
        z = 1.0 / (1.0 + np.exp(np.minimum(-x, cap)))
    else:
        z = _fresh(x)
        np.negative(x, out=z)
        np.minimum(z, cap, out=z)
        np.exp(z, out=z)
        z += 1.0
        np.reciprocal(z, out=z)
    if x.size and not x.min() >= -cap:  # (NaN, which fails the test, gives NaN anyway)
        z = np.where(x < -cap, np.exp(np.minimum(x, 0.0)), z)
    return z


def _log1p_exp_minus_abs(x: Any) -> Any:
    """log(1 + e^-|x|): the part of softplus that never overflows."""
    if x.size < _FEW:
        return np.log1p(np.exp(-np.absolute(x)))
    z = _fresh(x)
    np.absolute(x, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    np.log1p(z, out=z)
    return z


def _softplus(x: Any) -> Any:
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow, full precision on both tails
    x = np.asarray(x)
    z = _log1p_exp_minus_abs(x)
    if x.size < _FEW:
        return z + np.maximum(x, 0.0)
    z += np.maximum(x, 0.0)
    return z


def _log_sigmoid(x: Any) -> Any:
    # log sigmoid(x) = -softplus(-x) = min(x, 0) - log(1 + e^-|x|)
    x = np.asarray(x)
    z = _log1p_exp_minus_abs(x)
    if x.size < _FEW:
        return np.minimum(x, 0.0) - z
    np.subtract(np.minimum(x, 0.0), z, out=z)
    return z


sigmoid = Primitive("sigmoid", _sigmoid,
                    lambda t, out, x: t * (out - out * out), elementwise=True, special=_ON_ROWS)

tanh = Primitive("tanh", np.tanh, lambda t, out, x: t * (1.0 - out * out), elementwise=True,
                 special=_ON_ROWS)

relu = Primitive("relu", lambda x: np.maximum(x, 0.0),
                 lambda t, out, x: np.where(_primal(x) > 0, t, 0.0), elementwise=True,
                 special=_ON_ROWS)

# softplus' slope sigmoid(x) = e^(x - softplus(x)) never overflows.
softplus = Primitive("softplus", _softplus,
                     lambda t, out, x: t * np.exp(x - out), elementwise=True, special=_ON_ROWS)

# log_sigmoid's slope sigmoid(-x) = e^(log_sigmoid(x) - x).
log_sigmoid = Primitive("log_sigmoid", _log_sigmoid,
                        lambda t, out, x: t * np.exp(out - x), elementwise=True, special=_ON_ROWS)


# ---- piecewise functions: their slopes look at values only --------------------------------------

def _primal(x: Any) -> Any:
    # Comparisons and signs are piecewise constant: their own derivative is zero, so they may
    # look at the innermost value and skip every level of tangents.
    return x.primal() if isinstance(x, Variable) else x


def _nonzero(x: Any) -> Any:
    """`x` with its zeros replaced by 1: a denominator for slopes whose numerator is 0 there."""
    return np.where(_primal(x) == 0, 1.0, x)


# ---- piecewise constant: derivative 0 everywhere, a symbolic zero --------------------------------

sign = Primitive("sign", np.sign, Primitive.zero, elementwise=True, special=_ON_ROWS)

floor = Primitive("floor", np.floor, Primitive.zero, elementwise=True, special=_ON_ROWS)

ceil = Primitive("ceil", np.ceil, Primitive.zero, elementwise=True, special=_ON_ROWS)

# rounding toward zero: floor for x >= 0, ceil below (fmod's rule divides with it)
trunc = Primitive("trunc", np.trunc, Primitive.zero, elementwise=True, special=_ON_ROWS)

# NumPy's round (round half to even) to `decimals` places; `around` is NumPy's other name for it,
# and keeps the builtin `round` unshadowed
around = Primitive("round", lambda x, decimals=0: np.round(x, decimals), Primitive.zero,
                   elementwise=True, special=_ON_ROWS)


# ---- piecewise linear ----------------------------------------------------------------------------

def _abs_tangent(t: Any, out: Any, x: Any) -> Any:
    x = _primal(x)
    return np.where(x > 0, t, np.where(x < 0, -t, 0.0))


absolute = Primitive("abs", np.absolute, _abs_tangent, elementwise=True, special=_ON_ROWS)


def _winner(t: Any, x: Any, y: Any) -> Any:
    """x's share of the tangent of max(x, y): t where x wins, t / 2 on ties, 0 where y wins."""
    x, y = _primal(x), _primal(y)
    return np.where(x > y, t, np.where(x == y, 0.5 * t, 0.0))


maximum = Primitive("maximum", np.maximum,
                    lambda t, out, x, y: _winner(t, x, y),
                    lambda t, out, x, y: _winner(t, y, x), elementwise=True, special=_ON_ROWS)

minimum = Primitive("minimum", np.minimum,
                    lambda t, out, x, y: _winner(t, y, x),
                    lambda t, out, x, y: _winner(t, x, y), elementwise=True, special=_ON_ROWS)


def _inside(x: Any, lo: Any, hi: Any) -> Any:
    x = _primal(x)
    return (x >= _primal(lo)) & (x <= _primal(hi))


clip = Primitive("clip", np.clip,
                 lambda t, out, x, lo, hi: np.where(_inside(x, lo, hi), t, 0.0),
                 lambda t, out, x, lo, hi: np.where(_primal(x) < _primal(lo), t, 0.0),
                 lambda t, out, x, lo, hi: np.where(_primal(x) > _primal(hi), t, 0.0),
                 elementwise=True, special=_ON_ROWS)

where = Primitive("where", np.where,
                  None,
                  lambda t, out, c, x, y: np.where(c, t, 0.0),
                  lambda t, out, c, x, y: np.where(c, 0.0, t), elementwise=True, special=_ON_ROWS)

# ---- more exponentials: base 2, and logs of sums of exponentials --------------------------------

# d 2^x = 2^x ln 2
exp2 = Primitive("exp2", np.exp2, lambda t, out, x: t * (out * math.log(2.0)), elementwise=True,
                 special=_ON_ROWS)

# logaddexp(x, y) = log(e^x + e^y): slopes e^(x - out) and e^(y - out), each at most 1
logaddexp = Primitive("logaddexp", np.logaddexp,
                      lambda t, out, x, y: t * np.exp(x - out),
                      lambda t, out, x, y: t * np.exp(y - out), elementwise=True,
                      special=_ON_ROWS)

# logaddexp2(x, y) = log2(2^x + 2^y): slopes 2^(x - out) and 2^(y - out)
logaddexp2 = Primitive("logaddexp2", np.logaddexp2,
                       lambda t, out, x, y: t * np.exp2(x - out),
                       lambda t, out, x, y: t * np.exp2(y - out), elementwise=True,
                       special=_ON_ROWS)


# ---- angles and sinc -----------------------------------------------------------------------------

deg2rad = Primitive("deg2rad", np.deg2rad, lambda t, out, x: t * (math.pi / 180.0),
                    elementwise=True, special=_ON_ROWS)

rad2deg = Primitive("rad2deg", np.rad2deg, lambda t, out, x: t * (180.0 / math.pi),
                    elementwise=True, special=_ON_ROWS)


def _sinc_slope(x: Any, out: Any) -> Any:
    # sinc(x) = sin(pi x) / (pi x), slope (cos(pi x) - sinc(x)) / x; near 0 that difference
    # cancels, so there the slope is its series -pi^2 x / 3 + pi^4 x^3 / 30 (error < 1e-17 for
    # |x| < 1e-3), which also gives the right second derivative, -pi^2 / 3, at 0
    near = np.absolute(_primal(x)) < 1e-3
    series = x * (-math.pi ** 2 / 3.0 + (math.pi ** 4 / 30.0) * (x * x))
    far = (np.cos(math.pi * x) - out) / np.where(near, 1.0, x)
    return np.where(near, series, far)


sinc = Primitive("sinc", np.sinc, lambda t, out, x: t * _sinc_slope(x, out), elementwise=True,
                 implements=np.sinc, special=_ON_ROWS)


# ---- remainders: x - q y for a whole number q that is piecewise constant -------------------------

# remainder(x, y) = x - floor(x / y) y (the sign of y; Python's %); slopes 1 and -floor(x / y)
remainder = Primitive("remainder", np.remainder,
                      lambda t, out, x, y: t,
                      lambda t, out, x, y: t * -np.floor(_primal(x) / _primal(y)),
                      elementwise=True, special=_ON_ROWS)

# fmod(x, y) = x - trunc(x / y) y (the sign of x; C's fmod); slopes 1 and -trunc(x / y)
fmod = Primitive("fmod", np.fmod,
                 lambda t, out, x, y: t,
                 lambda t, out, x, y: t * -np.trunc(_primal(x) / _primal(y)),
                 elementwise=True, special=_ON_ROWS)


# ---- maxima that skip NaN, and the step ----------------------------------------------------------

def _number_winner(t: Any, x: Any, y: Any) -> Any:
    """x's share of the tangent of fmax(x, y): as `_winner`, and all of it where y is NaN and x
    is not (fmax returns the number)."""
    x, y = _primal(x), _primal(y)
    wins = (x > y) | (np.isnan(y) & ~np.isnan(x))
    return np.where(wins, t, np.where(x == y, 0.5 * t, 0.0))


fmax = Primitive("fmax", np.fmax,
                 lambda t, out, x, y: _number_winner(t, x, y),
                 lambda t, out, x, y: _number_winner(t, y, x), elementwise=True,
                 special=_ON_ROWS)


def _number_loser(t: Any, x: Any, y: Any) -> Any:
    """x's share of the tangent of fmin(x, y)."""
    x, y = _primal(x), _primal(y)
    wins = (x < y) | (np.isnan(y) & ~np.isnan(x))
    return np.where(wins, t, np.where(x == y, 0.5 * t, 0.0))


fmin = Primitive("fmin", np.fmin,
                 lambda t, out, x, y: _number_loser(t, x, y),
                 lambda t, out, x, y: _number_loser(t, y, x), elementwise=True,
                 special=_ON_ROWS)

# heaviside(x, h0) is 0 for x < 0, 1 for x > 0 and h0 at x = 0: slope 0 in x (at 0 too, like
# sign), and 1 in h0 exactly where x is 0
heaviside = Primitive("heaviside", np.heaviside,
                      Primitive.zero,
                      lambda t, out, x, h0: np.where(_primal(x) == 0, t, 0.0),
                      elementwise=True, special=_ON_ROWS)

# ---- casts between float types -------------------------------------------------------------------

def _cast_tangent(t: Any, out: Any, x: Any, dtype: Any) -> Any:
    return astype(t, dtype=dtype)


# Variable.astype to a float dtype: the tangent is cast with the value
astype: Primitive = Primitive("astype", lambda x, dtype: np.asarray(x).astype(dtype),
                              _cast_tangent, special=_ON_ROWS)

PRIMITIVES = (
    exp, expm1, log, log1p, log2, log10, sqrt, cbrt, square, reciprocal,
    sigmoid, tanh, relu, softplus, log_sigmoid,
    sign, floor, ceil, trunc, around, absolute, maximum, minimum, clip, where,
    exp2, logaddexp, logaddexp2, deg2rad, rad2deg, sinc, remainder, fmod, fmax, fmin, heaviside,
    astype,
)
