"""Recorded programs: the equations a function ran, replayed on new arrays.

`record` runs a function on `Tracer`s, array stand-ins that carry their concrete values. Each
NumPy function, operator or primitive applied to one is evaluated on the values, so the function
runs as written (its Python control flow included), and is written down as an equation: the
function on plain arrays, its inputs (earlier results, the program's inputs or constants), its
static parameters and its output. The result is a `Program`.

`Program.replay` runs the equations again on new input arrays of the same shapes and dtypes,
without the Python that produced them: no layer code, no dispatch, no checks. Only the equations
the outputs depend on run.

Folding: an input declared *fixed* keeps its values from one replay to the next (a model's
training data). An equation whose inputs are all fixed or constant gives the same array on
every replay, so it is evaluated once, when recorded, and its result kept, as long as what is
kept fits the memory budget.

Python that reads a recorded value (``if x > 0``, ``float(x)``, ``np.asarray(x)``, writing into
it) cannot be replayed: it raises `TracingError`, and the caller runs the function eagerly.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _core, _seams
from ._core import Primitive, Variable
from ._errors import ShapeError, TracingError
from ._primitive import _checked

__all__ = ["Program", "Tracer", "TracingError", "record"]


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
        # `_transpose`): their arithmetic then warns of nothing (0 * inf on a placeholder)
        self.silent = False
        self._constants: dict[int, int] = {}  # id of a constant -> its slot

    def slot(self, value: Any, fixed: bool) -> int:
        self.values.append(value)
        self.fixed.append(fixed)
        return len(self.values) - 1

    def constant(self, value: Any) -> int:
        key = id(value)
        slot = self._constants.get(key)
        if slot is None or self.values[slot] is not value:
            slot = self._constants[key] = self.slot(value, True)
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


class Tracer:
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
        return f"<dualgrad.Tracer shape={self.shape} dtype={self.dtype}>"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape  # type: ignore[no-any-return]

    @property
    def ndim(self) -> int:
        return self.value.ndim  # type: ignore[no-any-return]

    @property
    def size(self) -> int:
        return self.value.size  # type: ignore[no-any-return]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.value.dtype  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self.value)

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

    def dot(self, other: Any) -> Any: return _record(self._method(np.dot), (self, other), {})
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
    np.ravel: np.ndarray.ravel, np.dot: np.ndarray.dot, np.transpose: np.ndarray.transpose,
}


def _matmul_of(a: Any, b: Any) -> Callable[..., Any]:
    """np.matmul, or ndarray.dot where that is the same product (a matrix times a matrix or
    a vector): the matmul ufunc's dispatch costs 1 us against 0.35 us on small arrays."""
    va, vb = (x.value if type(x) is Tracer else x for x in (a, b))
    if type(va) is np.ndarray and type(vb) is np.ndarray and va.ndim == 2 and 1 <= vb.ndim <= 2:
        return np.ndarray.dot
    return np.matmul


# ---- recording -------------------------------------------------------------------------------

def _find(x: Any, into: list[Tracer]) -> None:
    """The Tracers in `x`, a nest of lists, tuples and dicts."""
    if type(x) is Tracer:
        into.append(x)
    elif type(x) in (list, tuple):
        for item in x:
            _find(item, into)
    elif type(x) is dict:
        for item in x.values():
            _find(item, into)


_HOLE = object()  # where a recorded array goes in a nest of arguments


def _fill(x: Any, values: Sequence[Any], at: list[int]) -> Any:
    """`x` with its Tracers (or holes) replaced, in order, by `values` (`at` counts the ones
    used)."""
    if type(x) is Tracer or x is _HOLE:
        at[0] += 1
        return values[at[0] - 1]
    if type(x) in (list, tuple):
        return type(x)(_fill(item, values, at) for item in x)
    if type(x) is dict:
        return {k: _fill(v, values, at) for k, v in x.items()}
    return x


