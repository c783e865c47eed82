"""NumPy's reductions with NumPy's signatures, on Variables: sum, mean, prod, max, min, var, std,
the nan-functions, average, cumsum and norm."""

from __future__ import annotations

import builtins
import operator
from typing import Any

import numpy as np

from ._numpy_linalg import singular_value_norm
from ._numpy_options import axes as _axes
from ._numpy_options import refuse
from ._numpy_values import as_array
from .primitives import arithmetic, elementwise, linalg, reductions, shaping

# ---- reductions ---------------------------------------------------------------------------------


def sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,  # noqa: A001
        keepdims: bool = False, **unsupported: Any) -> Any:
    """numpy.sum: the sum over `axis` (all axes when None)."""
    refuse("sum", dtype=dtype, out=out, **unsupported)
    return reductions.reduce_sum(as_array(a), axis=_axes(axis), keepdims=keepdims)


def mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
         keepdims: bool = False, **unsupported: Any) -> Any:
    """numpy.mean: the mean over `axis` (all axes when None)."""
    refuse("mean", dtype=dtype, out=out, **unsupported)
    return reductions.reduce_mean(as_array(a), axis=_axes(axis), keepdims=keepdims)


def prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
         keepdims: bool = False, **unsupported: Any) -> Any:
    """numpy.prod: the product over `axis`; its slope in an entry is the product of the others,
    exact where entries are 0."""
    refuse("prod", dtype=dtype, out=out, **unsupported)
    return reductions.reduce_prod(as_array(a), axis=_axes(axis), keepdims=keepdims)


def max(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,  # noqa: A001
        **unsupported: Any) -> Any:
    """numpy.max: the largest entry over `axis`; tied entries share the tangent evenly."""
    refuse("max", out=out, **unsupported)
    return reductions.reduce_max(as_array(a), axis=_axes(axis), keepdims=keepdims)


def min(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,  # noqa: A001
        **unsupported: Any) -> Any:
    """numpy.min: the smallest entry over `axis`; tied entries share the tangent evenly."""
    refuse("min", out=out, **unsupported)
    return reductions.reduce_min(as_array(a), axis=_axes(axis), keepdims=keepdims)


def var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
        keepdims: bool = False, *, correction: Any = None, **unsupported: Any) -> Any:
    """numpy.var: mean((a - mean(a))^2) * n / (n - ddof); NaN slopes where n <= ddof."""
    refuse("var", dtype=dtype, out=out, **unsupported)
    return reductions.var(as_array(a), axis=_axes(axis),
                          ddof=ddof if correction is None else correction, keepdims=keepdims)


def std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
        keepdims: bool = False, *, correction: Any = None, **unsupported: Any) -> Any:
    """numpy.std: sqrt(var(a)), with slope 0 where it is 0 (all entries equal)."""
    refuse("std", dtype=dtype, out=out, **unsupported)
    return reductions.std(as_array(a), axis=_axes(axis),
                          ddof=ddof if correction is None else correction, keepdims=keepdims)


def nansum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
           keepdims: bool = False, **unsupported: Any) -> Any:
    """numpy.nansum: the sum over `axis` with NaN entries counted as 0 (slope 0 in them)."""
    refuse("nansum", dtype=dtype, out=out, **unsupported)
    a = as_array(a)
    kept = elementwise.where(~np.isnan(elementwise._primal(a)), a, 0.0)
    return reductions.reduce_sum(kept, axis=_axes(axis), keepdims=keepdims)


