"""Direction-sparse tangents: a tangent stored by the directions (rows) it can touch.

Inside the engine a plain-array tangent may be stored compactly, as a `Rows`: only the
directions that can be nonzero, every other one known to be zero. ``v[0]`` of an input seeded
with the identity touches one direction of T, and its tangent is one row instead of T. Unit
seeds (`Rows.unit`) are the one representation of seeded inputs: grad, jacobian and the
Model's gradient build them, and a primitive's declared specialisations may read them. The
public `Variable.tangent` always gives the dense ``(T, *value.shape)`` array.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["SMALL_DENSE", "Rows", "combine", "common_rows", "directions_of", "keeps", "positions",
           "put", "run", "spread", "stored_rows", "union_of", "unit_seeds"]

# a sum of compact tangents with at most this many numbers in dense form is stored dense: below
# it, finding unions of rows costs more than the zeros it saves (a loop over the scalars of a
# long vector would otherwise grow a union a row at a time)
SMALL_DENSE = 4096


def run(at: Any) -> slice | None:
    """Positions that are one run as a slice (all of them: the whole axis); None otherwise."""
    if at is None:
        return slice(None)
    lo = int(at[0])
    return slice(lo, lo + len(at)) if int(at[-1]) - lo + 1 == len(at) else None


class Rows:
    """A tangent stored by the directions it can touch: ``data[i]`` is the tangent along
    direction ``rows[i]``, and along every other of the `total` directions it is zero.

    `rows` are sorted, unique and fewer than `total`; `data`, shape ``(len(rows), *shape)``,
    is a plain float ndarray (a tangent that is a Variable always stays dense). `unit` marks unit
    seeds: direction k is the unit vector of flat element ``k - unit`` of the value (zero where
    that element does not exist). Unit seeds may cover every direction, with ``rows=None`` and
    `data` the dense tangent; indexing them gives compact tangents.
    """

    __slots__ = ("data", "rows", "total", "unit")

    def __init__(self, data: np.ndarray, rows: np.ndarray | None, total: int,
                 unit: int | None = None) -> None:
        self.data = data
        self.rows = rows
        self.total = total
        self.unit = unit

    def dense(self) -> np.ndarray:
        """The tangent with every direction, shape ``(total, *shape)``."""
        if self.rows is None:
            return self.data
        if len(self.rows) == 1:  # one direction (an element indexed out of a vector)
            out = np.zeros((self.total, *self.data.shape[1:]), dtype=self.data.dtype)
            out[int(self.rows[0])] = self.data[0]
            return out
        return spread(self.data, self.rows, None, self.total)


def unit_seeds(data: np.ndarray, rows: np.ndarray | None, total: int, unit: int) -> Rows:
    """Unit seeds, for the transformations that build them (see `Rows`)."""
    return Rows(data, rows, total, unit)


def stored_rows(v: Any) -> int | None:
    """How many directions `v`'s tangent is stored with when it is compact, None when dense
    (for tests that check the compact path is taken)."""
    t = getattr(v, "_tangent", None)
    return len(t.rows) if type(t) is Rows and t.rows is not None else None


def directions_of(directions: np.ndarray, total: int) -> tuple[np.ndarray | None, int | None]:
    """The sorted distinct directions among `directions` in 0..total-1, None when that is none
    or all of them; and, when they are one increasing run covering every element, its first
    direction (the elements are unit seeds again)."""
    size = directions.size
    if size == 0:
        return None, None
    first = int(directions[0])
    if first >= 0 and first + size <= total and (
            size == 1 or bool((np.diff(directions) == 1).all())):
        return (np.arange(first, first + size) if size < total else None), first
    rows = np.unique(directions[(directions >= 0) & (directions < total)])
    return (rows if 0 < len(rows) < total else None), None


def put(acc: np.ndarray, at: Any, c: Any, add: bool) -> None:
    """acc[at] = c, or += c; `at` are sorted unique positions on acc's first axis, None for
    all of them. A run of consecutive positions is written through a view."""
    if at is not None and len(at) == 0:
        return
    where = run(at)
    if where is None:
        where = at
    if add:
        acc[where] += c
    else:
        acc[where] = c


def spread(data: Any, rows: np.ndarray, union: np.ndarray | None, total: int) -> np.ndarray:
    """A compact tangent on `rows` spread onto the rows `union` (None: all `total` directions),
    zeros elsewhere."""
    size = total if union is None else len(union)
    out = np.zeros((size, *data.shape[1:]), dtype=data.dtype)
    put(out, rows if union is None else np.searchsorted(union, rows), data, add=False)
    return out


def common_rows(tangents: list[Any], directions: int, compact: bool
                 ) -> tuple[list[Any], Any, int]:
    """Tangents (some compact) on one row set, the union of theirs; dense when that is every
    direction, when one of them is dense, or when `compact` is false."""
    union: Any = None
    if compact:
        for t in tangents:
            if t is None:
                continue
            if type(t) is not Rows or t.rows is None:
                union = None
                break
            union = t.rows if union is None else union_of(union, t.rows)
    if union is None or len(union) == directions:
        return [t.dense() if type(t) is Rows else t for t in tangents], None, directions
    return [t if t is None else t.data if len(t.rows) == len(union)
            else spread(t.data, t.rows, union, directions) for t in tangents], union, directions


def union_of(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a is b or (len(a) == len(b) and np.array_equal(a, b)):
        return a
    if len(a) and len(b):  # rows are sorted and unique: two common cases need no sort
        if a[-1] < b[0]:  # disjoint, in order
            return np.concatenate((a, b))
        if b[-1] < a[0]:
            return np.concatenate((b, a))
        if len(b) > len(a):
            a, b = b, a
        if a[-1] - a[0] + 1 == len(a) and a[0] <= b[0] and b[-1] <= a[-1]:
            return a  # b lies within a, which is one run
    return np.union1d(a, b)


def keeps(acc: np.ndarray, c: np.ndarray) -> bool:
    """Whether ``acc += c`` gives the dtype of ``acc + c`` (a float16 tangent summed in place
    with a float64 one would round the sum to float16)."""
    return acc.dtype is c.dtype or np.promote_types(acc.dtype, c.dtype) == acc.dtype


def combine(acc: Any, rows: Any, fresh: bool, c: Any, r: Any, directions: int,
             shape: tuple[int, ...]) -> tuple[Any, Any, bool]:
    """acc + c for contributions restricted to different rows (None: all directions):
    ``(sum, its rows, whether the sum is fresh)``. The sum covers the union of the rows,
    dense when that is every direction."""
    if rows is not None and r is not None and len(r) == len(rows) and np.array_equal(rows, r):
        # the same rows
        if fresh and type(c) is np.ndarray and keeps(acc, c):
            acc += c
            return acc, rows, True
        return acc + c, rows, False
    if type(acc) is not np.ndarray or type(c) is not np.ndarray:
        # a tangent that is a Variable of an outer level: spread the compact one, add densely
        if rows is not None:
            acc = spread(acc, rows, None, directions)
        if r is not None:
            c = spread(c, r, None, directions)
        return acc + c, None, False
    union = None if rows is None or r is None else union_of(rows, r)
    if union is not None and (len(union) == directions
                              or directions * math.prod(shape) <= SMALL_DENSE):
        union = None  # every direction, or few enough numbers that dense is cheaper to keep
    size = directions if union is None else len(union)
    if fresh and (rows is None if union is None else len(rows) == len(union)) \
            and keeps(acc, c):
        # c's rows are among acc's, which is full-sized and fresh: add c in place
        put(acc, r if union is None or r is None else np.searchsorted(union, r), c, add=True)
        return acc, union, True
    at, at_c = positions(rows, union, size), positions(r, union, size)
    dtype = np.result_type(acc, c)
    if at_c is None:  # c covers every row: write it first (the sum is the same)
        acc, at, c, at_c = c, at_c, acc, at
    if at is None or len(at) + len(at_c) == size:
        # the first part covers every row, or the two are disjoint and cover them together
        out = np.empty((size, *shape), dtype=dtype)
        put(out, at, acc, add=False)
        put(out, at_c, c, add=at is None)
    else:
        out = np.zeros((size, *shape), dtype=dtype)
        put(out, at, acc, add=False)
        put(out, at_c, c, add=True)
    return out, union, True


def positions(rows: Any, union: Any, size: int) -> Any:
    """Where `rows` sit among `union` (None: all directions); None when they are all of them."""
    if rows is None or len(rows) == size:
        return None
    return rows if union is None else np.searchsorted(union, rows)


