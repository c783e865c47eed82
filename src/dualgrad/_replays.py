"""Running a recorded program's equations (see `_trace`): a replay written as one Python
function, what a differentiated replay calls for each equation, and the tangents it may give
up to the next sum.
"""

from __future__ import annotations

import operator
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._core import Primitive, Variable
from ._nests import Nested

__all__ = ["differentiable", "getter", "given_up", "holders", "owned", "primal", "read_only",
           "written"]


def written(inputs: Sequence[int], plan: Sequence[tuple[tuple[int, ...], int]],
            outputs: Sequence[int]) -> tuple[Callable[..., Any], list[tuple[str, int]]]:
    """A replay as Python source, compiled: ``make(f0, ..., k3, ...)`` gives a function of
    the list of inputs (slots `inputs`) that computes slot ``out`` as ``f<n>(*ins)`` for the
    n-th ``(ins, out)`` of `plan`, in order, and returns the slots `outputs`; ``k<slot>`` is
    the value of a slot no equation computes (a constant, a folded result). Each slot is a
    local name: a loop over the equations would spend more in its own bookkeeping than the
    small arrays of a training step spend in NumPy. Returns ``make`` and the list of what to
    hand it, in order: ``("f", n)`` and ``("k", slot)``."""
    local = set(inputs) | {out for _, out in plan}
    bound: list[tuple[str, int]] = [("f", n) for n in range(len(plan))]
    kept: dict[int, None] = {}

    def name(slot: int) -> str:
        if slot in local:
            return f"s{slot}"
        kept[slot] = None
        return f"k{slot}"

    if len(plan) > WRITTEN_UP_TO:
        for ins, _ in plan:
            for i in ins:
                name(i)
        for i in outputs:
            name(i)
        bound += [("k", slot) for slot in kept]
        return _looped(inputs, plan, outputs, bound), bound
    lines = ["    def run(inputs):"]
    if inputs:
        lines.append(f"        {''.join(f's{i}, ' for i in inputs)}= inputs")
    for n, (ins, out) in enumerate(plan):
        lines.append(f"        s{out} = f{n}({', '.join(name(i) for i in ins)})")
    lines.append(f"        return [{', '.join(name(i) for i in outputs)}]")
    bound += [("k", slot) for slot in kept]
    head = f"def make({', '.join(f'{kind}{at}' for kind, at in bound)}):"
    return _made("\n".join([head, *lines, "    return run"])), bound


# the longest program written as Python source: compiling grows faster than the program (a
# program of 300,000 equations takes seconds), and a long one runs its NumPy calls at the
# same speed in a loop
WRITTEN_UP_TO = 2000


def _looped(inputs: Sequence[int], plan: Sequence[tuple[tuple[int, ...], int]],
            outputs: Sequence[int], bound: list[tuple[str, int]]) -> Callable[..., Any]:
    """`written`'s ``make`` for a long program: the replay as a loop over the equations."""
    size = 1 + max([*inputs, *outputs, *(o for _, o in plan), *(i for ins, _ in plan
                                                                for i in ins)], default=-1)

    def make(*values: Any) -> Callable[[Sequence[Any]], list[Any]]:
        start: list[Any] = [None] * size
        fns = []
        for (kind, at), value in zip(bound, values):
            if kind == "k":
                start[at] = value
            else:
                fns.append(value)
        steps = [(fn, ins, out) for fn, (ins, out) in zip(fns, plan)]

        def run(given: Sequence[Any]) -> list[Any]:
            env = start.copy()
            for slot, x in zip(inputs, given):
                env[slot] = x
            for fn, ins, out in steps:
                env[out] = fn(*[env[i] for i in ins])
            return [env[i] for i in outputs]
        return run
    return make


# Compiled replays by their source: Python compiles about 9 us a line, as much as a hundred
# replays of a small program save; a model of the same layers (a new one, or one refolded on
# other data) writes the same source and reuses the function. The oldest go beyond MAKERS.
_MAKERS: dict[str, Callable[..., Any]] = {}
MAKERS = 256


