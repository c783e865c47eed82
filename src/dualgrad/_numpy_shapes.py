"""NumPy's rearrangements with NumPy's signatures: axes moved, entries repeated, picked,
reordered, padded, joined and split.

Every one moves entries without scaling them, so each is written with the shaping primitives:
transposes and slices where NumPy makes views, and otherwise one gather, ``flat[positions]``,
where `positions` is NumPy's own function applied to the array of flat positions
(``np.roll(np.arange(a.size).reshape(a.shape), 1)`` says where each entry of ``np.roll(a, 1)``
comes from). The gather's rule is indexing, whose transpose is a scatter-add, so reverse mode
has them all too. Entries that NumPy fills (``np.pad``'s constant, ``np.tril``'s zeros) are
selected with a constant mask (``where``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._numpy_values import as_array
from .primitives import elementwise, shaping

__all__ = [
    "append", "array_split", "atleast_1d", "atleast_2d", "atleast_3d", "column_stack",
    "diag", "diagonal", "dstack", "flip", "fliplr", "flipud", "hstack", "moveaxis", "pad",
    "repeat", "roll", "sort", "split", "swapaxes", "take", "take_along_axis", "tile", "tril",
    "triu", "vstack",
]


def _ndim(a: Any) -> int:
    return len(np.shape(a))


def _axis(axis: Any, ndim: int, name: str) -> int:
    """`axis` as a non-negative int, or NumPy's AxisError naming the function."""
    axis = operator.index(axis)
    if not -ndim <= axis < max(ndim, 1):
        raise np.exceptions.AxisError(axis, ndim, f"numpy.{name}")
    return int(axis % max(ndim, 1))


def _gather(a: Any, move: Callable[[np.ndarray], Any]) -> Any:
    """`a`'s entries where ``move(positions)`` says: flat[positions] (see the module doc)."""
    shape = np.shape(a)
    positions = np.asarray(move(np.arange(int(np.prod(shape)), dtype=np.intp).reshape(shape)))
    return shaping.getitem(shaping.reshape(a, shape=(-1,)), index=positions)


# ---- axes moved: transposes --------------------------------------------------------------------


def swapaxes(a: Any, axis1: Any, axis2: Any) -> Any:
    """numpy.swapaxes: the two axes exchanged."""
    a = as_array(a)
    n = _ndim(a)
    order = list(range(n))
    i, j = _axis(axis1, n, "swapaxes"), _axis(axis2, n, "swapaxes")
    order[i], order[j] = order[j], order[i]
    return shaping.transpose(a, axes=tuple(order))


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """numpy.moveaxis: axes `source` moved to positions `destination`, the others in order."""
    a = as_array(a)
    n = _ndim(a)
    src = [_axis(s, n, "moveaxis") for s in np.atleast_1d(source)]
    dst = [_axis(d, n, "moveaxis") for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("numpy.moveaxis: `source` and `destination` arguments must have the "
                         "same number of elements")
    order = [k for k in range(n) if k not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return shaping.transpose(a, axes=tuple(order))


# ---- entries reversed: slices ------------------------------------------------------------------


def flip(m: Any, axis: Any = None) -> Any:
    """numpy.flip: the order of entries reversed along `axis` (every axis when None)."""
    m = as_array(m)
    n = _ndim(m)
    axes = range(n) if axis is None else {_axis(x, n, "flip") for x in np.atleast_1d(axis)}
    index = tuple(slice(None, None, -1) if k in axes else slice(None) for k in range(n))
    return shaping.getitem(m, index=index)


def flipud(m: Any) -> Any:
    """numpy.flipud: rows reversed (axis 0)."""
    return flip(m, 0)


def fliplr(m: Any) -> Any:
    """numpy.fliplr: columns reversed (axis 1)."""
    return flip(m, 1)


# ---- entries moved, repeated or picked: gathers ------------------------------------------------


def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """numpy.roll: entries shifted along `axis` (the flattened array when None), wrapping."""
    return _gather(as_array(a), lambda p: np.roll(p, shift, axis))


def repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    """numpy.repeat: each entry repeated `repeats` times (the flattened array when no axis)."""
    return _gather(as_array(a), lambda p: np.repeat(p, repeats, axis))


def tile(A: Any, reps: Any) -> Any:  # noqa: N803 - NumPy's name
    """numpy.tile: the array repeated `reps` times along each axis."""
    return _gather(as_array(A), lambda p: np.tile(p, reps))


def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: Any = "raise") -> Any:
    """numpy.take: entries at `indices` along `axis` (of the flattened array when None)."""
    if out is not None:
        raise NotImplementedError("numpy.take on a dualgrad Variable does not support out; "
                                  "call it without it")
    return _gather(as_array(a), lambda p: np.take(p, indices, axis, mode=mode))


def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    """numpy.take_along_axis: entries picked by `indices`, matched index by index along
    `axis` (as argsort's and argmax's results are)."""
    return _gather(as_array(arr), lambda p: np.take_along_axis(p, indices, axis))


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """numpy.diagonal: the diagonal at `offset` of the planes (axis1, axis2), as the last axis."""
    return _gather(as_array(a), lambda p: np.diagonal(p, offset, axis1, axis2))


def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, **unsupported: Any
         ) -> Any:
    """numpy.sort: entries in ascending order along `axis` (the flattened array when None).

    Each entry carries its own tangent to where it lands (the permutation is piecewise
    constant); tied entries are kept in their order (a stable sort), so a tie's tangents are
    not mixed.
    """
    if order is not None or unsupported:
        raise NotImplementedError("numpy.sort on a dualgrad Variable does not support order= "
                                  "(structured arrays) or other options; call it without them")
    a = as_array(a)
    if axis is None:
        a, axis = shaping.reshape(a, shape=(-1,)), -1
    values = elementwise._primal(a)
    ranks = np.argsort(values, axis=axis, kind="stable")
    return _gather(a, lambda p: np.take_along_axis(p, ranks, axis))