class _Nested:
    """An equation's function when some of its arguments sit inside lists, tuples or dicts
    (np.concatenate([a, b]), x[i, mask]): called with the flat list of recorded arrays."""

    __slots__ = ("args", "fn", "kwargs")

    def __init__(self, fn: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __call__(self, *values: Any) -> Any:
        at = [0]
        return self.fn(*_fill(self.args, values, at), **_fill(self.kwargs, values, at))


def _record(fn: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> Any:
    """Evaluate ``fn(*args, **kwargs)`` on the Tracers' values and record it."""
    found: list[Tracer] = []
    _find(args, found)
    _find(kwargs, found)
    trace = _innermost(found)
    flat = not any(type(a) in (list, tuple, dict) and _has_tracer(a) for a in args) \
        and not any(_has_tracer(v) for v in kwargs.values())
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
            out = _Nested(fn, args, kwargs)(*values)
        ins = tuple(trace.leaf(t) for t in found)
        eq_fn, params = _Nested(fn, _untraced(args), _untraced(kwargs)), {}
    return _output(trace, eq_fn, ins, params, out, fn)


def _innermost(found: Sequence[Tracer]) -> _Trace:
    """The recording an operation on `found` belongs to: the innermost (the others' arrays are
    its constants)."""
    trace = found[0]._trace
    for t in found:
        if t._trace.level > trace.level:
            trace = t._trace
    return trace


def _has_tracer(x: Any) -> bool:
    found: list[Tracer] = []
    _find(x, found)
    return bool(found)


def _untraced(x: Any) -> Any:
    """`x` with a hole for each Tracer, which `_fill` fills by position at replay (the
    program keeps no Tracer, nor the recorded value it holds)."""
    if type(x) is Tracer:
        return _HOLE
    if type(x) in (list, tuple):
        return type(x)(_untraced(item) for item in x)
    if type(x) is dict:
        return {k: _untraced(v) for k, v in x.items()}
    return x


def _output(trace: _Trace, fn: Callable[..., Any], ins: tuple[int, ...],
            params: dict[str, Any], out: Any, what: Any) -> Any:
    fixed = all(trace.fixed[i] for i in ins)
    # (a NumPy scalar on every replay too; an enclosing recording's array inside another)
    if isinstance(out, (np.ndarray, np.generic)) or type(out) is Tracer:
        slot = trace.slot(out, fixed)
        trace.equations.append((fn, ins, params, slot))
        trace.ops[slot] = what
        if _seams.applying:
            trace.rule_of[slot] = _seams.applying[-1]
        return Tracer(trace, slot, out)
    if type(out) in (tuple, list) and out \
            and all(isinstance(o, np.ndarray) or type(o) is Tracer for o in out):
        slot = trace.slot(out, fixed)
        trace.equations.append((fn, ins, params, slot))
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


def _record_primitive(prim: Primitive | Callable[..., Any], args: tuple[Any, ...],
                      params: dict[str, Any]) -> Any:
    """A primitive applied to Tracers (and no Variable of a differentiation): its function on
    plain arrays, recorded. A plain function (see `_core.call`) is recorded as it is."""
    if not isinstance(prim, Primitive):
        return _record(prim, args, params)
    if any(type(a) is np.ndarray and a.dtype.kind != "f" for a in args):
        args = _checked(prim.name, args)  # booleans and integers become floats, as eagerly
    found: list[Tracer] = []
    _find(args, found)
    trace = _innermost(found)
    values = [a.value if type(a) is Tracer and a._trace is trace else a for a in args]
    outer = any(type(v) is Tracer for v in values)
    try:
        with np.errstate(all="ignore") if trace.silent else contextlib.nullcontext():
            # with arrays of an enclosing recording, the primitive itself records there too
            out = prim(*values, **params) if outer else prim.fn(*values, **params)
    except ValueError as exc:
        raise ShapeError(f"{prim.name} cannot combine the shapes "
                         f"{[np.shape(v) for v in values]}: {exc}") from exc
    fn = prim.fn
    if type(out) is not np.ndarray and type(out) is not Tracer:
        out, fn = np.asarray(out), _as_array(fn)  # a NumPy scalar, on every replay too
    ins = tuple(trace.leaf(a) for a in args)
    return _output(trace, fn, ins, params, out, prim)


def _as_array(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` giving ndarrays, as a primitive's output always is (a reduction to a NumPy scalar
    becomes a 0-d array)."""
    def call(*args: Any, **params: Any) -> Any:
        out = fn(*args, **params)
        return out if type(out) is np.ndarray else np.asarray(out)
    return call


_core.install_box(Tracer, _record_primitive)


# ---- the program -----------------------------------------------------------------------------

class Program:
    """A recorded function, to be run again on new arrays with `replay`.

    Attributes:
        kept_bytes: the bytes of folded results the program keeps between replays.
        folded: whether it keeps any (some fixed input fed a varying equation or an output,
            and the results fit the budget).
        buffer_bytes: the bytes of the buffers its replays write large results into.
    """

    def __init__(self, trace: _Trace, outputs: Sequence[Any], budget: int) -> None:
        values, fixed = trace.values, trace.fixed
        self._inputs = list(trace.inputs)
        self._fixed_inputs = [(i, values[i]) for i in trace.inputs if fixed[i]]
        self._signature = [(values[i].shape, values[i].dtype) for i in trace.inputs]
        self._outputs = [trace.leaf(o) for o in outputs]
        # the equations the outputs need, walking back from them
        needed = set(self._outputs)
        live: list[tuple[Callable[..., Any], tuple[int, ...], dict[str, Any], int]] = []
        for eq in reversed(trace.equations):
            if eq[3] in needed:
                live.append(eq)
                needed.update(eq[1])
        live.reverse()
        # fold: keep the fixed results that varying equations (or the outputs) read, when
        # they fit the budget; otherwise replay everything but the inputs
        computed = {eq[3] for eq in live}
        reads = {i for eq in live if not fixed[eq[3]] for i in eq[1]} | set(self._outputs)
        kept = [i for i in reads if fixed[i] and i in computed]
        self.kept_bytes = sum(getattr(values[i], "nbytes", 0) for i in kept)
        fold = self.kept_bytes <= budget
        if not fold:
            kept, self.kept_bytes = [], 0
        self.folded = bool(kept)
        env: list[Any] = [None] * len(values)
        for i in kept:
            if type(values[i]) is np.ndarray:
                values[i].flags.writeable = False  # shared by every replay
            env[i] = values[i]
        inputs = set(self._inputs)
        for i in needed:  # constants
            if i not in computed and i not in inputs:
                env[i] = values[i]
        self._env = env
        # Large results of ufuncs are written into buffers the program keeps from one replay
        # to the next: a fresh array of megabytes costs more in page faults than in arithmetic.
        # Every replay computes each slot before reading it, so nothing stale is ever read; an
        # output is never a buffer (the caller keeps it).
        final = set(self._outputs)
        self.buffer_bytes = 0
        code = []
        for fn, ins, params, out in live:
            if fold and fixed[out]:
                continue
            value = values[out]
            if type(fn) is np.ufunc and not params and out not in final \
                    and type(value) is np.ndarray and value.nbytes >= _BUFFERED:
                self.buffer_bytes += value.nbytes
                params = {"out": np.empty_like(value)}
            code.append((functools.partial(fn, **params) if params else fn, _getter(ins), out))
        self._code = code

    @property
    def size(self) -> int:
        """The number of equations each replay runs."""
        return len(self._code)

    def replay(self, *inputs: Any) -> list[Any]:
        """The outputs for new `inputs`, of the recorded shapes and dtypes; fixed inputs must
        be the very arrays the program was recorded with."""
        self.check(inputs)
        return self.run(inputs)

    def run(self, inputs: Sequence[Any]) -> list[Any]:
        """`replay` for inputs known to fit (the caller keys its programs by their shapes and
        by the fixed arrays themselves): the hot path of a training step."""
        env = self._env.copy()
        for slot, x in zip(self._inputs, inputs):
            env[slot] = x
        for fn, get, out in self._code:
            env[out] = fn(*get(env))
        # an output may be a view of a buffer (a reshape of it): the caller gets its own copy
        return [o.copy() if type(o) is np.ndarray and o.base is not None else o
                for o in (env[i] for i in self._outputs)]

    def check(self, inputs: Sequence[Any]) -> None:
        """Raise `ShapeError` unless `inputs` can replace the recorded ones."""
        if len(inputs) != len(self._inputs):
            raise ShapeError(f"the program takes {len(self._inputs)} inputs, got {len(inputs)}")
        given = dict(zip(self._inputs, inputs))
        for x, (shape, dtype) in zip(inputs, self._signature):
            if type(x) is not np.ndarray or x.shape != shape or x.dtype != dtype:
                raise ShapeError(
                    f"the program was recorded for an input of shape {shape} and dtype {dtype}, "
                    f"got {_described(x)}; record it again for the new shape")
        for slot, x in self._fixed_inputs:
            if given[slot] is not x:
                raise ShapeError("a fixed input of the program is not the array it was "
                                 "recorded with; record it again for new data")


# results of at least this many bytes get a buffer of their own (see Program)
_BUFFERED = 1 << 16


def _getter(ins: tuple[int, ...]) -> Callable[[list[Any]], tuple[Any, ...]]:
    if not ins:
        return lambda env: ()
    if len(ins) == 1:
        i = ins[0]
        return lambda env: (env[i],)
    return operator.itemgetter(*ins)


def _described(x: Any) -> str:
    if type(x) is np.ndarray:
        return f"shape {x.shape} and dtype {x.dtype}"
    return f"a {type(x).__name__}"


def recording(f: Callable[..., Any], *args: Any) -> Any:
    """``f(*args)``, with the primitives applied meanwhile noted on the equations."""
    _seams.recording += 1
    try:
        return f(*args)
    finally:
        _seams.recording -= 1


def record(f: Callable[..., Any], inputs: Sequence[np.ndarray], fixed: Sequence[bool] = (),
           budget: int | None = None) -> tuple[Program, list[Any]]:
    """Run ``f(*tracers)`` on `inputs` and record what it computes.

    Args:
        f: a function of arrays returning an array or a tuple or list of them.
        inputs: the arrays to record it on (float or any other dtype NumPy computes with).
        fixed: for each input, whether it keeps its values between replays (folded).
        budget: the bytes of folded results the program may keep (default: the memory budget
            in force, see `dualgrad.get_memory_budget`).

    Returns:
        The program, and the outputs of this run as plain arrays.

    Raises:
        TracingError: f's Python read a recorded value; run it eagerly instead.

    Example:
        >>> import numpy as np
        >>> from dualgrad._trace import record
        >>> program, (y,) = record(lambda x: [np.exp(x) * 2.0], [np.zeros(3)])
        >>> program.replay(np.ones(3))[0]
        array([5.43656366, 5.43656366, 5.43656366])
    """
    from . import _budget

    trace = _Trace()
    flags = list(fixed) + [False] * (len(inputs) - len(fixed))
    tracers = []
    for x, keep in zip(inputs, flags):
        if type(x) is not np.ndarray:
            raise ShapeError(f"a program records arrays; got {_described(x)}")
        slot = trace.slot(x, bool(keep))
        trace.inputs.append(slot)
        tracers.append(Tracer(trace, slot, x))
    try:
        outputs = recording(f, *tracers)
    finally:
        trace.active = False
    single = not isinstance(outputs, (list, tuple))
    outs = [outputs] if single else list(outputs)
    program = Program(trace, outs, _budget.resolve(budget))
    values = [o.value if type(o) is Tracer else o for o in outs]
    return program, values
