"""NumPy's dispatch protocols: how ``np.exp(v)`` or ``np.sum(v, axis=0)`` reach dualgrad.

`Variable.__array_ufunc__` and `Variable.__array_function__` land here. Every NumPy function
with a rule is listed explicitly; any other raises `NotImplementedError` naming it, so a tangent
is never dropped or computed wrongly in silence.
"""

from __future__ import annotations

import functools

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .primitives import elementwise, reductions, shaping

def _sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
         keepdims: bool = False, **unsupported: Any) -> Any:
    _refuse("sum", dtype=dtype, out=out, **unsupported)
    return reductions.reduce_sum(a, axis=axis, keepdims=keepdims)


def _mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
          keepdims: bool = False, **unsupported: Any) -> Any:
    _refuse("mean", dtype=dtype, out=out, **unsupported)
    return reductions.reduce_mean(a, axis=axis, keepdims=keepdims)


def _reshape(a: Any, shape: Any = None, *args: Any, **kwargs: Any) -> Any:
    if shape is None:
        shape = kwargs.pop("newshape")
    _refuse("reshape", *args, **kwargs)
    return shaping.reshape(a, shape=(shape,) if isinstance(shape, int) else tuple(shape))


def _transpose(a: Any, axes: Any = None) -> Any:
    return shaping.transpose(a, axes=None if axes is None else tuple(axes))


def _concatenate(arrays: Sequence[Any], axis: int | None = 0, out: Any = None,
                 **unsupported: Any) -> Any:
    _refuse("concatenate", out=out, **unsupported)
    return shaping.concatenate(*arrays, axis=axis)


def _stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, **unsupported: Any) -> Any:
    _refuse("stack", out=out, **unsupported)
    return shaping.stack(*arrays, axis=axis)


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
    return elementwise.clip(a, -np.inf if a_min is None else a_min, np.inf if a_max is None else a_max)


def _broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    return shaping.broadcast_to(array, shape=(shape,) if isinstance(shape, int) else tuple(shape))


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
        np.reshape: _reshape,
        np.transpose: _transpose,
        np.concatenate: _concatenate,
        np.stack: _stack,
        np.where: _where,
        np.clip: _clip,
        np.broadcast_to: _broadcast_to,
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