# ---- entries filled in: constant masks ---------------------------------------------------------


def diag(v: Any, k: int = 0) -> Any:
    """numpy.diag: a 1-D `v` set on diagonal `k` of a square matrix of zeros, or the diagonal
    `k` of a 2-D `v`."""
    v = as_array(v)
    n = _ndim(v)
    if n == 2:
        return diagonal(v, k)
    if n != 1:
        raise ValueError(f"numpy.diag takes a 1-D or 2-D array, got {n}-D")
    # entry (i, j) of the result comes from v[from_[i, j] - 1], where from_ is 0 off the diagonal
    from_ = np.diag(np.arange(1, np.shape(v)[0] + 1), k)
    picked = shaping.getitem(v, index=np.maximum(from_ - 1, 0))
    return elementwise.where(from_ > 0, picked, 0.0)


def _triangle(m: Any, k: int, keep: Callable[..., np.ndarray]) -> Any:
    m = as_array(m)
    shape = np.shape(m)
    if len(shape) < 2:  # NumPy treats a vector as the row of a square matrix
        m = shaping.broadcast_to(m, shape=(shape[0], shape[0]) if shape else (1, 1))
        shape = np.shape(m)
    return elementwise.where(keep(np.ones(shape[-2:], dtype=bool), k), m, 0.0)


def tril(m: Any, k: int = 0) -> Any:
    """numpy.tril: the entries on and below diagonal `k` of the last two axes, 0 above."""
    return _triangle(m, k, np.tril)


def triu(m: Any, k: int = 0) -> Any:
    """numpy.triu: the entries on and above diagonal `k` of the last two axes, 0 below."""
    return _triangle(m, k, np.triu)


_COPYING_MODES = ("edge", "reflect", "symmetric", "wrap")


def pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    """numpy.pad in the modes that copy entries or add a constant: 'constant' (with
    `constant_values`, differentiable too), 'edge', 'reflect', 'symmetric' and 'wrap'."""
    array = as_array(array)
    if mode in _COPYING_MODES:
        if kwargs.get("reflect_type", "even") != "even":
            # odd reflection computes 2 * edge - entry: no longer a copy of entries
            raise NotImplementedError(
                f"numpy.pad(mode={mode!r}, reflect_type={kwargs['reflect_type']!r}) on a "
                "dualgrad Variable is not supported; use reflect_type='even' (the default), or "
                "build the odd reflection as 2 * edge - np.pad(x, ..., mode=...)")
        return _gather(array, lambda p: np.pad(p, pad_width, mode=mode, **kwargs))
    if mode != "constant":
        raise NotImplementedError(
            f"numpy.pad on a dualgrad Variable supports the modes 'constant', "
            f"{', '.join(map(repr, _COPYING_MODES))}; got mode={mode!r}")
    constant = kwargs.pop("constant_values", 0.0)
    if kwargs:
        raise NotImplementedError(f"numpy.pad(mode='constant') on a dualgrad Variable takes "
                                  f"constant_values only, got {', '.join(kwargs)}")
    if np.ndim(elementwise._primal(constant)) != 0:
        raise NotImplementedError("numpy.pad on a dualgrad Variable takes one constant_values "
                                  "number; pad each side with np.concatenate for others")
    # positions shifted by one, so that the padding (0) tells itself apart
    shape = np.shape(array)
    from_ = np.pad(np.arange(1, int(np.prod(shape)) + 1).reshape(shape), pad_width)
    picked = shaping.getitem(shaping.reshape(array, shape=(-1,)), index=np.maximum(from_ - 1, 0))
    return elementwise.where(from_ > 0, picked, constant)


