"""Reshaping, transposing, indexing and joining.

Their rules move tangent entries and never scale them: each applies the same operation to the
tangent, behind its direction axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._core import Primitive, align
from . import _numpy as np  # NumPy bound at import: see _numpy


def _reshaped(t: Any, out: Any, x: Any, **params: Any) -> Any:
    """The tangent of a primitive that only reshapes: t with the output's shape."""
    return t.reshape((t.shape[0], *out.shape))


reshape = Primitive("reshape", lambda x, shape: np.reshape(x, shape), _reshaped)

squeeze = Primitive("squeeze", lambda x, axis=None: np.squeeze(x, axis), _reshaped)

expand_dims = Primitive("expand_dims", lambda x, axis: np.expand_dims(x, axis), _reshaped)


def _transpose_tangent(t: Any, out: Any, x: Any, axes: Sequence[int] | None = None) -> Any:
    n = x.ndim
    order = range(n - 1, -1, -1) if axes is None else (int(a) % n for a in axes)
    return t.transpose((0, *(a + 1 for a in order)))


transpose = Primitive("transpose", lambda x, axes=None: np.transpose(x, axes),
                      _transpose_tangent)


def _is_basic(part: Any) -> bool:
    """An index component that NumPy applies as a view: an int, a slice, None or Ellipsis."""
    return part is None or part is Ellipsis or isinstance(part, slice) or (
        isinstance(part, (int, np.integer)) and not isinstance(part, bool))


def _index_tangent(t: Any, out: Any, x: Any, index: Any) -> Any:
    parts = index if isinstance(index, tuple) else (index,)
    if all(_is_basic(part) for part in parts):
        return t[(slice(None), *parts)]
    # Advanced indices separated by a slice put their broadcast axes first, in front of the
    # direction axis a prefixed slice would add; so pick entries by their flat positions, a
    # single advanced index on axis 1 that keeps the direction axis in front.
    positions = np.arange(x.size).reshape(x.shape)[index]
    return t.reshape((t.shape[0], -1))[:, positions]


getitem = Primitive("getitem", lambda x, index: x[index], _index_tangent)

broadcast_to = Primitive(
    "broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
    lambda t, out, x, shape: np.broadcast_to(align(t, len(out.shape)),
                                             (t.shape[0], *out.shape)))


def _filled(tangents: Sequence[Any], args: Sequence[Any]) -> list[Any]:
    """Tangents of every argument, zeros standing in for the constants."""
    directions = next(t.shape[0] for t in tangents if t is not None)
    return [np.zeros((directions, *np.shape(a))) if t is None else t
            for t, a in zip(tangents, args)]


def _concatenate(*xs: Any, axis: int | None = 0) -> Any:
    return np.concatenate(xs, axis=axis)


def _concatenate_tangent(tangents: Sequence[Any], out: Any, *xs: Any,
                         axis: int | None = 0) -> Any:
    ts = _filled(tangents, xs)
    if axis is None:
        return np.concatenate([t.reshape((t.shape[0], -1)) for t in ts], axis=1)
    return np.concatenate(ts, axis=axis + 1 if axis >= 0 else axis)


concatenate = Primitive("concatenate", _concatenate, joint=_concatenate_tangent)


def _stack(*xs: Any, axis: int = 0) -> Any:
    return np.stack(xs, axis=axis)


def _stack_tangent(tangents: Sequence[Any], out: Any, *xs: Any, axis: int = 0) -> Any:
    return np.stack(_filled(tangents, xs), axis=axis + 1 if axis >= 0 else axis)


stack = Primitive("stack", _stack, joint=_stack_tangent)
