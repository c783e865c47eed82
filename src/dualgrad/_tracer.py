"""Recording: `Tracer`, the array stand-in whose every use is written down as an equation.

A `_Trace` holds the equations recorded so far and every slot's value in the recorded run; a
`Tracer` is one of its slots. NumPy's functions, ufuncs and operators applied to a Tracer, and
dualgrad's primitives (through the core's `install_box`), evaluate on the values and append an
equation. Python that reads a recorded value raises `TracingError`. `_trace` builds programs
from these recordings; `_linear` records linear maps with them.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _seams
from ._core import Variable
from ._errors import TracingError
from ._nests import Nested, find, has_tracer, untraced
from ._operators import ValueShaped
from ._ragged import ragged

__all__ = ["Tracer", "TracingError"]


def _escape(what: str) -> TracingError:
    return TracingError(
        f"{what} reads the value of an array that is being recorded, so the program's Python "
        "depends on the data and cannot be replayed; run the function eagerly (a layer or loss "
        "says so with `traceable = False`)")


# functions whose non-array results depend on shapes alone, not on values
_STATIC = frozenset({np.shape, np.ndim, np.size, np.result_type})


_LEVELS = itertools.count()


class _Trace:
    """The equations recorded so far, with every slot's value from the recording."""

    def __init__(self) -> None:
        # a recording inside another (reverse mode's linear map inside a recorded training
        # step) has the higher level: the other's arrays are its constants
        self.level = next(_LEVELS)
        self.active = True  # while its function runs; a Tracer of a finished one is stale
        self.values: list[Any] = []  # slot -> its value in the recorded run
        self.fixed: list[bool] = []  # slot -> the same on every replay
        self.equations: list[tuple[Callable[..., Any], tuple[int, ...], dict[str, Any], int]] = []
        self.inputs: list[int] = []
        self.ops: dict[int, Any] = {}  # slot -> what computed it: a NumPy function, a primitive
        self.rule_of: dict[int, Any] = {}  # slot -> the primitive whose rule computed it
        # whether the recorded values mean nothing (a linear map's symbolic tangents, see
        # `_linear`): their arithmetic then warns of nothing (0 * inf on a placeholder)
        self.silent = False
        self._constants: dict[int, int] = {}  # id of a constant -> its slot
        self.ragged: set[int] = set()  # slots whose shape depends on values (see `_ragged`)
        self.guards: dict[int, tuple[int, ...]] = {}  # of those, the shapes Python read
        # the bytes the recorded values may take, all kept until the recording ends (None:
        # no limit); beyond it, the caller runs its function eagerly, freeing as it goes
        self.hold: int | None = None

    def slot(self, value: Any, fixed: bool, held: bool = True) -> int:
        """A new slot for `value`, which the recording holds unless `held` is false."""
        self.values.append(value)
        self.fixed.append(fixed)
        if self.hold is not None and held and isinstance(value, (np.ndarray, np.generic)):
            self.hold -= value.nbytes
            if self.hold < 0:
                raise TracingError("the recorded arrays outgrow the memory budget (a recording "
                                   "keeps every value until it ends); run the function eagerly")
        return len(self.values) - 1

    def constant(self, value: Any) -> int:
        key = id(value)
        slot = self._constants.get(key)
        if slot is None or self.values[slot] is not value:
            slot = self._constants[key] = self.slot(value, True, held=False)
        return slot

    def leaf(self, x: Any) -> int:
        """The slot of an argument: a Tracer's own, or a new constant's."""
        if type(x) is Tracer and x._trace is not self:
            if not (x._trace.active and x._trace.level < self.level):
                raise TracingError("an array of another recording, one that has ended, met "
                                   "this one; record them one at a time")
            return self.constant(x)  # an array of the enclosing recording: a constant here
        if type(x) is Tracer:
            return x._slot
        return self.constant(x)


