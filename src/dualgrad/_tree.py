"""Outputs that are (nested) tuples or lists of arrays: their leaves, and rebuilding them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["leaves", "rebuild"]


def leaves(out: Any) -> list[Any]:
    """The arrays of an output that may be a (nested) tuple or list of them."""
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in leaves(o)]
    return [out]


def rebuild(like: Any, leaves: Iterator[Any]) -> Any:
    """`like`'s tuples and lists, filled with the next items of `leaves` in `leaves` order."""
    if isinstance(like, (tuple, list)):
        parts = [rebuild(o, leaves) for o in like]
        return tuple(parts) if isinstance(like, tuple) else parts
    return next(leaves)
