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

from ._numpy_options import axes as _axes
from ._numpy_options import refuse
from ._numpy_options import shape as _shape
from ._numpy_products import cross, inner, kron, outer, tensordot, trace, vdot
from ._numpy_reductions import (
    average,
    cumsum,
    mean,
    nanmean,
    nansum,
    norm,
    prod,
    std,
    var,
)
from ._numpy_reductions import max as max  # noqa: A004 - NumPy's names, re-exported
from ._numpy_reductions import min as min  # noqa: A004
from ._numpy_reductions import sum as sum  # noqa: A004
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
from .primitives import elementwise, linalg, shaping

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
