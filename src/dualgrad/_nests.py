"""Arguments that nest recorded arrays in lists, tuples and dicts (np.concatenate([a, b]),
x[i, mask]): finding them, and the equation's function that fills them back in at replay."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["HOLE", "Nested", "fill", "find", "has_tracer", "untraced"]


def find(x: Any, into: list[Any], kind: type) -> None:
    """The arrays of type `kind` (recorded arrays) in `x`, a nest of lists, tuples and dicts,
    appended to `into` in order."""
    if type(x) is kind:
        into.append(x)
    elif type(x) in (list, tuple):
        for item in x:
            find(item, into, kind)
    elif type(x) is dict:
        for item in x.values():
            find(item, into, kind)


HOLE = object()  # where a recorded array goes in a nest of arguments


def fill(x: Any, values: Sequence[Any], at: list[int]) -> Any:
    """`x` with its holes replaced, in order, by `values` (`at` counts the ones used)."""
    if x is HOLE:
        at[0] += 1
        return values[at[0] - 1]
    if type(x) in (list, tuple):
        return type(x)(fill(item, values, at) for item in x)
    if type(x) is dict:
        return {k: fill(v, values, at) for k, v in x.items()}
    return x


class Nested:
    """An equation's function when some of its arguments sit inside lists, tuples or dicts
    (np.concatenate([a, b]), x[i, mask]): called with the flat list of recorded arrays."""

    __slots__ = ("args", "fn", "kwargs")

    def __init__(self, fn: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __call__(self, *values: Any) -> Any:
        at = [0]
        return self.fn(*fill(self.args, values, at), **fill(self.kwargs, values, at))


def has_tracer(x: Any, kind: type) -> bool:
    found: list[Any] = []
    find(x, found, kind)
    return bool(found)


def untraced(x: Any, kind: type) -> Any:
    """`x` with a hole for each array of type `kind`, which `fill` fills by position (the
    program keeps no recorded array, nor the value it holds)."""
    if type(x) is kind:
        return HOLE
    if type(x) in (list, tuple):
        return type(x)(untraced(item, kind) for item in x)
    if type(x) is dict:
        return {k: untraced(v, kind) for k, v in x.items()}
    return x
