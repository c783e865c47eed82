"""Zero tangents stay zero: one infinite slope must not make other directions NaN.

A rule multiplies its tangent by a slope. Along a direction whose tangent is exactly zero the
contribution is zero whatever the slope, but IEEE arithmetic gives ``0 * inf = NaN``:
``grad(lambda v: sum(sqrt(v)))`` at ``[0, 1, 4]`` would be ``[inf, nan, nan]`` instead of
``[inf, 0.5, 0.25]``. The rule of ForwardDiff.jl's NaN-safe mode mends it: a zero tangent times
anything, infinite or NaN, is zero.

Applying that rule to every contribution costs a check per primitive application (about a
microsecond: 10-25% of a workload of small arrays), so it is applied only where it can matter.
A differentiation pass runs under `watching`, which notes whether NumPy met an invalid operation
(``0 * inf``, ``inf - inf``, ``0 / 0``: the only ways a NaN is made). When none was met, no NaN
was made and the pass stands, at the cost of one error-state switch per pass. Otherwise the pass
runs again as a *repairing* pass, its tag in `REPAIRING`: every primitive of that tag uses its
reference rules and mends each contribution with `nan_safe`. NaN given as input raises no flag,
so a pass whose inputs hold NaN repairs from the start.
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


def keeping_zeros(run: Callable[[int], R], new_tag: Callable[[], int], repair: bool = False
                  ) -> R:
    """``run(tag)``, a differentiation pass under a fresh tag, whose zero tangents stay zero: run
    again as a repairing pass when NumPy met an invalid operation, or repairing from the start
    with `repair` (its inputs hold NaN: see `has_nan`)."""
    if not ENABLED:
        return run(new_tag())
    if not repair:
        with _Watch() as watch:
            result = run(new_tag())
        if not watch.seen:
            return result
        del result
    tag = new_tag()
    REPAIRING.add(tag)
    try:
        return run(tag)
    finally:
        REPAIRING.discard(tag)


def has_nan(inputs: Sequence[Any]) -> bool:
    """Whether one of `inputs` (arrays, numbers, Variables) holds NaN."""
    for x in inputs:
        if hasattr(x, "primal"):  # a Variable of an outer differentiation
            x = x.primal()
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and np.isnan(x).any():
            return True
        if isinstance(x, float) and x != x:
            return True
    return False


def nan_safe(c: Any, t: Any, elementwise: bool, rule: Callable[..., Any] | None = None,
             args: tuple[Any, ...] = (), params: dict[str, Any] | None = None) -> Any:
    """The contribution `c` of tangent `t` with NaN made 0 where it is a product of a zero and
    anything, infinite or NaN. For an elementwise rule, entry by entry: where t is 0, or where
    the slope is (the `rule`, called with `args` and `params` on a tangent of ones, gives the
    slope itself: a rule is linear in t). Otherwise by whole directions, whose contribution is
    zero when the direction's tangent is."""
    if type(c) is not np.ndarray or type(t) is not np.ndarray:
        return c  # tangents of an outer level (higher derivatives) are left as they are
    nan = np.isnan(c)
    if not nan.any():
        return c
    if elementwise:
        zero = t == 0
        if rule is not None and not (zero | ~nan).all():  # a NaN where t is not 0
            slope = rule(np.ones((1, *t.shape[1:]), dtype=t.dtype), *args, **(params or {}))
            if type(slope) is np.ndarray:
                zero = zero | (slope == 0)
    else:
        zero = ~t.reshape(t.shape[0], -1).any(axis=1)
        zero = zero.reshape(zero.shape + (1,) * (c.ndim - 1))
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


def signal_nan(name: str, value: Any, tangent: Any) -> None:
    """After a repaired application: a NaN that remains in the tangent (a NaN slope along a
    nonzero tangent, inf - inf) is reported the way NumPy's error state asks for invalid
    values, as the unrepaired pass would have; unless the value is NaN there too, which NumPy
    reported already."""
    if type(tangent) is not np.ndarray or not np.isnan(tangent).any():
        return
    if type(value) is np.ndarray and np.isnan(value).any():
        return
    mode = np.geterr()["invalid"]
    message = f"invalid value (NaN) in the tangent of {name}"
    if mode == "raise":
        raise FloatingPointError(message)
    if mode != "ignore":
        warnings.warn(message, RuntimeWarning, stacklevel=4)
