"""scipy.special functions as dualgrad primitives, each beside its derivative rule.

Every rule is written with these primitives or with NumPy calls that dispatch to dualgrad, so it
also runs on Variables: derivatives of every order come from the same few lines. ``polygamma``
closes the gamma family: ``gammaln' = digamma``, ``digamma' = polygamma(n=1)`` and
``polygamma(n)' = polygamma(n + 1)``.

Example:
    >>> import dualgrad as dg
    >>> from dualgrad_scipy import gammaln
    >>> round(float(dg.derivative(gammaln, order=2)(1.0)), 6)  # trigamma(1) = pi**2 / 6
    1.644934
"""

from __future__ import annotations

import math
import operator
from typing import Any

import dualgrad as dg
import numpy as np
import scipy.special as sc
from dualgrad import DualgradTypeError, Primitive

__all__ = ["beta", "betaln", "digamma", "entr", "erf", "erfc", "expit", "gamma", "gammaln",
           "i0", "i0e", "i1", "i1e", "log_expit", "log_ndtr", "ndtr", "polygamma", "xlog1py",
           "xlogy"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# ---- error functions -----------------------------------------------------------------------------

# erf(x) = 2/sqrt(pi) int_0^x e^(-s^2) ds, so erf'(x) = 2/sqrt(pi) e^(-x^2) and erfc' = -erf'.
erf = Primitive("erf", sc.erf,
                lambda t, out, x: t * (_TWO_OVER_SQRT_PI * np.exp(-(x * x))), elementwise=True)

erfc = Primitive("erfc", sc.erfc,
                 lambda t, out, x: t * (-_TWO_OVER_SQRT_PI * np.exp(-(x * x))), elementwise=True)


# ---- the gamma family ----------------------------------------------------------------------------

def _order(n: Any) -> int:
    """`n` as the order of a polygamma function: a non-negative int."""
    try:
        k = operator.index(n)
    except TypeError:
        k = -1
    if isinstance(n, bool) or k < 0:
        raise DualgradTypeError(f"polygamma: n must be a non-negative int (0 for digamma, 1 for "
                                f"trigamma, ...), got {n!r}; call polygamma(x, n=1)")
    return k


def _polygamma(x: Any, n: int = 0) -> Any:
    return sc.polygamma(_order(n), x)


# polygamma(x, n) = d^(n+1)/dx^(n+1) log Gamma(x); its derivative is polygamma(x, n + 1).
polygamma: Primitive = Primitive(
    "polygamma", _polygamma,
    lambda t, out, x, n=0: t * polygamma(x, n=_order(n) + 1), elementwise=True)

digamma = Primitive("digamma", sc.digamma,
                    lambda t, out, x: t * polygamma(x, n=1), elementwise=True)

# gammaln(x) = log |Gamma(x)|, whose slope is digamma(x) wherever Gamma(x) is finite.
gammaln = Primitive("gammaln", sc.gammaln,
                    lambda t, out, x: t * digamma(x), elementwise=True)


# ---- the logistic function -----------------------------------------------------------------------

# expit' = expit(x) expit(-x): unlike expit (1 - expit), it keeps full relative precision in the
# tails, where 1 - expit(x) rounds to 0 (expit'(40) is 4e-18, not 0).
expit: Primitive = Primitive("expit", sc.expit,
                             lambda t, out, x: t * (out * expit(-x)), elementwise=True)

# log_expit(x) = -log(1 + e^-x); its slope expit(-x) never overflows.
log_expit = Primitive("log_expit", sc.log_expit,
                      lambda t, out, x: t * expit(-x), elementwise=True)

# ---- gamma and beta -----------------------------------------------------------------------------

# gamma' = gamma digamma
gamma = Primitive("gamma", sc.gamma, lambda t, out, x: t * (out * digamma(x)), elementwise=True)

# betaln(a, b) = gammaln(a) + gammaln(b) - gammaln(a + b): slopes digamma(a) - digamma(a + b)
betaln = Primitive("betaln", sc.betaln,
                   lambda t, out, a, b: t * (digamma(a) - digamma(a + b)),
                   lambda t, out, a, b: t * (digamma(b) - digamma(a + b)), elementwise=True)

beta = Primitive("beta", sc.beta,
                 lambda t, out, a, b: t * (out * (digamma(a) - digamma(a + b))),
                 lambda t, out, a, b: t * (out * (digamma(b) - digamma(a + b))),
                 elementwise=True)


# ---- x log y and entropy -------------------------------------------------------------------------

# xlogy(x, y) = x log y, 0 where x = 0: slopes log y and x / y
xlogy = Primitive("xlogy", sc.xlogy,
                  lambda t, out, x, y: t * np.log(y),
                  lambda t, out, x, y: t * (x / y), elementwise=True)

# xlog1py(x, y) = x log(1 + y): slopes log1p(y) and x / (1 + y)
xlog1py = Primitive("xlog1py", sc.xlog1py,
                    lambda t, out, x, y: t * np.log1p(y),
                    lambda t, out, x, y: t * (x / (1.0 + y)), elementwise=True)

# entr(x) = -x log x (0 at 0, -inf below): slope -(log x + 1), infinite at 0
entr = Primitive("entr", sc.entr, lambda t, out, x: t * -(np.log(x) + 1.0), elementwise=True)


# ---- modified Bessel functions of orders 0 and 1 -------------------------------------------------

def _over(y: Any, x: Any) -> Any:
    """y / x, with its limit 1/2 at x = 0 (y is i1 or i1e, which vanish there as x / 2)."""
    zero = (x.primal() if isinstance(x, dg.Variable) else np.asarray(x)) == 0
    return np.where(zero, 0.5, y / np.where(zero, 1.0, x))


# i0' = i1, i1' = i0 - i1 / x (1/2 at 0)
i0 = Primitive("i0", sc.i0, lambda t, out, x: t * i1(x), elementwise=True)

i1: Primitive = Primitive("i1", sc.i1, lambda t, out, x: t * (i0(x) - _over(out, x)),
                          elementwise=True)

# the scaled i0e = e^-|x| i0, i1e = e^-|x| i1: slopes i1e - sign(x) i0e, i0e - i1e / x - sign(x) i1e
i0e = Primitive("i0e", sc.i0e, lambda t, out, x: t * (i1e(x) - np.sign(x) * out),
                elementwise=True)

i1e: Primitive = Primitive(
    "i1e", sc.i1e, lambda t, out, x: t * (i0e(x) - _over(out, x) - np.sign(x) * out),
    elementwise=True)


# ---- the normal distribution's cdf ---------------------------------------------------------------

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# ndtr(x) = P(Z <= x): slope the density e^(-x^2/2) / sqrt(2 pi)
ndtr = Primitive("ndtr", sc.ndtr,
                 lambda t, out, x: t * (_INV_SQRT_2PI * np.exp(-0.5 * (x * x))), elementwise=True)

# log_ndtr' = density / ndtr = e^(-x^2/2 - log_ndtr(x)) / sqrt(2 pi): no underflow in the tail
log_ndtr = Primitive("log_ndtr", sc.log_ndtr,
                     lambda t, out, x: t * (_INV_SQRT_2PI * np.exp(-0.5 * (x * x) - out)),
                     elementwise=True)

ALL = (erf, erfc, gammaln, digamma, polygamma, expit, log_expit, gamma, beta, betaln, xlogy,
       xlog1py, entr, i0, i1, i0e, i1e, ndtr, log_ndtr)