class Tracer(ValueShaped):
    """An array of a program being recorded: its value in the recorded run, and its slot.

    It supports what rules and layers do with arrays (NumPy functions and ufuncs, operators,
    indexing, reshapes, reductions); each use is recorded. Reading its value from Python raises
    `TracingError`.
    """

    __slots__ = ("_slot", "_trace", "value")
    __array_priority__ = 50.0
    __hash__ = None  # type: ignore[assignment]  # equality is elementwise, as for arrays

    def __init__(self, trace: _Trace, slot: int, value: Any) -> None:
        self._trace, self._slot, self.value = trace, slot, value

    def __repr__(self) -> str:
        return f"<dualgrad.Tracer shape={self.value.shape} dtype={self.dtype}>"

    @property
    def shape(self) -> tuple[int, ...]:
        shape: tuple[int, ...] = self.value.shape
        if self._slot in self._trace.ragged:  # set by values: the program holds only for it
            self._trace.guards[self._slot] = shape
        return shape

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        shape = self.shape
        return shape[0] if shape else len(self.value)

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    # ---- what Python cannot do with a recorded value --------------------------------------

    def __bool__(self) -> bool:
        raise _escape("bool(x) (an `if` or `while` on an array)")

    def __float__(self) -> float:
        raise _escape("float(x)")

    def __int__(self) -> int:
        raise _escape("int(x)")

    def __index__(self) -> int:
        raise _escape("using an array as an index or a count")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise _escape("np.asarray(x) (or another conversion to a plain array)")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise _escape("x[...] = value")

    def tolist(self) -> Any:
        raise _escape("x.tolist()")

    def item(self, *args: Any) -> Any:
        raise _escape("x.item()")

    # ---- NumPy's protocols ----------------------------------------------------------------

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if any(type(a) is Variable for a in inputs):
            return NotImplemented  # the Variable's primitive records its value through us
        if "out" in kwargs:
            raise _escape(f"np.{ufunc.__name__}(..., out=...)")
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return _record(fn, inputs, kwargs)

    def __array_function__(self, func: Callable[..., Any], types: Any, args: Any,
                           kwargs: Any) -> Any:
        if any(issubclass(t, Variable) for t in types):
            return NotImplemented
        if "out" in kwargs:
            raise _escape(f"{getattr(func, '__name__', func)}(..., out=...)")
        if args and args[0] is self and not kwargs:
            func = self._method(func)
        return _record(func, args, kwargs)

    # ---- operators and methods, recorded as the NumPy functions they stand for ------------

    def _binary(self, fn: Callable[..., Any], other: Any, swap: bool = False) -> Any:
        if type(other) is Variable:
            return NotImplemented
        return _record(fn, (other, self) if swap else (self, other), {})

    def _reduce(self, fn: Callable[..., Any], axis: Any, kw: dict[str, Any]) -> Any:
        return _record(self._method(fn), (self, axis), kw)

    def _method(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """The ndarray method for NumPy's function `fn` when the value is an ndarray: the same
        result without the function's Python wrapper (a third of the time on small arrays)."""
        if type(self.value) is np.ndarray:
            return _METHODS.get(fn, fn)
        return fn

    def __add__(self, o: Any) -> Any: return self._binary(np.add, o)
    def __radd__(self, o: Any) -> Any: return self._binary(np.add, o, True)
    def __sub__(self, o: Any) -> Any: return self._binary(np.subtract, o)
    def __rsub__(self, o: Any) -> Any: return self._binary(np.subtract, o, True)
    def __mul__(self, o: Any) -> Any: return self._binary(np.multiply, o)
    def __rmul__(self, o: Any) -> Any: return self._binary(np.multiply, o, True)
    def __truediv__(self, o: Any) -> Any: return self._binary(np.true_divide, o)
    def __rtruediv__(self, o: Any) -> Any: return self._binary(np.true_divide, o, True)
    def __floordiv__(self, o: Any) -> Any: return self._binary(np.floor_divide, o)
    def __mod__(self, o: Any) -> Any: return self._binary(np.remainder, o)
    def __pow__(self, o: Any) -> Any: return self._binary(np.power, o)
    def __rpow__(self, o: Any) -> Any: return self._binary(np.power, o, True)
    def __matmul__(self, o: Any) -> Any: return self._binary(_matmul_of(self, o), o)
    def __rmatmul__(self, o: Any) -> Any: return self._binary(_matmul_of(o, self), o, True)
    def __and__(self, o: Any) -> Any: return self._binary(np.bitwise_and, o)
    def __or__(self, o: Any) -> Any: return self._binary(np.bitwise_or, o)
    def __lt__(self, o: Any) -> Any: return self._binary(np.less, o)
    def __le__(self, o: Any) -> Any: return self._binary(np.less_equal, o)
    def __gt__(self, o: Any) -> Any: return self._binary(np.greater, o)
    def __ge__(self, o: Any) -> Any: return self._binary(np.greater_equal, o)
    def __eq__(self, o: Any) -> Any: return self._binary(np.equal, o)
    def __ne__(self, o: Any) -> Any: return self._binary(np.not_equal, o)
    def __neg__(self) -> Any: return _record(np.negative, (self,), {})
    def __pos__(self) -> Any: return self
    def __abs__(self) -> Any: return _record(np.absolute, (self,), {})
    def __invert__(self) -> Any: return _record(np.invert, (self,), {})
    def __getitem__(self, index: Any) -> Any: return _record(operator.getitem, (self, index), {})

    @property
    def T(self) -> Any:  # noqa: N802 - NumPy's name
        return _record(np.transpose, (self,), {})

    def reshape(self, *shape: Any, **kwargs: Any) -> Any:
        if len(shape) == 1:
            shape = shape[0]
        return _record(self._method(np.reshape), (self, shape), kwargs)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1:
            axes = axes[0]
        return _record(np.transpose, (self, axes or None), {})

    def astype(self, dtype: Any, **kwargs: Any) -> Any:
        return _record(np.ndarray.astype, (self, dtype), kwargs)

    def dot(self, other: Any) -> Any: return _record(_dot_of(self, other), (self, other), {})
    def ravel(self) -> Any: return _record(self._method(np.ravel), (self,), {})
    def flatten(self) -> Any: return _record(self._method(np.ravel), (self,), {})
    def copy(self) -> Any: return _record(np.copy, (self,), {})
    def squeeze(self, axis: Any = None) -> Any: return _record(np.squeeze, (self, axis), {})
    def sum(self, axis: Any = None, **kw: Any) -> Any: return self._reduce(np.sum, axis, kw)
    def mean(self, axis: Any = None, **kw: Any) -> Any: return self._reduce(np.mean, axis, kw)
    def max(self, axis: Any = None, **kw: Any) -> Any: return self._reduce(np.max, axis, kw)
    def min(self, axis: Any = None, **kw: Any) -> Any: return self._reduce(np.min, axis, kw)
    def prod(self, axis: Any = None, **kw: Any) -> Any: return self._reduce(np.prod, axis, kw)
    def cumsum(self, axis: Any = None) -> Any: return _record(np.cumsum, (self, axis), {})


_METHODS: dict[Callable[..., Any], Callable[..., Any]] = {
    np.sum: np.ndarray.sum, np.mean: np.ndarray.mean, np.max: np.ndarray.max,
    np.min: np.ndarray.min, np.prod: np.ndarray.prod, np.reshape: np.ndarray.reshape,
    np.ravel: np.ndarray.ravel, np.transpose: np.ndarray.transpose,
}


def _values_of(a: Any, b: Any) -> tuple[Any, Any]:
    """What the innermost recording among a and b computes with: its own arrays' values, an
    enclosing recording's arrays as they are."""
    trace = _innermost([x for x in (a, b) if type(x) is Tracer])
    va, vb = (x.value if type(x) is Tracer and x._trace is trace else x for x in (a, b))
    return va, vb


def _dot_of(a: Any, b: Any) -> Callable[..., Any]:
    """ndarray.dot where both operands are arrays here (no Python wrapper), np.dot otherwise."""
    va, vb = _values_of(a, b)
    return np.ndarray.dot if type(va) is np.ndarray and type(vb) is np.ndarray else np.dot


def _matmul_of(a: Any, b: Any) -> Callable[..., Any]:
    """np.matmul, or ndarray.dot where that is the same product (a matrix times a matrix or
    a vector): the matmul ufunc's dispatch costs 1 us against 0.35 us on small arrays. The
    values are those the innermost recording computes with (an enclosing recording's array
    stays an array of that recording)."""
    va, vb = _values_of(a, b)
    if type(va) is np.ndarray and type(vb) is np.ndarray and va.ndim == 2 and 1 <= vb.ndim <= 2:
        return np.ndarray.dot
    return np.matmul


# ---- recording -------------------------------------------------------------------------------

def _record(fn: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> Any:
    """Evaluate ``fn(*args, **kwargs)`` on the Tracers' values and record it."""
    # the common case first: the recorded arrays are arguments of one recording, none in a
    # list, tuple or dict (the recording of a training step is made of these)
    trace = None
    for a in args:
        ta = type(a)
        if ta is Tracer:
            if trace is None:
                trace = a._trace
            elif a._trace is not trace:
                break
        elif ta is list or ta is tuple or ta is dict:
            break
    else:
        if trace is not None and not any(type(v) in _NESTING for v in kwargs.values()):
            values = [a.value if type(a) is Tracer else a for a in args]
            if trace.silent:
                with np.errstate(all="ignore"):
                    out = fn(*values, **kwargs)
            else:
                out = fn(*values, **kwargs)
            ins = tuple(a._slot if type(a) is Tracer else trace.constant(a) for a in args)
            return _output(trace, fn, ins, kwargs, out, fn)
    found: list[Tracer] = []
    find(args, found, Tracer)
    find(kwargs, found, Tracer)
    trace = _innermost(found)
    flat = not any(type(a) in (list, tuple, dict) and has_tracer(a, Tracer) for a in args) \
        and not any(has_tracer(v, Tracer) for v in kwargs.values())
    if flat:
        values = [a.value if type(a) is Tracer and a._trace is trace else a for a in args]
        if trace.silent:
            with np.errstate(all="ignore"):
                out = fn(*values, **kwargs)
        else:
            out = fn(*values, **kwargs)
        ins = tuple(trace.leaf(a) for a in args)
        eq_fn: Callable[..., Any] = fn
        params = kwargs
    else:
        values = [t.value if t._trace is trace else t for t in found]
        with np.errstate(all="ignore") if trace.silent else contextlib.nullcontext():
            out = Nested(fn, untraced(args, Tracer), untraced(kwargs, Tracer))(*values)
        ins = tuple(trace.leaf(t) for t in found)
        eq_fn, params = Nested(fn, untraced(args, Tracer), untraced(kwargs, Tracer)), {}
    return _output(trace, eq_fn, ins, params, out, fn)


_NESTING = (Tracer, list, tuple, dict)  # keyword values the common case leaves to the rest


def _innermost(found: Sequence[Tracer]) -> _Trace:
    """The recording an operation on `found` belongs to: the innermost (the others' arrays are
    its constants)."""
    trace = found[0]._trace
    for t in found:
        if t._trace.level > trace.level:
            trace = t._trace
    return trace


def _output(trace: _Trace, fn: Callable[..., Any], ins: tuple[int, ...],
            params: dict[str, Any], out: Any, what: Any) -> Any:
    fixed = all(trace.fixed[i] for i in ins)
    # (a NumPy scalar on every replay too; an enclosing recording's array inside another)
    if isinstance(out, (np.ndarray, np.generic)) or type(out) is Tracer:
        slot = trace.slot(out, fixed)
        trace.equations.append((fn, ins, params, slot))
        if ragged(trace, what, ins):
            trace.ragged.add(slot)
        trace.ops[slot] = what
        if _seams.applying:
            trace.rule_of[slot] = _seams.applying[-1]
        return Tracer(trace, slot, out)
    if type(out) in (tuple, list) and out \
            and all(isinstance(o, np.ndarray) or type(o) is Tracer for o in out):
        slot = trace.slot(out, fixed)
        trace.equations.append((fn, ins, params, slot))
        if ragged(trace, what, ins):  # its parts then too
            trace.ragged.add(slot)
        parts = []
        for k, o in enumerate(out):
            part = trace.slot(o, fixed)
            trace.equations.append((operator.getitem, (slot, trace.constant(k)), {}, part))
            parts.append(Tracer(trace, part, o))
        return type(out)(parts)
    if what in _STATIC:
        return out
    raise _escape(f"{getattr(what, '__name__', what)}, which gives a "
                  f"{type(out).__name__} rather than an array,")
