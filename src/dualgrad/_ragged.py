"""Recorded results whose shape depends on values (``x[mask]``, ``np.unique(x)``), and those
computed from them: a program replays them at whatever shape new values give. Where Python
read such a shape while the program was recorded, the program holds for that shape alone (it
may have become a constant, a count, a loop's length): the shape is a guard that a replay and
a refold check (see `_trace.Program`).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ragged"]

# NumPy's functions whose results have a shape set by their arguments' values
_BY_VALUE = frozenset({
    np.unique, np.nonzero, np.argwhere, np.flatnonzero, np.compress, np.extract,
    np.setdiff1d, np.intersect1d, np.union1d, np.setxor1d, np.trim_zeros,
})


def ragged(trace: Any, what: Any, ins: Sequence[int]) -> bool:
    """Whether the result of `what` on the slots `ins` of `trace` (a `_Trace`) has a shape
    that depends on values: one of its arguments' has, or it selects by values (an index
    holding a boolean array the recording computed or was given, a function of
    `_BY_VALUE`, a one-argument ``np.where``)."""
    if any(i in trace.ragged for i in ins):
        return True
    if what in _BY_VALUE or (what is np.where and len(ins) == 1):
        return True
    if what is operator.getitem:
        return any(_mask(trace.values[i]) and (i in trace.ops or i in trace.inputs)
                   for i in ins[1:])
    return False


def _mask(value: Any) -> bool:
    return type(value) is np.ndarray and value.dtype == np.bool_ and value.ndim > 0
