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

import copy
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import (
    _boxed,  # noqa: F401 - installs the Tracer's box into the core
    _seams,
)
from ._core import Primitive, Variable
from ._errors import ShapeError, TracingError
from ._replays import differentiable, getter, given_up, owned, primal, read_only, written
from ._tracer import Tracer, _Trace

__all__ = ["Program", "Tracer", "TracingError", "record", "record_large", "recording"]


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
        # the equations the outputs need, walking back from them (and those of the shapes
        # set by values that Python read, which a replay checks: see `_ragged`)
        needed = set(self._outputs) | set(trace.guards)
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
        # what `refolded` computes again for new values of the fixed inputs
        self._kept_slots = kept
        self._folding = [eq for eq in live if fold and fixed[eq[3]]]
        # their results' shapes and dtypes, which other values must give too (those set by
        # values only where Python read them: see `_ragged`)
        self._folded_as = {out: (np.shape(values[out]), getattr(values[out], "dtype", None))
                           for *_, out in self._folding
                           if out not in trace.ragged or out in trace.guards}
        env: list[Any] = [None] * len(values)
        for i in kept:
            env[i] = read_only(values[i])
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
        # the same equations by what computed them (a primitive, a NumPy function), for
        # `differentiate`
        ops = [(trace.ops.get(out, fn), fn, ins, params, out)
               for fn, ins, params, out in live if not (fold and fixed[out])]
        # the slots each equation reads for the last time, dropped after it (dual numbers
        # carry n directions each: keeping every one to the end would hold them all at once)
        last: dict[int, int] = {}
        for k, (_, _, ins, _, _) in enumerate(ops):
            for i in ins:
                last[i] = k
        keep = set(self._outputs) | {i for i in range(len(values)) if env[i] is not None}
        self._ops = []
        for k, (op, fn, ins, params, out) in enumerate(ops):
            dead = tuple(i for i in set(ins) if last[i] == k and i not in keep)
            # the arguments read here for the last time, whose tangent the primitive may
            # write its own into (see `differentiate`): an elementwise primitive, or a ufunc
            # (each reaches the one primitive that implements it), reads each argument's
            # tangent once, in its own rule, before any sum is written
            gives = tuple(j for j, i in enumerate(ins) if i in dead) \
                if type(op) is np.ufunc or (isinstance(op, Primitive) and op.elementwise) \
                else ()
            self._ops.append((op, fn, getter(ins), params, out, dead, gives))
        for fn, ins, params, out in live:
            if fold and fixed[out]:
                continue
            value = values[out]
            if type(fn) is np.ufunc and not params and out not in final \
                    and out not in trace.ragged \
                    and type(value) is np.ndarray and value.nbytes >= _BUFFERED \
                    and not any(type(values[i]) is np.ndarray
                                and np.may_share_memory(value, values[i]) for i in final):
                self.buffer_bytes += value.nbytes
                params = {"out": (value.shape, value.dtype,
                                  "F" if value.flags.f_contiguous else "C")}
            code.append((fn, params, ins, out))
        self._plan = code
        # the shapes set by values that Python read, of results each replay computes: a
        # replay that gives another raises TracingError (see `_ragged`)
        self._guards = [(out, trace.guards[out]) for *_, out in code if out in trace.guards]
        self._code: Callable[[Sequence[Any]], list[Any]] | None = None
        self._source: tuple[Callable[..., Any], list[tuple[str, int]]] | None = None

    def _compiled(self) -> Callable[[Sequence[Any]], list[Any]]:
        """The equations as one Python function of the inputs, which `run` calls: a line per
        equation, each slot a local name, each function and kept value bound by name (a loop
        over the equations would spend more in its own bookkeeping than the small arrays of a
        training step spend in NumPy). Its buffers are allocated at the first replay (a
        program that is only differentiated never needs them)."""
        make, bound = self._written()
        values = []
        for kind, at in bound:
            if kind == "k":
                values.append(self._env[at])  # a constant or a folded result
                continue
            fn, params, _, _ = self._plan[at]
            if "out" in params:
                shape, dtype, order = params["out"]
                params = {"out": np.empty(shape, dtype=dtype, order=order)}
            values.append(functools.partial(fn, **params) if params else fn)
        self._code = make(*values)
        return self._code

    def _written(self) -> tuple[Callable[..., Any], list[tuple[str, int]]]:
        """The replay's source, compiled (see `_replays.written`): once, for this program and
        the copies refolded from it. It returns the outputs, then the guarded slots."""
        if self._source is None:
            self._source = written(self._inputs, [(ins, out) for _, _, ins, out in self._plan],
                                   [*self._outputs, *(slot for slot, _ in self._guards)])
        return self._source

    def emptied(self) -> Program:
        """This program without the values of its fixed inputs and what it folded from them:
        a template that `refolded` fills for other values of the same shapes."""
        self._written()  # shared with the copies refolded from this one
        new = copy.copy(self)
        kept = set(self._kept_slots)
        new._env = [None if i in kept else v for i, v in enumerate(self._env)]
        new._fixed_inputs = [(slot, None) for slot, _ in self._fixed_inputs]
        new._code = None
        return new

    def refolded(self, inputs: Sequence[Any]) -> Program:
        """This program for new values of its fixed inputs (`inputs` as for `replay`, which
        the new program then takes): its folded equations run again on them, and nothing
        else (the recorded function's Python does not run). The recorded equations hold for
        any values of the recorded shapes: Python that read a value, or the shape of a result
        set by values, was never recorded.

        Raises:
            TracingError: a folded result came out of another shape or dtype (the caller
                records again).
        """
        self.check(inputs, fixed=False)
        new = copy.copy(self)
        env = list(self._env)
        given = dict(zip(self._inputs, inputs))
        for slot, _ in self._fixed_inputs:
            env[slot] = given[slot]
        for fn, ins, params, out in self._folding:
            env[out] = fn(*[env[i] for i in ins], **params)
            recorded = self._folded_as.get(out)
            if recorded is not None and recorded != (np.shape(env[out]),
                                                     getattr(env[out], "dtype", None)):
                raise TracingError("the new values give a folded result another shape or "
                                   "dtype than the recorded ones; record the program again")
        kept = set(self._kept_slots)
        for *_, out in self._folding:
            if out not in kept:
                env[out] = None
            else:
                env[out] = read_only(env[out])
        for slot, _ in self._fixed_inputs:
            env[slot] = None  # given to each replay
        new._env = env
        new._fixed_inputs = [(slot, given[slot]) for slot, _ in self._fixed_inputs]
        new._code = None
        return new

    @property
    def size(self) -> int:
        """The number of equations each replay runs."""
        return len(self._plan)

    def replay(self, *inputs: Any) -> list[Any]:
        """The outputs for new `inputs`, of the recorded shapes and dtypes; fixed inputs must
        be the very arrays the program was recorded with.

        Raises:
            TracingError: a shape set by values (``x[mask]``) that the recorded Python read
                differs here: the program does not hold for these values.
        """
        self.check(inputs)
        return self.run(inputs)

    def run(self, inputs: Sequence[Any]) -> list[Any]:
        """`replay` for inputs known to fit (the caller keys its programs by their shapes and
        by the fixed arrays themselves): the hot path of a training step."""
        if self._guards:
            return self._guarded(inputs)
        outputs = (self._code or self._compiled())(inputs)
        return owned(outputs) if self.buffer_bytes else outputs

    def _guarded(self, inputs: Sequence[Any]) -> list[Any]:
        """`run` for a program whose recording read shapes set by values: those shapes are
        checked, and NumPy refusing the new shapes on the way counts as another shape."""
        try:
            results = (self._code or self._compiled())(inputs)
        except (ValueError, IndexError) as exc:
            raise TracingError(f"the program's shapes set by values differ from the recorded "
                               f"ones ({exc}); record it again, or run eagerly") from exc
        n = len(self._outputs)
        for (_, shape), value in zip(self._guards, results[n:]):
            if np.shape(value) != shape:
                raise TracingError(f"a shape set by values that the recorded Python read is "
                                   f"{np.shape(value)} here, not {shape}; record the program "
                                   "again, or run eagerly")
        return owned(results[:n])

    def differentiate(self, *inputs: Any) -> list[Any]:
        """`replay` on inputs that may be dual numbers (Variables): each equation runs as the
        primitive or NumPy function that computed it, so that its rules carry the inputs'
        tangents (a recorded gradient, differentiated again: forward over reverse)."""
        self.check([primal(x) for x in inputs])
        env = self._env.copy()
        for slot, x in zip(self._inputs, inputs):
            env[slot] = x
        for op, fn, get, params, out, dead, gives in self._ops:
            args = get(env)
            for i in dead:
                env[i] = None
            if not gives:
                env[out] = differentiable(op, fn)(*args, **params)
                continue
            # A dual number read for the last time: when nothing else holds its tangent
            # array, the primitive may sum its own tangent into it (a dense tangent of n
            # directions is as large as n values; a new one each time costs page faults).
            _seams.donated = given_up(args, gives)
            try:
                env[out] = differentiable(op, fn)(*args, **params)
            finally:
                _seams.donated = None
            del args
        return [env[i] for i in self._outputs]

    def check(self, inputs: Sequence[Any], fixed: bool = True) -> None:
        """Raise `ShapeError` unless `inputs` can replace the recorded ones (the fixed ones
        the very arrays, with `fixed`)."""
        if len(inputs) != len(self._inputs):
            raise ShapeError(f"the program takes {len(self._inputs)} inputs, got {len(inputs)}")
        given = dict(zip(self._inputs, inputs))
        for x, (shape, dtype) in zip(inputs, self._signature):
            if type(x) is not np.ndarray or x.shape != shape or x.dtype != dtype:
                raise ShapeError(
                    f"the program was recorded for an input of shape {shape} and dtype {dtype}, "
                    f"got {_described(x)}; record it again for the new shape")
        for slot, x in self._fixed_inputs if fixed else ():
            if given[slot] is not x:
                raise ShapeError("a fixed input of the program is not the array it was "
                                 "recorded with; record it again for new data")


