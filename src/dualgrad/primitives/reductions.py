"""Reductions over value axes. A value axis ``a`` is tangent axis ``a + 1``.

Conventions: max and min split the tangent evenly between the entries tied for the extreme (as
maximum and minimum do between their arguments). prod's slope in an entry is the product of the
other entries of its group, exact when entries are 0 (never out / x). std has slope 0 where it is
0 (all entries of a group equal), like abs at 0.
"""

from __future__ import annotations

import math
from typing import Any

from .._core import Primitive, Specialisations
from . import _numpy as np  # NumPy bound at import: see _numpy
from .elementwise import _nonzero, _primal

# every rule here treats the direction axis as a batch axis: it may run on compact tangents
_ON_ROWS = Specialisations(rows=True)


def tangent_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """The tangent axes that correspond to value axes `axis` (None: all of them)."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(int(a) % ndim + 1 for a in axis) if ndim else ()


def kept_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape of a reduction over `axis` with keepdims: the reduced axes become 1."""
    reduced = {a - 1 for a in tangent_axes(axis, len(shape))}
    return tuple(1 if a in reduced else n for a, n in enumerate(shape))


def _count(shape: tuple[int, ...], axis: Any) -> int:
    """How many elements each output of a reduction over `axis` sums."""
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    return math.prod(shape[int(a)] for a in axes)


def _add_up(t: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    # np.add.reduce skips np.sum's Python wrapper; a nested Variable goes through np.sum
    if type(t) is np.ndarray:
        return np.add.reduce(t, axis=axes, keepdims=bool(keepdims))  # type: ignore[call-overload]
    return np.sum(t, axis=axes, keepdims=keepdims)


# ---- sum and mean -------------------------------------------------------------------------------

def _sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.add.reduce(x, axis=axis, keepdims=bool(keepdims))  # type: ignore[call-overload]


def _mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.mean(x, axis=axis, keepdims=keepdims) if x.size == 0 else \
        np.add.reduce(x, axis=axis,  # type: ignore[call-overload]
                      keepdims=bool(keepdims)) / _count(x.shape, axis)


reduce_sum = Primitive(
    "sum", _sum,
    lambda t, out, x, axis=None, keepdims=False:
        _add_up(t, tangent_axes(axis, x.ndim), keepdims), special=_ON_ROWS)

reduce_mean = Primitive(
    "mean", _mean,
    lambda t, out, x, axis=None, keepdims=False:
        _add_up(t, tangent_axes(axis, x.ndim), keepdims) * (1.0 / max(_count(x.shape, axis), 1)),
        special=_ON_ROWS)


# ---- product ------------------------------------------------------------------------------------

def _others(x: Any, axis: Any) -> Any:
    """For each entry of x, the product of the other entries of its group (reduced together)."""
    reduced = tuple(a - 1 for a in tangent_axes(axis, x.ndim))
    order = (*(a for a in range(x.ndim) if a not in reduced), *reduced)
    moved = np.transpose(x, order)
    groups = moved.reshape((*moved.shape[:x.ndim - len(reduced)], -1))
    n = groups.shape[-1]
    if n == 0:
        return x * 0.0
    if isinstance(groups, np.ndarray):
        # exclusive cumulative products from the left and from the right: O(n), exact at zeros
        ones = np.ones((*groups.shape[:-1], 1), dtype=groups.dtype)
        before = np.cumprod(np.concatenate([ones, groups[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, groups[..., :0:-1]], axis=-1), axis=-1)
        others = before * after[..., ::-1]
    else:
        # nested differentiation: the same products written with prod itself, so that this rule
        # has a rule too; row i holds the group with its entry i replaced by 1 (O(n^2) memory)
        others = reduce_prod(np.where(np.eye(n, dtype=bool), 1.0, groups[..., None, :]), axis=-1)
    return np.transpose(others.reshape(moved.shape), tuple(np.argsort(order)))


reduce_prod: Primitive = Primitive(
    "prod", lambda x, axis=None, keepdims=False: np.multiply.reduce(x, axis=axis,
                                                                    keepdims=keepdims),
    lambda t, out, x, axis=None, keepdims=False:
        _add_up(t * _others(x, axis), tangent_axes(axis, x.ndim), keepdims), special=_ON_ROWS)


# ---- extremes -----------------------------------------------------------------------------------

def _extreme_tangent(t: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    # the tangent of the entries that reach the extreme, averaged over ties
    # (selected, then scaled: an infinite tangent of an entry that does not reach it stays out)
    x = _primal(x)
    hits = x == np.reshape(_primal(out), kept_shape(x.shape, axis))
    ties = np.add.reduce(hits, axis=axis, keepdims=True)
    return _add_up(np.where(hits, t, 0.0) * (1.0 / ties), tangent_axes(axis, x.ndim), keepdims)


reduce_max = Primitive(
    "max", lambda x, axis=None, keepdims=False: np.maximum.reduce(x, axis=axis,
                                                                  keepdims=keepdims),
    _extreme_tangent, special=_ON_ROWS)

reduce_min = Primitive(
    "min", lambda x, axis=None, keepdims=False: np.minimum.reduce(x, axis=axis,
                                                                  keepdims=keepdims),
    _extreme_tangent, special=_ON_ROWS)


# ---- spread: var(x) = mean((x - mean(x))^2) * n / (n - ddof), std = sqrt(var) --------------------

def _centred_sum(t: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """sum over the group of t * (x - mean(x)): half the tangent of the sum of squares."""
    centred = x - reduce_mean(x, axis=axis, keepdims=True)
    return _add_up(t * centred, tangent_axes(axis, x.ndim), keepdims)


def _dof(x: Any, axis: Any, ddof: Any) -> float:
    """n - ddof, the divisor of var; NaN when it is not positive, where var itself is undefined
    (NumPy's value is inf or NaN, with a warning)."""
    dof = _count(x.shape, axis) - ddof
    return float(dof) if dof > 0 else math.nan


var = Primitive(
    "var", lambda x, axis=None, ddof=0, keepdims=False: np.var(x, axis=axis, ddof=ddof,
                                                              keepdims=keepdims),
    lambda t, out, x, axis=None, ddof=0, keepdims=False:
        _centred_sum(t, x, axis, keepdims) * (2.0 / _dof(x, axis, ddof)), special=_ON_ROWS)

std = Primitive(
    "std", lambda x, axis=None, ddof=0, keepdims=False: np.std(x, axis=axis, ddof=ddof,
                                                              keepdims=keepdims),
    lambda t, out, x, axis=None, ddof=0, keepdims=False:
        _centred_sum(t, x, axis, keepdims) * (1.0 / _dof(x, axis, ddof)) / _nonzero(out),
        special=_ON_ROWS)


# ---- running sums -------------------------------------------------------------------------------

def _cumsum_tangent(t: Any, out: Any, x: Any, axis: Any = None) -> Any:
    if axis is None:  # NumPy's cumsum runs over the flattened array
        return np.cumsum(t.reshape((t.shape[0], -1)), axis=1)
    return np.cumsum(t, axis=tangent_axes(axis, x.ndim)[0])


cumsum = Primitive("cumsum", lambda x, axis=None: np.cumsum(x, axis=axis), _cumsum_tangent,
                   special=_ON_ROWS)

PRIMITIVES = (reduce_sum, reduce_mean, reduce_prod, reduce_max, reduce_min, var, std, cumsum)
