"""Zero tangents stay zero: one infinite slope must not make other directions NaN.

A rule multiplies its tangent by a slope. Along a direction whose tangent is exactly zero the
contribution is zero whatever the slope, but IEEE arithmetic gives ``0 * inf = NaN``:
``grad(lambda v: sum(sqrt(v)))`` at ``[0, 1, 4]`` would be ``[inf, nan, nan]`` instead of
``[inf, 0.5, 0.25]``. The rule of ForwardDiff.jl's NaN-safe mode mends it: a zero tangent times
anything, infinite or NaN, is zero.

Applying that rule to every contribution costs a check per primitive application (about a
microsecond: 10-25% of a workload of small arrays), so it is applied only where it can matter.
A differentiation pass runs under a watch that notes whether NumPy met an invalid operation
(``0 * inf``, ``inf - inf``, ``0 / 0``), and its tangents are looked at for NaN (a NaN constant
inside f, or an invalid operation under the caller's own error state, raise no flag here). When
neither shows, the pass stands, at the cost of one error-state switch and one look at its
tangents. Otherwise the pass runs again as a *repairing* pass, its tag in `REPAIRING`: every
primitive of that tag uses its reference rules and mends each contribution with `nan_safe`. A
pass whose inputs hold NaN repairs from the start.

Only a zero *tangent* is trusted to make a product zero. A zero slope times an infinite tangent
stays NaN: ``d/dv sqrt(v) ** 2`` at 0 is 1 (one-sided), and a rule that made it 0 would turn an
honest NaN into a wrong number.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

__all__ = ["REPAIRING", "has_nan", "keeping_zeros", "nan_safe", "nan_safe_joint", "signal_nan"]

R = TypeVar("R")

# The tags of the differentiations being repaired (tags are unique, so threads never share one).
REPAIRING: set[int] = set()

# Whether differentiations watch for invalid operations and repair (benchmarks compare both).
ENABLED = True

_local = threading.local()


class _Watch:
    """Notes whether NumPy met an invalid operation while it is entered. Inner watches (nested
    differentiations) also tell the outer ones: their operations are the outer pass's too.

    NumPy reports through one callback for every kind of error set to "call"; a caller who
    set another kind to "call" or "log" is told of it by the pass run again under their own
    error state, as they are of everything else."""

    __slots__ = ("_state", "seen")

    def __init__(self) -> None:
        self.seen = False

    def __enter__(self) -> _Watch:
        try:
            _local.stack.append(self)
        except AttributeError:
            _local.stack = [self]
        self._state = np.errstate(invalid="call", call=_seen)
        self._state.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._state.__exit__(*exc)
        _local.stack.pop()


def _seen(kind: str, flag: int) -> None:
    for watch in _local.stack:
        watch.seen = True


def keeping_zeros(run: Callable[[int], tuple[R, list[tuple[Any, Any]]]],
                  new_tag: Callable[[], int], repair: bool = False
                  ) -> tuple[R, list[tuple[Any, Any]]]:
    """``run(tag)``, a differentiation pass under a fresh tag giving ``(out, [(value, tangent),
    ...])``, whose zero tangents stay zero: run again as a repairing pass when NumPy met an
    invalid operation or a tangent came out NaN (which also catches NaN constants inside f and
    a caller's own error state), or repairing from the start with `repair` (its inputs hold
    NaN: see `has_nan`)."""
    if not ENABLED:
        return run(new_tag())
    if not repair:
        with _Watch() as watch:
            result = run(new_tag())
        if not watch.seen and not has_nan([t for _, t in result[1]]):
            return result
        del result
    tag = new_tag()
    REPAIRING.add(tag)
    try:
        result = run(tag)
    finally:
        REPAIRING.discard(tag)
    signal_nan(result[1])
    return result


def has_nan(inputs: Sequence[Any], outer: bool = True) -> bool:
    """Whether one of `inputs` (arrays, numbers, Variables) holds NaN, in its value or, with
    `outer`, in the tangents of outer differentiations that a Variable carries."""
    for x in inputs:
        if hasattr(x, "primal"):  # a Variable: its value, and its tangents at every level
            t = x._tangent
            if t is not None and not isinstance(t, np.ndarray) and hasattr(t, "rows"):
                t = t.data  # a compact tangent: the rows it stores, never made dense here
            if has_nan([x.value, t] if outer else [x.primal()], outer):
                return True
        elif isinstance(x, np.ndarray):
            if x.dtype.kind == "f" and np.isnan(x).any():
                return True
        elif isinstance(x, float) and x != x:
            return True
    return False


def nan_safe(c: Any, t: Any, elementwise: bool) -> Any:
    """The contribution `c` of tangent `t` with NaN made 0 wherever t is 0: a zero tangent
    times any slope, infinite or NaN, is zero. Entry by entry for an elementwise rule (each
    entry of c is an entry of t times a slope); otherwise by whole directions, whose
    contribution is zero when the direction's tangent is, since a rule is linear in t."""
    if type(t) is not np.ndarray:
        return c  # a tangent carrying an outer level's tangents: left as it is
    if elementwise:
        zero = t == 0
    else:
        zero = ~t.reshape(t.shape[0], -1).any(axis=1)
        zero = zero.reshape(zero.shape + (1,) * (np.ndim(c) - 1))
    if type(c) is not np.ndarray:
        # a contribution carrying an outer level's tangents (a second derivative): where t is 0
        # the contribution is 0 at every level, so select 0 there, tangents included (NumPy's
        # where dispatches to the primitive)
        return np.where(zero, 0.0, c) if zero.any() else c
    nan = np.isnan(c)
    if not nan.any():
        return c
    return np.where(nan & zero, 0.0, c)


def nan_safe_joint(c: Any, tangents: Sequence[Any]) -> Any:
    """`nan_safe` for a joint rule: the directions along which every tangent is zero."""
    if type(c) is not np.ndarray or any(type(t) is not np.ndarray for t in tangents
                                        if t is not None):
        return c
    zero = None
    for t in tangents:
        if t is not None:
            z = ~t.reshape(t.shape[0], -1).any(axis=1)
            zero = z if zero is None else zero & z
    if zero is None or not zero.any():
        return c
    return np.where(zero.reshape(zero.shape + (1,) * (c.ndim - 1)) & np.isnan(c), 0.0, c)


def signal_nan(parts: list[tuple[Any, Any]]) -> None:
    """After a repairing pass: a NaN that remains in a derivative (a NaN slope along a nonzero
    tangent, inf - inf) is reported the way NumPy's error state asks for invalid values, as
    the unrepaired pass would have; unless the value is NaN too, which NumPy reported already.
    Outer differentiations' tangents are theirs to report."""
    if not any(has_nan([t], False) and not has_nan([v], False) for v, t in parts):
        return
    mode = np.geterr()["invalid"]
    message = "invalid value (NaN) in a derivative"
    if mode == "raise":
        raise FloatingPointError(message)
    if mode != "ignore":
        warnings.warn(message, RuntimeWarning, stacklevel=4)
