"""The dual number: `Variable`, a value and its tangents, and the differentiation tags.

A `Variable` carries a value and its tangents: the directional derivatives of that value along
T directions, stacked on a leading axis, so ``tangent.shape == (T, *value.shape)``. A constant
carries ``tangent=None``, a symbolic zero for which no rule is ever run. Inside the engine a
tangent may be stored compactly (see `_rows`); the public `tangent` is always dense.

Every differentiation owns a *tag*. A Variable of tag k may hold, as its value or tangent,
Variables of smaller tags: that is how derivatives of derivatives work without the perturbations
of different levels mixing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import DualgradTypeError, ShapeError
from ._operators import Operators, ValueShaped
from ._rows import Rows
from ._seams import numpy_dispatch as _numpy
from ._seams import ops

__all__ = ["PLAIN_SCALARS", "Variable", "as_real", "as_value", "new_tag", "type_name"]

_next_tag = itertools.count(1).__next__

# Python and NumPy scalars that need no inspection before they reach a NumPy function: NumPy
# computes in floating point on each of them. Booleans and small integers are not among them,
# since NumPy computes on those in float16 (np.exp(True) is a float16).
PLAIN_SCALARS = frozenset({float, int, np.float64, np.float32, np.float16, np.int64,
                            np.int32})


def new_tag() -> int:
    """A fresh differentiation tag, larger than every tag handed out before."""
    return _next_tag()


def type_name(x: object) -> str:
    if isinstance(x, np.ndarray):
        return f"ndarray of dtype {x.dtype}"
    return type(x).__name__


def as_value(x: Any, what: str) -> np.ndarray:
    """`x` as a float ndarray, or a `DualgradTypeError` saying why it cannot be one.

    Booleans and integers become float64. Subclasses of ndarray (a memmap, a matrix) become
    plain ndarrays; a masked array is refused, since its mask would be lost.
    """
    arr = as_real(x, what)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def as_real(x: Any, what: str) -> np.ndarray:
    """`x` as a plain ndarray of booleans, integers or floats."""
    if type(x) is np.ndarray:
        arr = x
    elif isinstance(x, np.ma.MaskedArray):
        raise DualgradTypeError(
            f"{what} got a masked array, whose mask dualgrad would lose; pass "
            "np.ma.filled(x, fill) or x.compressed() instead"
        )
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise DualgradTypeError(
                f"{what} got a {type_name(x)}, which is not a number or an array of numbers "
                f"({exc}); pass numbers, NumPy arrays or dualgrad Variables"
            ) from exc
    kind = arr.dtype.kind
    if kind in "biuf":
        return arr
    if kind == "c":
        raise DualgradTypeError(
            f"{what} got complex values ({arr.dtype}); dualgrad differentiates real functions "
            "only: pass the real and imaginary parts as separate real arrays"
        )
    raise DualgradTypeError(
        f"{what} got a {type_name(x)}, which is not a number or an array of numbers; "
        "pass numbers, NumPy arrays or dualgrad Variables"
    )


class Variable(ValueShaped, Operators):
    """A dual number: a value and its tangents along one or more directions.

    Args:
        value: a number or array (integers become float64), or a Variable of an outer
            differentiation.
        tangent: ``None`` for a constant; an array of the value's own shape for one direction
            (the blog's ``Variable(4, 1)``: x = 4 with dx = 1); or an array of shape
            ``(T, *value.shape)`` for T directions. The number 0, the blog's default, also
            means a constant.
        tag: the differentiation this tangent belongs to; leave it alone unless you are
            writing a transformation.

    Example:
        >>> from dualgrad import Variable
        >>> print((Variable(3) * Variable(4, 1)).grad)
        3.0
    """

    # `_tangent` holds None, the dense tangent (an array, or a Variable of an outer level), or
    # a `Rows`; `tangent` is the dense view of it, the only one code outside this module sees
    __slots__ = ("_tangent", "tag", "value")

    value: Any
    _tangent: Any
    tag: int

    def __init__(self, value: Any, tangent: Any = None, tag: int = 0) -> None:
        if not isinstance(value, Variable):
            value = as_value(value, "Variable")
        if tangent is not None:
            if isinstance(tangent, (int, float)) and not isinstance(tangent, bool) \
                    and tangent == 0:
                tangent = None
            else:
                tangent = _as_tangent(tangent, value)
        self.value = value
        self._tangent = tangent
        self.tag = tag

    @classmethod
    def _make(cls, value: Any, tangent: Any, tag: int) -> Variable:
        """Build a Variable from parts already known to be well formed (the hot path); the
        tangent may be a `Rows`."""
        v = object.__new__(cls)
        v.value = value
        v._tangent = tangent
        v.tag = tag
        return v

    @property
    def tangent(self) -> Any:
        """The tangents, shape ``(T, *value.shape)``, or None for a constant."""
        t = self._tangent
        if type(t) is Rows:
            if t.rows is None:
                return t.data
            t = self._tangent = t.dense()
        return t

    @tangent.setter
    def tangent(self, tangent: Any) -> None:
        self._tangent = tangent

    # ---- the blog's view and array-like attributes ------------------------------------------

    @property
    def grad(self) -> Any:
        """The tangent as the blog reads it: of the value's shape when there is one direction.

        With several directions this is the whole ``(T, *value.shape)`` tangent; for a
        constant it is zero.
        """
        t = self.tangent
        if t is None:
            return np.zeros_like(self.value) if isinstance(self.value, np.ndarray) else 0.0
        return t[0] if t.shape[0] == 1 else t

    @property
    def num_directions(self) -> int:
        """T, the number of directions the tangent carries (0 for a constant)."""
        t = self._tangent
        if type(t) is Rows:
            return t.total
        return 0 if t is None else int(t.shape[0])

    @property
    def T(self) -> Variable:  # noqa: N802 - NumPy's name
        return ops.transpose(self)  # type: ignore[no-any-return]

    def __len__(self) -> int:
        if self.value.ndim == 0:
            raise DualgradTypeError("len() of a 0-d Variable: it holds one number, not a "
                                    "sequence; use .shape or .size")
        return len(self.value)

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        if self._tangent is None:
            return f"Variable({self.value!r})"
        return f"Variable({self.value!r}, tangent={self.tangent!r}, tag={self.tag})"

    def primal(self) -> Any:
        """The innermost plain value, with the tangents of every level dropped."""
        v = self.value
        while isinstance(v, Variable):
            v = v.value
        return v

    __hash__ = None  # type: ignore[assignment]  # equality is elementwise, as for arrays

    def __bool__(self) -> bool:
        return bool(self.primal())

    def _untangled(self, call: str) -> Any:
        """The innermost value, or a `DualgradTypeError` if a tangent would be dropped."""
        v: Any = self
        while isinstance(v, Variable):
            if v._tangent is not None:
                raise DualgradTypeError(
                    f"{call} of a Variable that carries a tangent would drop it (math.sin(v), "
                    "np.float64(v) and np.int64(v) call float() or int()); use dualgrad's or "
                    "NumPy's functions (dg.sin(v), np.sin(v)), or take v.value or v.primal() "
                    "explicitly"
                )
            v = v.value
        return v

    def __float__(self) -> float:
        # float() is how math.sin(v) or np.float64(v) see a Variable: a carried tangent
        # would vanish, and the derivative silently become 0
        return float(self._untangled("float()"))

    def __int__(self) -> int:
        return int(self._untangled("int()"))

    def astype(self, dtype: Any, **unsupported: Any) -> Any:
        """The Variable cast to a float `dtype`, its tangent too; an integer or boolean dtype
        is refused while a tangent is carried (as float() is), and gives a plain array
        otherwise."""
        if unsupported:
            raise NotImplementedError(f"Variable.astype does not support "
                                      f"{', '.join(unsupported)}; call it with a dtype only")
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            return ops.astype(self, dtype=dtype)
        if dtype.kind == "c":
            raise DualgradTypeError(f"Variable.astype({dtype}): dualgrad differentiates real "
                                    "functions only; cast to a float dtype")
        return np.asarray(self._untangled(f"astype({dtype})")).astype(dtype)

    # ---- NumPy's dispatch protocols -----------------------------------------------------------

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _numpy.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable[..., Any], types: Any, args: Any,
                           kwargs: Any) -> Any:
        return _numpy.function(func, args, kwargs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # np.array, np.asarray, np.r_ and np.c_ never dispatch to a Variable, nor does a NumPy
        # function given a list that holds Variables: they all end here
        raise DualgradTypeError(
            "a Variable cannot become a plain NumPy array: that would drop its tangent. "
            "np.array([x, y]), np.asarray of a list of Variables, np.r_[...], np.c_[...], "
            "np.int64(v) and NumPy functions given a list holding Variables (np.mean([x, y])) "
            "all ask for one. "
            "Build the array with np.stack([x, y]) (np.concatenate or np.hstack to join 1-D "
            "pieces, np.column_stack for columns), pass the list to dualgrad's function of the "
            "same name (dg.mean([x, y])), or take .value explicitly"
        )


def _primal_of(x: Any) -> Any:
    return x.primal() if isinstance(x, Variable) else x


def _as_tangent(tangent: Any, value: Any) -> Any:
    shape = value.shape
    if not isinstance(tangent, Variable):
        tangent = as_value(tangent, "Variable's tangent")
        dtype = value.primal().dtype if isinstance(value, Variable) else value.dtype
        if tangent.dtype != dtype:
            tangent = tangent.astype(np.result_type(tangent.dtype, dtype))
    if tangent.shape == shape:
        return tangent.reshape((1, *shape))
    if tangent.shape[1:] == shape and tangent.ndim == len(shape) + 1:
        return tangent
    stacked = "(" + ", ".join(("T", *map(str, shape))) + ("," if not shape else "") + ")"
    raise ShapeError(
        f"a Variable of shape {shape} needs a tangent of shape {shape} (one direction) or "
        f"{stacked} for T directions; got a tangent of shape {tuple(tangent.shape)}"
    )