# ---- arrays given a least rank: reshapes -------------------------------------------------------


def _at_least(arys: Sequence[Any], rank: int, where: Callable[[tuple[int, ...]],
                                                              tuple[int, ...]]) -> Any:
    out = []
    for a in map(as_array, arys):
        shape = np.shape(a)
        out.append(a if len(shape) >= rank else shaping.reshape(a, shape=where(shape)))
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys: Any) -> Any:
    """numpy.atleast_1d: scalars become arrays of shape (1,)."""
    return _at_least(arys, 1, lambda s: (1,))


def atleast_2d(*arys: Any) -> Any:
    """numpy.atleast_2d: () becomes (1, 1) and (n,) becomes (1, n)."""
    return _at_least(arys, 2, lambda s: (1, *s, *(1,) * (1 - len(s))))


def atleast_3d(*arys: Any) -> Any:
    """numpy.atleast_3d: () becomes (1, 1, 1), (n,) becomes (1, n, 1), (m, n) (m, n, 1)."""
    return _at_least(arys, 3, lambda s: {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}[len(s)])


# ---- joined and split ----------------------------------------------------------------------------


def _joined(tup: Sequence[Any], axis: int) -> Any:
    return shaping.concatenate(*tup, axis=axis)


def vstack(tup: Sequence[Any], **unsupported: Any) -> Any:
    """numpy.vstack: arrays joined as rows (1-D arrays become rows)."""
    _no_options("vstack", unsupported)
    return _joined([atleast_2d(a) for a in tup], 0)


def hstack(tup: Sequence[Any], **unsupported: Any) -> Any:
    """numpy.hstack: arrays joined as columns (1-D arrays end to end)."""
    _no_options("hstack", unsupported)
    arrays = [atleast_1d(a) for a in tup]
    return _joined(arrays, 0 if arrays and _ndim(arrays[0]) == 1 else 1)


def dstack(tup: Sequence[Any]) -> Any:
    """numpy.dstack: arrays joined along a third axis."""
    return _joined([atleast_3d(a) for a in tup], 2)


def column_stack(tup: Sequence[Any]) -> Any:
    """numpy.column_stack: 1-D arrays as columns, 2-D ones as they are, joined side by side."""
    columns = []
    for a in map(as_array, tup):
        if _ndim(a) < 2:
            a = shaping.reshape(a, shape=(-1, 1))
        columns.append(a)
    return _joined(columns, 1)


def append(arr: Any, values: Any, axis: Any = None) -> Any:
    """numpy.append: `values` after `arr`, flattened both when `axis` is None."""
    arr, values = as_array(arr), as_array(values)
    if axis is None:
        return shaping.concatenate(shaping.reshape(arr, shape=(-1,)),
                                   shaping.reshape(values, shape=(-1,)), axis=0)
    return shaping.concatenate(arr, values, axis=operator.index(axis))


def _pieces(ary: Any, bounds: list[np.ndarray], axis: int) -> list[Any]:
    n = _ndim(ary)
    axis = _axis(axis, n, "split")
    out = []
    for piece in bounds:  # each piece's own positions: the indices need not increase
        where = slice(int(piece[0]), int(piece[-1]) + 1) if len(piece) else slice(0, 0)
        out.append(shaping.getitem(ary, index=(slice(None),) * axis + (where,)))
    return out


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """numpy.split: equal sections, or pieces between the given indices, along `axis`."""
    ary = as_array(ary)
    length = np.shape(ary)[_axis(axis, _ndim(ary), "split")]
    return _pieces(ary, np.split(np.arange(length), indices_or_sections), axis)


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """numpy.array_split: as split, sections of unequal sizes allowed."""
    ary = as_array(ary)
    length = np.shape(ary)[_axis(axis, _ndim(ary), "array_split")]
    return _pieces(ary, np.array_split(np.arange(length), indices_or_sections), axis)


def _no_options(name: str, options: dict[str, Any]) -> None:
    given = [k for k, v in options.items() if v is not None]
    if given:
        raise NotImplementedError(f"numpy.{name} on a dualgrad Variable does not support "
                                  f"{', '.join(given)}; call it without them")
