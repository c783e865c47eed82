"""logsumexp, softmax and log_softmax: stable for any finite input, along any axes.

Each shifts its input by the largest entry of the group before exponentiating, so nothing
overflows; the shift cancels in the value and never enters a rule. The axis defaults to -1 for
softmax and log_softmax (one distribution per row, as in JAX), to every axis for logsumexp (as in
SciPy).
"""

from __future__ import annotations

from typing import Any

from .._core import Primitive, Specialisations
from . import _numpy as np  # NumPy bound at import: see _numpy
from .reductions import _add_up, kept_shape, tangent_axes

# every rule here treats the direction axis as a batch axis: it may run on compact tangents
_ON_ROWS = Specialisations(rows=True)


def _top(x: Any, axis: Any) -> Any:
    """The largest entry of each group, with keepdims; 0 where that is infinite."""
    top = np.maximum.reduce(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(top), top, 0.0)


def _logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    top = _top(x, axis)
    e = np.asarray(np.subtract(x, top))  # (NumPy gives a scalar for 0-d arrays)
    np.exp(e, out=e)  # in place: a temporary as large as x costs as much as the arithmetic
    s = np.asarray(np.add.reduce(e, axis=axis, keepdims=True))
    with np.errstate(divide="ignore"):  # a group of -inf sums to 0: its logsumexp is -inf
        np.log(s, out=s)
    s += top
    return s if keepdims else np.squeeze(s, axis=axis)


# logsumexp(x) = log(sum(e^x)); its slope in x is softmax(x) = e^(x - logsumexp(x))
logsumexp = Primitive(
    "logsumexp", _logsumexp,
    lambda t, out, x, axis=None, keepdims=False: _add_up(
        t * np.exp(x - np.reshape(out, kept_shape(x.shape, axis))),
        tangent_axes(axis, x.ndim), keepdims), special=_ON_ROWS)


def _softmax(x: Any, axis: Any = -1) -> Any:
    e = np.asarray(np.subtract(x, _top(x, axis)))
    np.exp(e, out=e)
    e /= np.add.reduce(e, axis=axis, keepdims=True)
    return e


# softmax(x) = e^x / sum(e^x); d softmax = softmax * (t - sum(softmax * t))
softmax = Primitive(
    "softmax", _softmax,
    lambda t, out, x, axis=-1: out * (t - _add_up(out * t, tangent_axes(axis, x.ndim), True)),
    special=_ON_ROWS)


def _log_softmax(x: Any, axis: Any = -1) -> Any:
    return x - _logsumexp(x, axis=axis, keepdims=True)


# log_softmax(x) = x - logsumexp(x); d log_softmax = t - sum(softmax * t)
log_softmax = Primitive(
    "log_softmax", _log_softmax,
    lambda t, out, x, axis=-1: t - _add_up(np.exp(out) * t, tangent_axes(axis, x.ndim), True),
    special=_ON_ROWS)

PRIMITIVES = (logsumexp, softmax, log_softmax)
