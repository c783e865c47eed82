"""Unit seeds: tangents known to be one-hot, so rules can skip the arithmetic on their zeros.

A gradient seeds direction k with the unit vector of one scalar parameter. Written out densely
such a tangent is almost all zeros, and a product like ``x @ t`` with a weight's tangent costs a
full matrix product per direction where a copy of one column of x gives the same numbers. The
code that builds seeds marks them here; a rule that knows the structure (the affine layer's)
asks for it, and every other rule sees an ordinary array.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

_OFFSETS: dict[int, int] = {}


def mark(t: np.ndarray, offset: int) -> np.ndarray:
    """Record that direction k of `t` is the unit vector of flat element ``k - offset`` of the
    value (zero where that element does not exist). Returns `t`."""
    key = id(t)
    _OFFSETS[key] = offset
    weakref.finalize(t, _OFFSETS.pop, key, None)
    return t


def offset(t: Any) -> int | None:
    """The offset `t` was marked with, or None for an ordinary tangent."""
    return _OFFSETS.get(id(t))


# ---- frozen data: tangents that depend on the data alone are computed once -------------------

_MEMOS: dict[int, dict[Any, tuple[Any, ...]]] = {}

# what one frozen array may keep: a few tangents, none larger than this
_MEMO_ENTRIES = 4
_MEMO_BYTES = 64 * 2**20


def freeze(x: np.ndarray) -> np.ndarray:
    """Declare that `x` keeps its values for as long as it lives, and make it read-only, so
    rules may keep tangents computed from x alone (a dense layer's seeded tangent on a training
    batch) and reuse them on the next step. Only for arrays whose memory nobody else can write:
    a model's private copy of its data, or views of it. Returns `x`."""
    key = id(x)
    if key not in _MEMOS:
        x.flags.writeable = False
        _MEMOS[key] = {}
        weakref.finalize(x, _MEMOS.pop, key, None)
    return x


def memo(x: Any) -> dict[Any, tuple[Any, ...]] | None:
    """The store of tangents kept for the frozen array `x`, or None if x is not frozen."""
    return _MEMOS.get(id(x))


def remember(store: dict[Any, tuple[Any, ...]], key: Any, tangent: np.ndarray,
             *alive: Any) -> None:
    """Keep `tangent` in a frozen array's store as ``(tangent, *alive)``, read-only (every user
    shares it), unless the store is full or the tangent too large to keep. The objects `alive`
    are kept alive with it, so that a key made of their ids cannot be taken by other objects."""
    tangent.flags.writeable = False
    if len(store) < _MEMO_ENTRIES and tangent.nbytes <= _MEMO_BYTES:
        store[key] = (tangent, *alive)


def add_product(acc: np.ndarray, x: np.ndarray, offset: int, units: int) -> None:
    """acc += x @ t for a unit-seeded weight tangent t of shape (T, d, units), x of shape (N, d):
    direction k puts column i of x into output unit j, where k - offset = i * units + j."""
    d = x.shape[1]
    # the directions lo..hi of this chunk that fall on the weight's elements
    lo = offset if offset > 0 else 0
    hi = min(acc.shape[0], offset + d * units)
    if lo >= hi:
        return
    if units == 1:
        acc[lo:hi, :, 0] += x[:, lo - offset:hi - offset].T
    elif lo == offset and hi == offset + d * units:
        # the whole weight: every units-th direction feeds output unit j, one slice per unit
        columns = x.T
        for j in range(units):
            acc[lo + j:hi:units, :, j] += columns
    else:
        flat = np.arange(lo - offset, hi - offset)
        acc[np.arange(lo, hi), :, flat % units] += x[:, flat // units].T


def add_bias(acc: np.ndarray, offset: int) -> None:
    """acc += t for a unit-seeded bias tangent t of shape (T, units), broadcast over the rows
    of acc, shape (T, N, units): direction k adds 1 to output unit k - offset."""
    units = acc.shape[2]
    # the directions lo..hi of this chunk that fall on the bias's elements
    lo = offset if offset > 0 else 0
    hi = min(acc.shape[0], offset + units)
    if lo >= hi:
        return
    if units == 1:
        acc[lo:hi, :, 0] += 1.0
    elif hi - lo <= _FEW:
        for k in range(lo, hi):
            acc[k, :, k - offset] += 1.0
    else:
        acc[np.arange(lo, hi), :, np.arange(lo - offset, hi - offset)] += 1.0


# below this many directions a loop of slices beats one fancy-indexed update
_FEW = 16
