"""NumPy's functions with NumPy's signatures, differentiable: ``dualgrad.concatenate([a, b])``.

These are what ``dualgrad.<name>`` exports, and what ``np.<name>(v)`` runs on a Variable. Each
takes NumPy's arguments and calls the primitives of `dualgrad.primitives`, whose own signatures
suit rules rather than users (``primitives.concatenate(a, b, axis=0)``). An option dualgrad does
not differentiate through (``out=``, ``dtype=``) raises `NotImplementedError` naming it.

`sum`, `max` and `min` are defined here but left out of ``__all__``, so that a star import does
not shadow Python's builtins; reach them as ``dualgrad.sum`` or ``numpy_api.sum``.

Example:
    >>> import numpy as np, dualgrad as dg
    >>> x = dg.Variable(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    >>> print(dg.concatenate([x, 2 * x]).grad)
    [1. 0. 2. 0.]
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._numpy_linalg import singular_value_norm
from ._numpy_products import cross, inner, kron, outer, tensordot, trace, vdot
from ._numpy_shapes import (
    append,
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    column_stack,
    diag,
    diagonal,
    dstack,
    flip,
    fliplr,
    flipud,
    hstack,
    moveaxis,
    pad,
    repeat,
    roll,
    sort,
    split,
    swapaxes,
    take,
    take_along_axis,
    tile,
    tril,
    triu,
    vstack,
)
from ._numpy_values import as_array
from .primitives import arithmetic, elementwise, linalg, reductions, shaping

__all__ = [
    "append",
    "around",
    "array_split",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "average",
    "broadcast_to",
    "clip",
    "column_stack",
    "concatenate",
    "conj",
    "cross",
    "cumsum",
    "diag",
    "diagonal",
    "dot",
    "dstack",
    "einsum",
    "expand_dims",
    "flip",
    "fliplr",
    "flipud",
    "hstack",
    "imag",
    "inner",
    "kron",
    "mean",
    "moveaxis",
    "nanmean",
    "nansum",
    "norm",
    "outer",
    "pad",
    "prod",
    "ravel",
    "real",
    "repeat",
    "reshape",
    "roll",
    "sort",
    "split",
    "squeeze",
    "stack",
    "std",
    "swapaxes",
    "take",
    "take_along_axis",
    "tensordot",
    "tile",
    "trace",
    "transpose",
    "tril",
    "triu",
    "var",
    "vdot",
    "vstack",
    "where",
]


def refuse(name: str, *args: Any, **kwargs: Any) -> None:
    """Raise `NotImplementedError` for NumPy options that dualgrad does not differentiate
    through: extra positional arguments, and keyword arguments given a value."""
    given = [f"argument {i + 2}" for i, _ in enumerate(args)]
    given += [k for k, v in kwargs.items() if v is not None]
    if given:
        raise NotImplementedError(
            f"numpy.{name} on a dualgrad Variable does not support {', '.join(given)}; "
            "call it without them"
        )


def _axes(axis: Any) -> Any:
    """An axis argument as the primitives take it: an int, a tuple of ints, or None."""
    if axis is None or isinstance(axis, (int, np.integer)):
        return axis
    return tuple(operator.index(a) for a in axis)


def _shape(shape: Any) -> tuple[int, ...]:
    return (operator.index(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)


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
    with np.errstate(invalid="ignore", divide="ignore"):
        return arithmetic.multiply(total, 1.0 / count)


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
        scale = np.size(elementwise._primal(a)) // max(np.size(elementwise._primal(result)), 1)
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


# ---- shapes -------------------------------------------------------------------------------------


def reshape(a: Any, shape: Any = None, *args: Any, **kwargs: Any) -> Any:
    """numpy.reshape: the same entries in C order, in a new shape (one entry may be -1)."""
    if shape is None:
        if "newshape" not in kwargs:
            raise TypeError("reshape() needs a shape: reshape(a, shape)")
        shape = kwargs.pop("newshape")
    refuse("reshape", *args, **kwargs)
    return shaping.reshape(a, shape=_shape(shape))


def ravel(a: Any, order: str = "C") -> Any:
    """numpy.ravel: the entries flattened in C order."""
    if order != "C":
        raise NotImplementedError(f"numpy.ravel on a dualgrad Variable flattens in C order "
                                  f"only, got order={order!r}")
    return shaping.reshape(a, shape=(-1,))


def transpose(a: Any, axes: Any = None) -> Any:
    """numpy.transpose: the axes reversed, or permuted as `axes` says."""
    if axes is not None:
        axes = _axes(axes)
        axes = (axes,) if isinstance(axes, (int, np.integer)) else axes
    return shaping.transpose(a, axes=axes)


def squeeze(a: Any, axis: Any = None) -> Any:
    """numpy.squeeze: drop the axes of length 1 (those of `axis` only, when given)."""
    return shaping.squeeze(a, axis=_axes(axis))


def expand_dims(a: Any, axis: Any) -> Any:
    """numpy.expand_dims: insert axes of length 1 at the positions `axis`."""
    return shaping.expand_dims(a, axis=_axes(axis))


def concatenate(arrays: Sequence[Any], axis: int | None = 0, out: Any = None,
                **unsupported: Any) -> Any:
    """numpy.concatenate: join a sequence of arrays along an existing axis (flattened when
    `axis` is None)."""
    refuse("concatenate", out=out, **unsupported)
    return shaping.concatenate(*arrays, axis=_join_axis("concatenate", axis))


def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, **unsupported: Any) -> Any:
    """numpy.stack: join a sequence of arrays of one shape along a new axis."""
    refuse("stack", out=out, **unsupported)
    return shaping.stack(*arrays, axis=_join_axis("stack", axis))


def _join_axis(name: str, axis: Any) -> Any:
    # dualgrad.primitives.concatenate(a, b) takes the arrays one by one; here, as in NumPy,
    # the second argument is the axis, and an array there means the call was written that way
    if axis is None and name == "concatenate":
        return None
    try:
        return operator.index(axis)
    except TypeError:
        raise TypeError(f"{name} takes a sequence of arrays and an int axis, {name}([a, b], "
                        f"axis=0); got axis={_brief(axis)}") from None


def _brief(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return f"a {type(x).__name__} of shape {shape}" if shape is not None else repr(x)


def broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    """numpy.broadcast_to: the array repeated along new or length-1 axes to `shape`."""
    return shaping.broadcast_to(array, shape=_shape(shape))


# ---- elementwise functions that are not ufuncs --------------------------------------------------


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """numpy.where(condition, x, y): x where condition holds, else y. The condition is taken by
    value (a Variable's tangent there is ignored: it is piecewise constant)."""
    if x is None and y is None:  # the indices of the true entries: read from values only
        return np.nonzero(elementwise._primal(condition))
    if x is None or y is None:
        raise ValueError("numpy.where takes either one argument or three")
    return elementwise.where(elementwise._primal(condition), x, y)


def clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None,
         **kwargs: Any) -> Any:
    """numpy.clip: `a` limited to [a_min, a_max] (either may be None); the tangent passes to
    `a` on the closed interval and to the bound that is reached elsewhere."""
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    refuse("clip", out=out, **kwargs)
    return elementwise.clip(a, -np.inf if a_min is None else a_min,
                            np.inf if a_max is None else a_max)


