"""The apply path on compact tangents (see `_rows`): what a primitive's declared
specialisations make of them.

A primitive whose record declares ``rows`` runs its reference rules on the stored rows alone;
one that declares ``unit_map`` moves unit seeds without the arithmetic; ``into`` fills one array
of the union of two arguments' rows; ``unit_jvp`` reads unit seeds directly. Every other
primitive sees the dense tangent, as its rules were written for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _rows, _seams, _zeros
from ._contributions import align, check_contribution, mixed_directions, no_rule, zero_rule
from ._rows import Rows, combine, common_rows, keeps, positions, put, run, union_of
from ._seams import _BOXES, ops
from ._variable import Variable

__all__ = ["compact_tangents", "sum_rows", "unit_tangents"]


def takes_rows(prim: Any, primals: Sequence[Any]) -> bool:
    """Whether `prim`'s rules may run on compact tangents here: its record says they treat
    the direction axis as a batch axis, and no primal is an outer Variable (the rules would
    give Variables, which stay dense) or a recorded array (which gets the reference rules)."""
    return prim.special.rows and not any(type(a) is Variable or type(a) in _BOXES
                                         for a in primals)


def compact_tangents(prim: Any, tag: int, args: tuple[Any, ...], primals: Sequence[Any]
                     ) -> tuple[list[Any], Any, int] | None:
    """Each argument's tangent at `tag` when some are compact: on one row set, the union of
    theirs (or dense, for rules not declared to take compact tangents), those rows (None: all
    directions), and the number of directions. None when no tangent is compact."""
    tangents: list[Any] = []
    directions = -1
    compact = False
    for a in args:
        t = a._tangent if type(a) is Variable and a.tag == tag else None
        if t is not None:
            compact = compact or type(t) is Rows
            n = t.total if type(t) is Rows else t.shape[0]
            if n != directions:
                if directions >= 0:
                    raise mixed_directions(prim.name, directions, n)
                directions = n
        tangents.append(t)
    if not compact:
        return None
    return common_rows(tangents, directions, takes_rows(prim, primals))


def unit_tangents(name: str, tag: int, args: tuple[Any, ...]) -> list[Any] | None:
    """Each argument's tangent at `tag` for a ``unit_jvp`` kernel: unit seeds as they are
    stored, every other tangent dense; None when no tangent is unit seeds."""
    tangents: list[Any] = []
    directions = -1
    units = False
    for a in args:
        t = a._tangent if type(a) is Variable and a.tag == tag else None
        if t is not None:
            n = t.total if type(t) is Rows else t.shape[0]
            if n != directions:
                if directions >= 0:
                    raise mixed_directions(name, directions, n)
                directions = n
            if type(t) is Rows:
                if t.unit is not None:
                    units = True
                else:
                    t = t.dense()
        tangents.append(t)
    return tangents if units else None


def _rule_on_rows(prim: Any, rule: Any, t: Rows, out: Any, primals: Sequence[Any],
                  params: dict[str, Any]) -> tuple[Any, Any, Any]:
    """A rule's contribution for a compact tangent: (the array it ran on, the rows of the
    contribution, the contribution)."""
    elementwise = prim.elementwise
    src, rows = (t.data, t.rows) if takes_rows(prim, primals) else (t.dense(), None)
    x = align(src, out.ndim) if elementwise and src.ndim <= out.ndim else src
    c = rule(x, out, *primals, **params)
    if rows is not None and type(c) is not np.ndarray:  # not a plain array: stay dense
        src, rows = t.dense(), None
        x = align(src, out.ndim) if elementwise and src.ndim <= out.ndim else src
        c = rule(x, out, *primals, **params)
    return src, rows, c


def sum_rows(prim: Any, tag: int, args: tuple[Any, ...], primals: list[Any], out: Any,
             params: dict[str, Any], start: int, tangent: Any, directions: Any, fresh: Any,
             safe: bool) -> Variable:
    """The rest of the sum of contributions from argument `start` on, whose tangent is
    compact; `tangent` is the dense sum of the contributions before it (None if there are
    none). `rows` are the directions the sum is restricted to (None: all of them)."""
    special = prim.special
    if tangent is None and not safe and special.into is not None \
            and takes_rows(prim, primals):
        summed = _sum_into(prim, tag, args, primals, out)
        if summed is not None:
            return summed
    rows: Any = None
    jvps = prim.jvps
    name = prim.name
    for i in range(start, len(args)):
        a = args[i]
        if type(a) is not Variable or a.tag != tag or a._tangent is None:
            continue
        t = a._tangent
        rule = jvps[i] if i < len(jvps) else None
        if rule is None:
            raise no_rule(name, i)
        if rule is zero_rule:
            continue
        if type(t) is Rows:
            if t.unit is not None and len(args) == 1 and special.unit_map is not None \
                    and type(primals[0]) not in _BOXES:
                unit = special.unit_map(t, out, primals[0], **params)
                if unit is not None:
                    return Variable._make(out, unit, tag)
            n = t.total
            src, r, c = _rule_on_rows(prim, rule, t, out, primals, params)
        else:
            src, r, n = t, None, t.shape[0]
            if prim.elementwise and t.ndim <= out.ndim:
                t = align(t, out.ndim)
            c = rule(t, out, *primals, **params)
        full = (n if r is None else len(r), *out.shape)
        if type(c) is not np.ndarray or c.shape != full or c.dtype.kind != "f":
            check_contribution(name, f"the rule for argument {i}", c, full, prim.elementwise)
        if safe:
            c = _zeros.nan_safe(c, align(src, out.ndim) if prim.elementwise else src,
                                prim.elementwise)
        if tangent is None:
            tangent, directions, rows = c, n, r
            fresh = ((type(c) is np.ndarray and c.base is None and c is not src)
                     or c is _seams.donated) and c.shape == full
        elif n != directions:
            raise mixed_directions(name, directions, n)
        elif c is _seams.donated and r is None and c.shape == full \
                and type(tangent) is np.ndarray and keeps(c, tangent):
            # a tangent given up by its owner, on every direction: the sum so far goes into it
            put(c, rows, tangent, add=True)
            tangent, rows, fresh = c, None, True
        elif r is not rows:
            tangent, rows, fresh = combine(tangent, rows, fresh, c, r, directions, out.shape)
        elif fresh and type(c) is np.ndarray and keeps(tangent, c):
            tangent += c
        else:
            tangent = tangent + c
    if tangent is None:
        return Variable._make(out, None, tag)
    if tangent.shape[1:] != out.shape:
        shape = (directions if rows is None else len(rows), *out.shape)
        tangent = (np.broadcast_to(tangent, shape) if type(tangent) is np.ndarray
                   else ops.broadcast_to(tangent, shape=shape))
    if rows is None:
        return Variable._make(out, tangent, tag)
    return Variable._make(out, Rows(tangent, rows, directions), tag)


def _sum_into(prim: Any, tag: int, args: tuple[Any, ...], primals: list[Any], out: Any
              ) -> Variable | None:
    """Two tangents on different rows, each contribution written by the declared ``into``
    rules straight into one array of the union of the rows (or of every direction), with no
    array of its own; None where `sum_rows` does as well (the same rows, overlapping compact
    rows, rows that are no run)."""
    parts = []
    for i, a in enumerate(args):
        if type(a) is not Variable or a.tag != tag or a._tangent is None:
            continue
        t = a._tangent
        if type(t) is Rows:
            parts.append((i, t.data, t.rows, t.total))
        elif t is _seams.donated and t.shape[1:] == out.shape:  # `sum_rows` adds into it
            return None
        elif type(t) is np.ndarray:
            parts.append((i, t, None, t.shape[0]))
        else:
            return None
    if len(parts) != 2:
        return None
    (i, t, rows, n), (j, u, r, m) = parts
    if n != m:
        raise mixed_directions(prim.name, n, m)
    if rows is not None and r is not None and len(rows) == len(r) \
            and np.array_equal(rows, r):
        return None
    union = None if rows is None or r is None else union_of(rows, r)
    if union is not None and (len(union) == n or n * out.size <= _rows.SMALL_DENSE):
        union = None
    size = n if union is None else len(union)
    at, at_u = positions(rows, union, size), positions(r, union, size)
    if at_u is None:  # the one that covers every row goes first
        i, t, at, j, u, at_u = j, u, at_u, i, t, at
    views = [run(at), run(at_u)]
    if at is not None and (len(at) + len(at_u) != size or views[0] is None):
        return None
    acc = np.empty((size, *out.shape), dtype=np.result_type(out, t, u))
    into = prim.special.into
    ndim = out.ndim
    into[i](align(t, ndim), acc if at is None else acc[views[0]], *primals)
    if at is not None and views[1] is not None:  # disjoint: the second fills its own rows
        into[j](align(u, ndim), acc[views[1]], *primals)
    else:  # added to the first, or written to rows that are no run
        put(acc, at_u, prim.jvps[j](align(u, ndim), out, *primals), add=at is None)
    if union is None:
        return Variable._make(out, acc, tag)
    return Variable._make(out, Rows(acc, union, n), tag)
