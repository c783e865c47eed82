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

import numpy as np
import scipy.special as sc
from dualgrad import DualgradTypeError, Primitive

__all__ = ["digamma", "erf", "erfc", "expit", "gammaln", "log_expit", "polygamma"]

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

ALL = (erf, erfc, gammaln, digamma, polygamma, expit, log_expit)