# results of at least this many bytes get a buffer of their own (see Program)
_BUFFERED = 1 << 16


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
           budget: int | None = None, hold: int | None = None) -> tuple[Program, list[Any]]:
    """Run ``f(*tracers)`` on `inputs` and record what it computes.

    Args:
        f: a function of arrays returning an array or a tuple or list of them.
        inputs: the arrays to record it on (float or any other dtype NumPy computes with).
        fixed: for each input, whether it keeps its values between replays (folded).
        budget: the bytes of folded results the program may keep (default: the memory budget
            in force, see `dualgrad.get_memory_budget`).
        hold: the bytes the recording may hold at once (every value it records is kept until
            it ends); None for no limit.

    Returns:
        The program, and the outputs of this run as plain arrays.

    Raises:
        TracingError: f's Python read a recorded value, or its values outgrew `hold`; run it
            eagerly instead.

    Example:
        >>> import numpy as np
        >>> from dualgrad._trace import record
        >>> program, (y,) = record(lambda x: [np.exp(x) * 2.0], [np.zeros(3)])
        >>> program.replay(np.ones(3))[0]
        array([5.43656366, 5.43656366, 5.43656366])
    """
    from . import _budget

    trace, outs = _traced(f, inputs, fixed, hold)
    values = [o.value if type(o) is Tracer else o for o in outs]
    return Program(trace, outs, _budget.resolve(budget)), values