def around(a: Any, decimals: int = 0, out: Any = None) -> Any:
    """numpy.round (numpy.around): to `decimals` places, half to even; derivative 0."""
    refuse("round", out=out)
    return elementwise.around(a, decimals=operator.index(decimals))


def real(val: Any) -> Any:
    """numpy.real: a real array is its own real part."""
    return val


def imag(val: Any) -> Any:
    """numpy.imag: a real array's imaginary part is 0, a constant."""
    return np.zeros(np.shape(elementwise._primal(val)))


def conj(x: Any) -> Any:
    """numpy.conj (numpy.conjugate): a real array is its own conjugate."""
    return x


# ---- products -----------------------------------------------------------------------------------


def dot(a: Any, b: Any, out: Any = None) -> Any:
    """numpy.dot: inner products, matrix products, and N-D with M-D over a's last axis."""
    refuse("dot", out=out)
    return linalg.dot(a, b)


def einsum(*operands: Any, out: Any = None, optimize: Any = False, **unsupported: Any) -> Any:
    """numpy.einsum with a subscripts string, differentiable in every operand.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> a = dg.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]), np.eye(2))
        >>> print(dg.einsum("ii", a).grad)  # d trace(a) along the identity
        2.0
    """
    refuse("einsum", out=out, **unsupported)
    if not operands:
        raise TypeError("numpy.einsum needs a subscripts string and operands")
    return linalg.einsum(operands[0], *operands[1:], optimize=optimize)