_MAKING = threading.Lock()  # shard workers on threads record too


def _made(source: str) -> Callable[..., Any]:
    with _MAKING:
        make = _MAKERS.pop(source, None)
        if make is None:
            namespace: dict[str, Any] = {}
            exec(source, namespace)  # the code names slots and the values handed over only
            make = namespace["make"]
            while len(_MAKERS) >= MAKERS:
                del _MAKERS[next(iter(_MAKERS))]
        _MAKERS[source] = make  # the most recent last
        return make



def holders(args: tuple[Any, ...], at: int) -> tuple[int, int]:
    """The references to ``args[at]`` (beside those of `args`) and to its tangent, this
    function's own included, as a pair: counted the same way as `_ALONE`, the pair of a dual
    number that `args` alone holds, whose tangent nothing else holds."""
    x = args[at]
    t = x._tangent
    return sys.getrefcount(x) - sum(a is x for a in args), sys.getrefcount(t)


def given_up(args: tuple[Any, ...], candidates: tuple[int, ...]) -> Any:
    """The tangent of the first of ``args[at]``, `at` in `candidates` (dual numbers no slot of
    the program holds any more), that nothing but it holds (no other dual number, no view of
    it), that owns its memory, and that this call reads once (a rule reading it again after
    another's contribution was added into it would read the sum); None if there is none."""
    for at in candidates:
        x = args[at]
        if type(x) is not Variable or sum(a is x for a in args) > 1:
            continue
        t = x._tangent
        if type(t) is not np.ndarray or t.base is not None or not t.flags.writeable \
                or type(x.value) is not np.ndarray:
            continue
        del x, t  # counted by `holders` otherwise
        if holders(args, at) == _ALONE:
            return args[at]._tangent
    return None


# the references `holders` counts for a dual number held by the arguments alone, whose
# tangent nothing else holds
_ALONE = holders((Variable._make(np.zeros(1), np.zeros((1, 1)), 0),), 0)


def read_only(value: Any) -> Any:
    """A folded result as every replay shares it: a read-only view of an array (the array
    itself may be the caller's, np.asarray of a constant)."""
    if type(value) is not np.ndarray:
        return value
    view = value.view()
    view.flags.writeable = False
    return view


def primal(x: Any) -> Any:
    return x.primal() if isinstance(x, Variable) else x


# ndarray's methods, as the NumPy functions that take a Variable too
_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.ndarray.sum: np.sum, np.ndarray.mean: np.mean, np.ndarray.max: np.max,
    np.ndarray.min: np.min, np.ndarray.prod: np.prod, np.ndarray.reshape: np.reshape,
    np.ndarray.ravel: np.ravel, np.ndarray.dot: np.dot, np.ndarray.transpose: np.transpose,
    np.ndarray.copy: np.copy,
}


def differentiable(op: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    """What to call for an equation on dual numbers: its primitive, or the NumPy function."""
    if op is np.ndarray.astype:
        return lambda a, dtype, **kw: a.astype(dtype)
    if isinstance(op, Primitive):
        return op
    if type(fn) is Nested:
        return fn
    chosen: Callable[..., Any] = _FUNCTIONS.get(op, op)
    return chosen


def getter(ins: tuple[int, ...]) -> Callable[[list[Any]], tuple[Any, ...]]:
    if not ins:
        return lambda env: ()
    if len(ins) == 1:
        i = ins[0]
        return lambda env: (env[i],)
    return operator.itemgetter(*ins)


def owned(outputs: list[Any]) -> list[Any]:
    """Outputs the caller owns: an output may be a view of a buffer (a reshape of it) that the
    next replay writes again, so a view is copied."""
    return [o.copy() if type(o) is np.ndarray and o.base is not None else o for o in outputs]
