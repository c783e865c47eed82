"""scipy.stats.norm's pdf, logpdf, cdf and logcdf, differentiable in x, loc and scale.

scipy.stats turns its arguments into arrays before dualgrad can see them, so
``scipy.stats.norm.logpdf(v)`` on a Variable is refused; these functions take the same
arguments and are written with primitives (``ndtr``, ``log_ndtr`` and NumPy's ufuncs).

Example:
    >>> import dualgrad as dg
    >>> from dualgrad_scipy import stats
    >>> float(dg.grad(stats.norm_logpdf)(1.0))  # d/dx (-x^2 / 2) = -x
    -1.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .special import log_ndtr, ndtr

__all__ = ["norm_cdf", "norm_logcdf", "norm_logpdf", "norm_pdf"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def norm_logpdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """log of the normal density: -z^2 / 2 - log(scale) - log(2 pi) / 2, z = (x - loc) / scale."""
    z = (x - loc) / scale
    return -0.5 * (z * z) - np.log(scale) - _LOG_SQRT_2PI


def norm_pdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """The normal density, exp(norm_logpdf)."""
    return np.exp(norm_logpdf(x, loc, scale))


def norm_cdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """The normal distribution function, ndtr((x - loc) / scale)."""
    return ndtr((x - loc) / scale)


def norm_logcdf(x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
    """log of the normal distribution function, accurate far in the lower tail."""
    return log_ndtr((x - loc) / scale)
