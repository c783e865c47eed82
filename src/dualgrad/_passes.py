"""Forward-mode passes: a function run with some of the unit directions of its inputs seeded,
the directions of one call cut into passes that fit the memory budget, and the tangents of the
passes gathered into the answer (see `forward`). The transformations in `_transforms` are built
on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _budget, _core, _executors, _zeros
from . import primitives as p
from ._core import Variable, as_value, new_tag
from ._errors import ConfigError, DualgradTypeError
from ._trace import record_large
from ._tree import leaves, rebuild

__all__ = ["as_input", "chunk", "constant", "forward", "itemsize", "leaves", "one_pass", "rebuild",
           "recorded", "split"]


def as_input(x: Any, what: str) -> Any:
    return x if isinstance(x, Variable) else as_value(x, what)


def split(out: Any, tag: int, directions: int) -> tuple[Any, Any]:
    """The value of `out` and its tangent at `tag` (zeros where out does not depend on it)."""
    if isinstance(out, Variable) and out.tag == tag:
        tangent = out.tangent  # dense, whatever the engine stored
        if tangent is not None:
            return out.value, tangent
    if isinstance(out, Variable) and out.tangent is None:
        out = out.value
    value = as_input(out, "the differentiated function's output")
    dtype = value.primal().dtype if isinstance(value, Variable) else value.dtype
    return value, np.zeros((directions, *value.shape), dtype=dtype)


def chunk(chunk_size: int, total: int) -> int:
    if not isinstance(chunk_size, (int, np.integer)) or isinstance(chunk_size, bool):
        raise DualgradTypeError(f"chunk_size must be a positive int or None, got "
                                f"{chunk_size!r}")
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    return int(chunk_size)


def _seeded(x: Any, offset: int, start: int, stop: int, tag: int) -> Any:
    """`x` carrying directions start..stop of the unit basis, where x's scalars are numbered
    from `offset`; a constant when none of those directions touches x."""
    n = math.prod(x.shape)
    lo, hi = max(start, offset), min(stop, offset + n)
    if lo >= hi:
        return x
    dtype = x.primal().dtype if isinstance(x, Variable) else x.dtype
    if not _core.COMPACT_SEEDS:
        seed = np.zeros((stop - start, n), dtype=dtype)
        seed[np.arange(lo - start, hi - start), np.arange(lo - offset, hi - offset)] = 1
        return Variable._make(x, seed.reshape((stop - start, *x.shape)), tag)
    # Marked as unit seeds, stored with the directions that touch x only: x[0] then carries
    # one direction, not stop - start of which all but one are zero.
    block = np.zeros((hi - lo, n), dtype=dtype)
    block[np.arange(hi - lo), np.arange(lo - offset, hi - offset)] = 1
    rows = None if hi - lo == stop - start else np.arange(lo - start, hi - start)
    return Variable._make(x, _core.unit_seeds(block.reshape((hi - lo, *x.shape)), rows,
                                              stop - start, offset - start), tag)


def _element_bytes(x: Any) -> int:
    """The bytes one scalar of `x` takes with its tangents at outer differentiations (a nested
    transformation's arrays carry those too)."""
    if isinstance(x, Variable):
        return _element_bytes(x.value) * (1 + x.num_directions)
    return int(x.dtype.itemsize)


def itemsize(x: Any) -> int:
    return int((x.primal() if isinstance(x, Variable) else x).dtype.itemsize)


class _Gathered:
    """The tangents of one output array, gathered pass by pass into one ``(n, *shape)`` stack
    allocated once (a single pass's tangent is the stack itself), so the answer is never held
    twice. Tangents of an outer differentiation (Variables) are kept as pieces, joined at the
    end."""

    def __init__(self, value: Any, total: int) -> None:
        self.value = value
        self.total = total
        self.stack: Any = None
        self.pieces: list[Any] = []

    def add(self, tangent: Any, start: int, stop: int) -> None:
        """Take the tangents of directions start..stop, shape ``(stop - start, *shape)``."""
        if stop - start == self.total:
            self.stack = tangent
        elif type(tangent) is np.ndarray and not self.pieces:
            if self.stack is None:
                dtype = tangent.dtype if type(self.value) is not np.ndarray else \
                    np.result_type(tangent.dtype, self.value.dtype)
                self.stack = np.empty((self.total, *tangent.shape[1:]), dtype=dtype)
            self.stack[start:stop] = tangent
        else:
            if self.stack is not None:  # a Variable after arrays: what is done is a piece
                self.pieces.append(self.stack[:start])
                self.stack = None
            self.pieces.append(tangent)

    def answer(self, chosen: list[Any]) -> list[Any]:
        """One block per chosen argument, shaped ``value.shape + arg.shape``."""
        ts = self.pieces
        stack = self.stack if not ts else ts[0] if len(ts) == 1 else \
            p.concatenate(*ts, axis=0)
        return _per_argument(stack, chosen, tuple(self.value.shape))


def forward(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
             argnums: tuple[int, ...], chunk_size: int | None, budget: int, what: str,
             advice: str, check: Callable[[Any, list[Any]], None] | None = None,
             outputs: int | None = None, spread: int = 1, executor: Any = None,
             timeout: float | None = None
             ) -> tuple[Any, list[Any], list[list[Any]], list[Any]]:
    """Run `f` with every scalar of the chosen arguments seeded, some directions per pass.

    The answer holds f's `outputs` numbers (when the caller knows how many) per direction. It is
    refused with `MemoryBudgetError` when larger than `budget` (`what` names the call, `advice`
    says what to do instead), and what it leaves of the budget sets the directions per pass,
    unless `chunk_size` does. When `outputs` is not known and no `chunk_size` is given, f first
    runs once on the arguments as constants (no tangents: the cost of f alone) to learn it, so
    a huge answer is refused before any tangent is computed. `check` sees f's first output.
    `spread` counts the copies of each direction f holds at once: 2 when f differentiates
    again (a Hessian's inner gradients carry their own directions beside each outer one).

    With an `executor` (see `_executors`), each pass is one task on it, and the directions are
    cut into at least as many passes as it has workers; f then always runs once here first,
    as a constant, so that a huge answer is refused before any task is sent.

    Returns f's output (of its first pass), the value of each of its arrays (`leaves` order),
    for each of them its derivative blocks, one per chosen argument shaped
    ``value.shape + arg.shape``, and the chosen arguments as arrays.
    """
    args = tuple(as_input(a, f"argument {i}") if i in argnums else a
                 for i, a in enumerate(args))
    chosen = [args[i] for i in argnums]
    sizes = [math.prod(a.shape) for a in chosen]
    total = sum(sizes)

    def weigh(out: Any, values: list[Any]) -> int:
        """Refuse f's output or its answer; return how many numbers the output holds."""
        if check is not None:
            check(out, values)
        outputs: int = sum(math.prod(v.shape) for v in values)
        nbytes = total * sum(math.prod(v.shape) * itemsize(v) for v in values)
        _budget.refuse_larger(what, outputs * total, nbytes, budget, advice)
        return outputs

    if executor is not None:
        if any(isinstance(a, Variable) for a in args):
            raise ConfigError(f"{what}: executor= cannot be used inside another "
                              "differentiation (an argument carries its tangents); give the "
                              "executor to the outermost transformation")
        _executors.check_picklable((f, kwargs, [a for i, a in enumerate(args)
                                                if i not in argnums]), what, executor)
    if chunk_size is not None:
        step = chunk(chunk_size, total)
        if executor is not None and outputs is None and total:
            outputs = weigh(*constant(f, args, kwargs, argnums))
    elif total == 0:
        step = 1
    else:
        element = max(_element_bytes(x) for x in chosen)
        if outputs is None:
            out, values = constant(f, args, kwargs, argnums)
            outputs = weigh(out, values)
            element = max([element, *(_element_bytes(v) for v in values)])
        else:
            _budget.refuse_larger(what, outputs * total, outputs * total * max(
                itemsize(a) for a in chosen), budget, advice)
        # the Model's estimate: a direction holds its seed and a few arrays of the size of f's
        # arrays, taken as the larger of its input and output
        per_direction = spread * element * (
            total + _budget.ARRAYS_PER_DIRECTION * max(total, outputs))
        step = _budget.plan(total, per_direction, element * outputs * total, budget)
        if executor is not None:
            step = min(step, -(-total // _executors.workers(executor)))
    gathered: list[_Gathered] = []
    repair = _zeros.has_nan(chosen)
    ranges = [(start, min(start + step, total)) for start in range(0, max(total, 1), step)]
    task = (f, args, kwargs, argnums, sizes)
    if executor is None:
        passes: Any = (one_pass(task, start, stop, repair, budget) for start, stop in ranges)
    else:
        sent = _executors.send_once(executor, task)  # f and its arguments, once per call
        passes = _executors.run(
            executor, one_pass, [(sent, start, stop, repair, budget) for start, stop in ranges],
            [f"chunk {k} (directions {start}..{stop} of {total})"
             for k, (start, stop) in enumerate(ranges)], what, timeout)
    for (start, stop), (result, parts, tangents) in zip(ranges, passes):
        if start == 0:
            out, values = result, parts
            weigh(out, values)  # before the other passes
            gathered = [_Gathered(v, total) for v in values]
        for g, t in zip(gathered, tangents):
            g.add(t, start, stop)
        del result, parts, tangents
    return out, values, [g.answer(chosen) for g in gathered], chosen


def one_pass(task: tuple[Any, ...], start: int, stop: int, repair: bool, budget: int
             ) -> tuple[Any, list[Any], list[Any]]:
    """f with the directions start..stop seeded: its output (the pass's tangents dropped), the
    value and the tangents of each of its arrays. `task` is ``(f, args, kwargs, argnums,
    sizes)``. A task of `forward` on an executor."""
    f, args, kwargs, argnums, sizes = task

    def run(tag: int) -> tuple[Any, list[tuple[Any, Any]]]:
        call = list(args)
        offset = 0
        for i, size in zip(argnums, sizes):
            call[i] = _seeded(args[i], offset, start, stop, tag)
            offset += size
        result = f(*call, **kwargs)
        return result, [split(o, tag, stop - start) for o in leaves(result)]

    with _budget.enclosing(budget):
        result, parts = _zeros.keeping_zeros(run, new_tag, repair)
    values = [v for v, _ in parts]
    return rebuild(result, iter(values)), values, [t for _, t in parts]


def recorded(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
             argnums: tuple[int, ...], budget: int
             ) -> tuple[Callable[..., Any] | None, int | None]:
    """f recorded at the arguments (see `_trace`), as a function `forward`'s passes run on
    dual numbers in place of f, and the number of f's outputs.

    The recording is the run of f on the arguments as constants that sizes the passes; the
    passes replay its equations, and a replay knows when it reads a value for the last time,
    so that a tangent no longer needed may hold the sum of the next (see
    `Program.differentiate`). That pays where the tangents are large: where none would reach
    `RECORDED_FROM` bytes, no program is made (None in its place) and f runs in its pass.
    (None, None) when f cannot be recorded (its Python reads its values, its values outgrow
    the memory `budget`, or anything else goes wrong: f then runs itself in each pass, and
    raises there what it raises)."""
    xs = [as_value(args[i], f"argument {i}") for i in argnums]
    directions = max(sum(math.prod(x.shape) for x in xs), 1)
    like: list[Any] = []

    def of_chosen(*chosen: Any) -> list[Any]:
        full = list(args)
        for i, x in zip(argnums, chosen):
            full[i] = x
        out = f(*full, **kwargs)
        found = leaves(out)
        like.append(rebuild(out, iter([None] * len(found))))  # holding no recorded array
        return found

    try:
        program, values = record_large(of_chosen, xs, -(-RECORDED_FROM // directions),
                                       budget=budget, hold=budget)
    except Exception:  # f runs eagerly instead, and raises there what it raises
        return None, None
    outputs = sum(math.prod(np.shape(v)) for v in values)
    if program is None:
        return None, outputs

    def replayed(*full: Any, **_: Any) -> Any:
        return rebuild(like[0], iter(program.differentiate(*[full[i] for i in argnums])))

    return replayed, outputs


# the bytes of the largest tangent (an array of f's times its directions) from which the
# passes replay a recording of f (smaller ones cost less to compute again than to record)
RECORDED_FROM = 1 << 18


def constant(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
              argnums: tuple[int, ...]) -> tuple[Any, list[Any]]:
    """f on the arguments as constants (no tangents): its output and its arrays' values."""
    tag = new_tag()
    out = f(*(Variable._make(a, None, tag) if i in argnums else a
              for i, a in enumerate(args)), **kwargs)
    return out, [split(o, tag, 0)[0] for o in leaves(out)]


def _per_argument(tangents: Any, chosen: list[Any], out_shape: tuple[int, ...]) -> list[Any]:
    """Cut stacked tangents (n, *out) into one ``out.shape + arg.shape`` block per argument."""
    blocks, offset = [], 0
    k = len(out_shape)
    for a in chosen:
        n = math.prod(a.shape)
        block = tangents[offset:offset + n] if len(chosen) > 1 else tangents
        offset += n
        if k:
            block = p.transpose(block, axes=(*range(1, k + 1), 0))
        blocks.append(p.reshape(block, shape=(*out_shape, *a.shape)))
    return blocks
