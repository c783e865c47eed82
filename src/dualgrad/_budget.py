"""The memory budget of grad, value_and_grad, jacobian and hessian: the bytes one call may hold.

A forward-mode pass pushes T directions through f at once, so every array f computes carries T
tangents beside its value: memory grows with T times the size of f's arrays, and the answer
itself (a Jacobian) holds one number per output and input. A call plans T from its budget: the
answer is set aside first (refused at once when it alone is larger than the budget), and the
rest is shared out by an estimate of one direction's cost, the Model's rule for its passes.

The budget is one number for the whole process, because memory is: `set_memory_budget` sets it
for every later call (already-built ``grad(f)`` functions included), and a call's own
``memory_budget=`` overrides it for that call.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._errors import ConfigError, MemoryBudgetError

__all__ = ["DEFAULT_MEMORY_BUDGET", "get_memory_budget", "set_memory_budget"]

DEFAULT_MEMORY_BUDGET = 1 << 30  # 1 GiB, as for Model(memory_budget=...)

# arrays of the larger of f's input and output size that one direction keeps alive at once,
# beside its seed: about four intermediates (a product, its factors' tangents, their sum), as
# the Model assumes for its layers, and the output's tangent, gathered into the answer (measured
# with tracemalloc on elementwise functions: 4 for a gradient, 5 for a Jacobian)
ARRAYS_PER_DIRECTION = 5

_budget = DEFAULT_MEMORY_BUDGET


def checked(nbytes: Any, name: str = "memory_budget") -> int:
    """`nbytes` as an int after checking it is a positive whole number of bytes (``1e9`` is
    taken as 10**9)."""
    if isinstance(nbytes, (float, np.floating)) and float(nbytes).is_integer():
        nbytes = int(nbytes)
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)):
        raise ConfigError(f"{name} must be a positive whole number of bytes (e.g. 2 * 2**30 "
                          f"or 2e9), got {nbytes!r}")
    if nbytes <= 0:
        raise ConfigError(f"{name} must be a positive number of bytes, got {nbytes!r}")
    return int(nbytes)


def get_memory_budget() -> int:
    """The bytes a call of grad, value_and_grad, jacobian or hessian may hold by default.

    Example:
        >>> import dualgrad as dg
        >>> dg.get_memory_budget() == 2**30
        True
    """
    return _budget


def set_memory_budget(nbytes: int) -> int:
    """Set the default memory budget of every later grad, value_and_grad, jacobian and hessian
    call, and return the previous one (to restore it).

    Within the budget a call chooses how many directions each pass carries (unless it is given
    a ``chunk_size``), and it refuses, with `MemoryBudgetError`, an answer larger than the
    budget. A call's own ``memory_budget=`` takes precedence. The numbers never depend on it.

    Args:
        nbytes: a positive int, in bytes (1 GiB by default).

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> previous = dg.set_memory_budget(64 * 2**20)
        >>> dg.grad(lambda x: dg.sum(x * x))(np.ones(3))
        array([2., 2., 2.])
        >>> _ = dg.set_memory_budget(previous)
    """
    global _budget
    previous, _budget = _budget, checked(nbytes, "the memory budget")
    return previous


# The budget of the differentiation running now, which one nested inside it (a grad inside
# the function a jacobian differentiates) inherits unless given its own.
_enclosing: contextvars.ContextVar[int | None] = contextvars.ContextVar("budget", default=None)


def resolve(nbytes: int | None) -> int:
    """A call's budget: its own; else that of the differentiation it runs inside; else the
    process's default."""
    if nbytes is not None:
        return nbytes
    enclosing = _enclosing.get()
    return _budget if enclosing is None else enclosing


@contextlib.contextmanager
def enclosing(nbytes: int) -> Iterator[None]:
    """Run the body as a differentiation of budget `nbytes`, which nested ones inherit."""
    token = _enclosing.set(nbytes)
    try:
        yield
    finally:
        _enclosing.reset(token)


def _size(nbytes: int) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit} ({nbytes:,} bytes)"
    return f"{nbytes:,} bytes"


def refuse_larger(what: str, numbers: int, nbytes: int, budget: int, advice: str) -> None:
    """Raise `MemoryBudgetError` when an answer of `numbers` numbers, `nbytes` bytes, is larger
    than `budget`; `what` names the call, `advice` says what to compute instead."""
    if nbytes > budget:
        raise MemoryBudgetError(
            f"{what} would return {numbers:,} numbers, {_size(nbytes)}, more than its memory "
            f"budget of {_size(budget)}. {advice}; or, if the machine has the memory, pass a "
            "larger memory_budget= (or call dualgrad.set_memory_budget).", nbytes, budget)


def plan(directions: int, per_direction: int, reserved: int, budget: int) -> int:
    """Directions per pass so that one pass (`per_direction` bytes each, and as much again for
    the values f computes) and the `reserved` bytes of the answer fit in `budget`; one at
    least, since a pass cannot carry less."""
    room = budget - reserved
    return max(1, min(directions, room // max(per_direction, 1) - 1))