def nanmean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
            keepdims: bool = False, **unsupported: Any) -> Any:
    """numpy.nanmean: the mean over `axis` of the entries that are not NaN (NaN, with NumPy's
    warning, where all are)."""
    refuse("nanmean", dtype=dtype, out=out, **unsupported)
    a = as_array(a)
    numbers = ~np.isnan(elementwise._primal(a))
    count = np.sum(numbers, axis=_axes(axis), keepdims=keepdims)
    if np.any(count == 0):
        np.nanmean(elementwise._primal(a), axis=_axes(axis))  # NumPy's own warning
    total = reductions.reduce_sum(elementwise.where(numbers, a, 0.0), axis=_axes(axis),
                                  keepdims=keepdims)
    dtype = np.asarray(elementwise._primal(a)).dtype  # float32 stays float32, as in NumPy
    with np.errstate(invalid="ignore", divide="ignore"):
        return arithmetic.multiply(total, (1.0 / count).astype(dtype))


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *,
            keepdims: bool = False) -> Any:
    """numpy.average: sum(a * w) / sum(w) over `axis`, differentiable in a and in the weights
    (the mean when there are none); `returned` adds sum(w)."""
    a = as_array(a)
    axis = _axes(axis)
    if weights is None:
        result = reductions.reduce_mean(a, axis=axis, keepdims=keepdims)
        if not returned:
            return result
        # (builtins.max: this module's own `max` is NumPy's, for Variables)
        scale = np.size(elementwise._primal(a)) // builtins.max(
            np.size(elementwise._primal(result)), 1)
        return result, np.full(np.shape(result), float(scale))
    w = as_array(weights)
    if np.shape(w) != np.shape(a):
        if axis is None or isinstance(axis, tuple) or np.ndim(w) != 1:
            raise TypeError("numpy.average: weights of a shape other than a's must be 1-D and "
                            "go with one axis")
        shape = [1] * np.ndim(a)
        shape[int(axis)] = -1
        w = shaping.reshape(w, shape=tuple(shape))
    total = reductions.reduce_sum(w, axis=axis, keepdims=keepdims)
    result = arithmetic.divide(
        reductions.reduce_sum(arithmetic.multiply(a, w), axis=axis, keepdims=keepdims), total)
    if not returned:
        return result
    return result, shaping.broadcast_to(total, shape=np.shape(result))


def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """numpy.cumsum: running sums along `axis`, or over the flattened array when None."""
    refuse("cumsum", dtype=dtype, out=out)
    return reductions.cumsum(as_array(a), axis=None if axis is None else operator.index(axis))


def norm(x: Any, ord: Any = None, axis: Any = None,  # noqa: A002 - NumPy's keyword
         keepdims: bool = False) -> Any:
    """numpy.linalg.norm: vector norms of any order, matrix norms of order 1, inf, -1, -inf,
    'fro', 2, -2 and 'nuc' (the last three from the singular values, whose slopes need them
    distinct and, for -2 and 'nuc', nonzero).

    The 2-norm has slope 0 at the zero vector, as abs has at 0.
    """
    x = as_array(x)
    ndim = np.ndim(x)
    if axis is None:
        if ord is None:
            return linalg.norm(x, keepdims=keepdims)
        if ndim not in (1, 2):
            raise ValueError(f"numpy.linalg.norm with ord={ord!r} needs a 1-D or 2-D array, "
                             f"got {ndim}-D; give axis")
        axis = tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) == 1:
        return _vector_norm(x, ord, int(axes[0]), keepdims)
    if len(axes) == 2:
        row, col = (int(a) % ndim for a in axes)
        return _matrix_norm(x, ord, row, col, keepdims)
    raise ValueError(f"numpy.linalg.norm takes one axis (vector norms) or two (matrix norms), "
                     f"got axis={axis!r}")


def _vector_norm(x: Any, p: Any, axis: int, keepdims: bool) -> Any:
    if p is None or p == 2:
        return linalg.norm(x, axis=axis, keepdims=keepdims)
    if isinstance(p, str):
        raise ValueError(f"numpy.linalg.norm: ord={p!r} is a matrix norm; give two axes")
    size = elementwise.absolute(x)
    if p == np.inf:
        return reductions.reduce_max(size, axis=axis, keepdims=keepdims)
    if p == -np.inf:
        return reductions.reduce_min(size, axis=axis, keepdims=keepdims)
    if p == 0:  # how many entries are not 0: piecewise constant, with derivative 0
        return reductions.reduce_sum(elementwise.sign(size), axis=axis, keepdims=keepdims)
    if p == 1:
        return reductions.reduce_sum(size, axis=axis, keepdims=keepdims)
    return reductions.reduce_sum(size**p, axis=axis, keepdims=keepdims) ** (1.0 / p)


def _matrix_norm(x: Any, p: Any, row: int, col: int, keepdims: bool) -> Any:
    if p is None or p == "fro":
        return linalg.norm(x, axis=(row, col), keepdims=keepdims)
    if p in (1, -1, np.inf, -np.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum; negative: the smallest
        inner, outer = (row, col) if p in (1, -1) else (col, row)
        extreme = reductions.reduce_max if p > 0 else reductions.reduce_min
        sums = reductions.reduce_sum(elementwise.absolute(x), axis=inner, keepdims=True)
        result = extreme(sums, axis=outer, keepdims=True)
        return result if keepdims else shaping.squeeze(result, axis=(row, col))
    if p in (2, -2, "nuc"):
        return singular_value_norm(x, p, row, col, keepdims)
    raise ValueError(f"numpy.linalg.norm: invalid norm order {p!r} for matrices")
