"""Reshaping, transposing, indexing and joining.

Their rules move tangent entries and never scale them: each applies the same operation to the
tangent, behind its direction axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._core import Primitive, Specialisations, align
from .._rows import Rows, directions_of, run
from . import _numpy as np  # NumPy bound at import: see _numpy

# every rule here treats the direction axis as a batch axis: it may run on compact tangents
_ON_ROWS = Specialisations(rows=True)


def _reshaped(t: Any, out: Any, x: Any, **params: Any) -> Any:
    """The tangent of a primitive that only reshapes: t with the output's shape."""
    return t.reshape((t.shape[0], *out.shape))


def _reshaped_units(t: Rows, out: Any, x: Any, **params: Any) -> Rows:
    """Unit seeds reshaped: the elements keep their order, so they stay unit seeds."""
    return Rows(t.data.reshape((t.data.shape[0], *out.shape)), t.rows, t.total, t.unit)


_RESHAPES = Specialisations(rows=True, unit_map=_reshaped_units)

reshape = Primitive("reshape", lambda x, shape: np.reshape(x, shape), _reshaped,
                    special=_RESHAPES)

squeeze = Primitive("squeeze", lambda x, axis=None: np.squeeze(x, axis), _reshaped,
                    special=_RESHAPES)

expand_dims = Primitive("expand_dims", lambda x, axis: np.expand_dims(x, axis), _reshaped,
                        special=_RESHAPES)


def _transpose_tangent(t: Any, out: Any, x: Any, axes: Sequence[int] | None = None) -> Any:
    n = x.ndim
    order = range(n - 1, -1, -1) if axes is None else (int(a) % n for a in axes)
    return t.transpose((0, *(a + 1 for a in order)))


transpose = Primitive("transpose", lambda x, axes=None: np.transpose(x, axes),
                      _transpose_tangent, special=_ON_ROWS)


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


def _indexed_units(t: Rows, out: Any, x: Any, index: Any) -> Rows | None:
    """The elements of unit seeds picked by `index`, restricted to the directions they carry;
    None when that is all of them or none, where the rule serves."""
    if t.rows is None and x.ndim == 1 and isinstance(index, (int, np.integer)) \
            and not isinstance(index, (bool, np.bool_)) and -x.shape[0] <= index < x.shape[0]:
        # one element of a vector of unit seeds (v[0]): one direction, itself a unit seed
        k = int(index) % x.shape[0] + t.unit
        if not 0 <= k < t.total:
            return None
        return Rows(t.data[k:k + 1, index], np.array([k]), t.total, k)
    # the direction of each picked element: its flat position in x, shifted
    directions = np.arange(x.size).reshape(x.shape)[index].reshape(-1) + t.unit
    rows, unit = directions_of(directions, t.total)
    if rows is None:
        if unit is None or t.rows is not None:
            return None
        # every direction, in order (x[:], x[...]): still unit seeds
        return Rows(_index_tangent(t.data, out, x, index), None, t.total, unit)
    # the seed's rows for those directions, then the rule: views for basic indices
    at = rows if t.rows is None else np.searchsorted(t.rows, rows)
    where = run(at)
    seeds = t.data[at if where is None else where]
    return Rows(_index_tangent(seeds, out, x, index), rows, t.total, unit)


getitem = Primitive("getitem", lambda x, index: x[index], _index_tangent,
                    special=Specialisations(rows=True, unit_map=_indexed_units))

broadcast_to = Primitive(
    "broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
    lambda t, out, x, shape: np.broadcast_to(align(t, len(out.shape)),
                                             (t.shape[0], *out.shape)), special=_ON_ROWS)


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


concatenate = Primitive("concatenate", _concatenate, joint=_concatenate_tangent, special=_ON_ROWS)


def _stack(*xs: Any, axis: int = 0) -> Any:
    return np.stack(xs, axis=axis)


def _stack_tangent(tangents: Sequence[Any], out: Any, *xs: Any, axis: int = 0) -> Any:
    return np.stack(_filled(tangents, xs), axis=axis + 1 if axis >= 0 else axis)


stack = Primitive("stack", _stack, joint=_stack_tangent, special=_ON_ROWS)

PRIMITIVES = (reshape, squeeze, expand_dims, transpose, getitem, broadcast_to, concatenate,
              stack)