def record_large(f: Callable[..., Any], inputs: Sequence[np.ndarray], least: int,
                 budget: int | None = None, hold: int | None = None
                 ) -> tuple[Program | None, list[Any]]:
    """`record`, but the program is None unless some array computed from the inputs has at
    least `least` bytes (for small arrays, making a program costs more than a caller that
    runs once or twice saves)."""
    from . import _budget

    trace, outs = _traced(f, inputs, (), hold)
    values = [o.value if type(o) is Tracer else o for o in outs]
    if not any(type(v) is np.ndarray and v.nbytes >= least
               for v, fixed in zip(trace.values, trace.fixed) if not fixed):
        return None, values
    return Program(trace, outs, _budget.resolve(budget)), values


def _traced(f: Callable[..., Any], inputs: Sequence[np.ndarray], fixed: Sequence[bool],
            hold: int | None) -> tuple[_Trace, list[Any]]:
    """f run on Tracers of `inputs`: the trace, and f's outputs as a list."""
    trace = _Trace()
    trace.hold = hold
    flags = list(fixed) + [False] * (len(inputs) - len(fixed))
    tracers = []
    for x, keep in zip(inputs, flags):
        if type(x) is not np.ndarray:
            raise ShapeError(f"a program records arrays; got {_described(x)}")
        slot = trace.slot(x, bool(keep), held=False)  # the caller's own
        trace.inputs.append(slot)
        tracers.append(Tracer(trace, slot, x))
    try:
        outputs = recording(f, *tracers)
    finally:
        trace.active = False
    outs = [outputs] if not isinstance(outputs, (list, tuple)) else list(outputs)
    if any(isinstance(o, Variable) for o in outs):
        # a differentiation outside the recording reached f (a closure, a keyword argument,
        # a list): its tangents are no equation a replay could run
        raise TracingError("the function's output carries the tangents of a differentiation "
                           "around the recording; run it eagerly")
    return trace, outs
