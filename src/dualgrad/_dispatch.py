"""NumPy's dispatch protocols: how ``np.exp(v)`` or ``np.sum(v, axis=0)`` reach dualgrad.

`Variable.__array_ufunc__` and `Variable.__array_function__` land here. Every NumPy function
with a rule is listed explicitly; any other raises `NotImplementedError` naming it, so a tangent
is never dropped or computed wrongly in silence.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .primitives import elementwise, linalg, reductions, shaping

# ---- reductions ---------------------------------------------------------------------------------


def _sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
         keepdims: bool = False, **unsupported: Any) -> Any:
    _refuse("sum", dtype=dtype, out=out, **unsupported)
    return reductions.reduce_sum(a, axis=axis, keepdims=keepdims)


def _mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
          keepdims: bool = False, **unsupported: Any) -> Any:
    _refuse("mean", dtype=dtype, out=out, **unsupported)
    return reductions.reduce_mean(a, axis=axis, keepdims=keepdims)


def _prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
          keepdims: bool = False, **unsupported: Any) -> Any:
    _refuse("prod", dtype=dtype, out=out, **unsupported)
    return reductions.reduce_prod(a, axis=axis, keepdims=keepdims)


def _extreme(name: str, primitive: Any) -> Callable[..., Any]:
    def reduce(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
               **unsupported: Any) -> Any:
        _refuse(name, out=out, **unsupported)
        return primitive(a, axis=axis, keepdims=keepdims)
    return reduce


def _spread(name: str, primitive: Any) -> Callable[..., Any]:
    def spread(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
               keepdims: bool = False, *, correction: Any = None, **unsupported: Any) -> Any:
        _refuse(name, dtype=dtype, out=out, **unsupported)
        return primitive(a, axis=axis, ddof=ddof if correction is None else correction,
                         keepdims=keepdims)
    return spread


def _cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    _refuse("cumsum", dtype=dtype, out=out)
    return reductions.cumsum(a, axis=axis)


def _norm(x: Any, ord: Any = None, axis: Any = None,  # noqa: A002 - NumPy's keyword
          keepdims: bool = False) -> Any:
    """np.linalg.norm: vector norms of any order, matrix norms of order 1, inf, -1, -inf, 'fro'."""
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
        return _vector_norm(x, ord, axes[0], keepdims)
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
    raise NotImplementedError(
        f"numpy.linalg.norm with ord={p!r} on matrices needs singular values, which dualgrad "
        "has no rule for; use ord='fro', 1, -1, inf or -inf, or a vector norm along one axis")


# ---- shapes -------------------------------------------------------------------------------------


def _reshape(a: Any, shape: Any = None, *args: Any, **kwargs: Any) -> Any:
    if shape is None:
        shape = kwargs.pop("newshape")
    _refuse("reshape", *args, **kwargs)
    return shaping.reshape(a, shape=(shape,) if isinstance(shape, int) else tuple(shape))


def _ravel(a: Any, order: str = "C") -> Any:
    if order != "C":
        raise NotImplementedError(f"numpy.ravel on a dualgrad Variable flattens in C order "
                                  f"only, got order={order!r}")
    return shaping.reshape(a, shape=(-1,))


def _transpose(a: Any, axes: Any = None) -> Any:
    return shaping.transpose(a, axes=None if axes is None else tuple(axes))


def _axes(axis: Any) -> Any:
    """An axis argument as the primitives take it: an int, a tuple of ints, or None."""
    if axis is None or isinstance(axis, (int, np.integer)):
        return axis
    return tuple(operator.index(a) for a in axis)


def _squeeze(a: Any, axis: Any = None) -> Any:
    return shaping.squeeze(a, axis=_axes(axis))


def _expand_dims(a: Any, axis: Any) -> Any:
    return shaping.expand_dims(a, axis=_axes(axis))


def _concatenate(arrays: Sequence[Any], axis: int | None = 0, out: Any = None,
                 **unsupported: Any) -> Any:
    _refuse("concatenate", out=out, **unsupported)
    return shaping.concatenate(*arrays, axis=axis)


def _stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, **unsupported: Any) -> Any:
    _refuse("stack", out=out, **unsupported)
    return shaping.stack(*arrays, axis=axis)


def _broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    return shaping.broadcast_to(array, shape=(shape,) if isinstance(shape, int) else tuple(shape))


# ---- elementwise functions that are not ufuncs --------------------------------------------------


def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None or y is None:
        raise NotImplementedError("dualgrad differentiates np.where(condition, x, y) only; "
                                  "the one-argument form returns indices")
    return elementwise.where(elementwise._primal(condition), x, y)


def _clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None,
          **kwargs: Any) -> Any:
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    _refuse("clip", out=out, **kwargs)
    return elementwise.clip(a, -np.inf if a_min is None else a_min,
                            np.inf if a_max is None else a_max)


def _round(a: Any, decimals: int = 0, out: Any = None) -> Any:
    _refuse("round", out=out)
    return elementwise.around(a, decimals=operator.index(decimals))


# ---- products -----------------------------------------------------------------------------------


def _dot(a: Any, b: Any, out: Any = None) -> Any:
    _refuse("dot", out=out)
    return linalg.dot(a, b)


def _einsum(*operands: Any, out: Any = None, optimize: Any = False, **unsupported: Any) -> Any:
    _refuse("einsum", out=out, **unsupported)
    if not operands:
        raise TypeError("numpy.einsum needs a subscripts string and operands")
    return linalg.einsum(operands[0], *operands[1:], optimize=optimize)


def _comparison(op: np.ufunc) -> Callable[..., Any]:
    # comparisons are piecewise constant: they look at values and return plain booleans
    def compare(x: Any, y: Any) -> Any:
        return op(elementwise._primal(x), elementwise._primal(y))
    return compare


@functools.cache
def ufuncs() -> dict[np.ufunc, Callable[..., Any]]:
    """The ufuncs with no primitive of their own: comparisons and unary plus. Every other
    ufunc reaches the primitive that `implements` it."""
    table: dict[np.ufunc, Callable[..., Any]] = {np.positive: lambda x: x}
    for op in (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal):
        table[op] = _comparison(op)
    return table


@functools.cache
def functions() -> dict[Callable[..., Any], Callable[..., Any]]:
    """NumPy function -> dualgrad function, for ``__array_function__``."""
    return {
        np.sum: _sum,
        np.mean: _mean,
        np.prod: _prod,
        np.max: _extreme("max", reductions.reduce_max),
        np.amax: _extreme("amax", reductions.reduce_max),
        np.min: _extreme("min", reductions.reduce_min),
        np.amin: _extreme("amin", reductions.reduce_min),
        np.var: _spread("var", reductions.var),
        np.std: _spread("std", reductions.std),
        np.cumsum: _cumsum,
        np.linalg.norm: _norm,
        np.reshape: _reshape,
        np.ravel: _ravel,
        np.transpose: _transpose,
        np.squeeze: _squeeze,
        np.expand_dims: _expand_dims,
        np.concatenate: _concatenate,
        np.stack: _stack,
        np.broadcast_to: _broadcast_to,
        np.where: _where,
        np.clip: _clip,
        np.round: _round,
        np.around: _round,
        np.dot: _dot,
        np.einsum: _einsum,
        np.shape: lambda a: a.shape,
        np.ndim: lambda a: a.ndim,
        np.size: lambda a, axis=None: a.size if axis is None else a.shape[axis],
    }


def _refuse(name: str, *args: Any, **kwargs: Any) -> None:
    """Raise for NumPy options that dualgrad does not differentiate through."""
    given = [f"argument {i + 2}" for i, _ in enumerate(args)]
    given += [k for k, v in kwargs.items() if v is not None]
    if given:
        raise NotImplementedError(
            f"numpy.{name} on a dualgrad Variable does not support {', '.join(given)}; "
            "call it without them"
        )


def _implementation(fn: Any) -> Any:
    # The registry imports the built-in plugin, which imports the primitives, which import the
    # module that imports this one: it can only be reached once everything is loaded.
    from ._registry import registry

    return registry().implementation(fn)


def _name(fn: Any) -> str:
    module = getattr(fn, "__module__", None) or "numpy"
    return f"{module.split('._')[0]}.{getattr(fn, '__name__', repr(fn))}"


def ufunc(fn: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Route ``fn(*inputs)`` to dualgrad, or say why it cannot be."""
    rule = ufuncs().get(fn) or _implementation(fn)
    if method != "__call__" or rule is None:
        what = _name(fn) + ("" if method == "__call__" else f".{method}")
        raise NotImplementedError(
            f"dualgrad has no derivative rule for {what}; use a dualgrad primitive, or add "
            "one with dualgrad.Primitive"
        )
    if kwargs:
        _refuse(fn.__name__, **kwargs)
    return rule(*inputs)


def function(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Route a NumPy function called on a Variable to dualgrad, or say why it cannot be."""
    rule = functions().get(fn) or _implementation(fn)
    if rule is None:
        raise NotImplementedError(
            f"dualgrad has no derivative rule for {_name(fn)}; write the computation with "
            "functions dualgrad differentiates, or add a rule with dualgrad.Primitive"
        )
    return rule(*args, **kwargs)
