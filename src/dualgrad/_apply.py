"""The one apply path: a primitive applied at the innermost differentiation among its arguments.

The value is computed once; then the tangent, from the reference rules (one per argument,
contributions summed, symbolic zeros skipped; or one joint rule) or from a specialisation the
primitive's record declares (a joint value-and-tangent kernel, rules on compact tangents, see
`_compact`). Outer Variables among the values always get the reference rules, and so does a
repairing pass (see `_zeros`); recorded arrays get the kernel where it can be recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _compact, _rows, _seams, _zeros
from ._contributions import (
    align,
    check_contribution,
    describe,
    fitted,
    mixed_directions,
    no_rule,
    zero_rule,
)
from ._errors import ShapeError, TracingError
from ._rows import Rows, keeps
from ._seams import _BOXES, ops
from ._variable import Variable
from ._zeros import REPAIRING as _REPAIRING

__all__ = ["apply", "evaluate"]


def evaluate(prim: Any, args: Sequence[Any], params: dict[str, Any]) -> Any:
    """`prim`'s function on plain arrays, its output an ndarray."""
    try:
        out = prim.fn(*args, **params)
    except ValueError as exc:
        raise ShapeError(f"{prim.name} cannot combine {describe(args)}: {exc}") from exc
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    return out


def apply(prim: Any, tag: int, args: tuple[Any, ...], params: dict[str, Any]) -> Variable:
    """`prim` on `args`, differentiated at `tag`."""
    if _seams.recording:  # say whose rule the recorded equations come from
        _seams.applying.append(prim)
        try:
            return _apply(prim, tag, args, params)
        finally:
            _seams.applying.pop()
    return _apply(prim, tag, args, params)


def _apply(prim: Any, tag: int, args: tuple[Any, ...], params: dict[str, Any]) -> Variable:
    # The value: the primals at this level, which may still be Variables of outer levels.
    primals = [a.value if type(a) is Variable and (a.tag == tag or a._tangent is None)
               else a for a in args]
    outer = boxed = False  # an outer Variable, a recorded array, among the primals
    for a in primals:
        if type(a) is Variable:
            outer = True
        elif type(a) in _BOXES:
            boxed = True
    nested = outer or boxed
    if tag not in _REPAIRING:
        if not outer and (prim.special.jvp is not None or prim.special.unit_jvp is not None):
            if not boxed:
                return _kernel(prim, tag, args, primals, params)
            # Recorded arrays go through the kernel too where it can be recorded: its
            # equations share the value's intermediate results, and those of data alone fold
            # (see _trace). A kernel that writes in place runs the reference rules instead;
            # what it recorded before it failed is never read, and the program leaves it out.
            try:
                return _kernel(prim, tag, args, primals, params, boxed=True)
            except TracingError:
                pass
        out = prim(*primals, **params) if nested else evaluate(prim, primals, params)
        return _tangent(prim, tag, args, primals, out, params, False, boxed)
    return _repaired(prim, tag, args, primals, params, nested, boxed)


def _tangents(name: str, tag: int, args: tuple[Any, ...]) -> list[Any]:
    """Each argument's tangent at `tag` (None for constants), for the rules that take them
    all at once; these would broadcast 1 direction against 3 without a word, so the numbers
    of directions are checked here, in the same pass (the hot path of training).

    A compact tangent (a `Rows`, which has no shape) raises AttributeError, at no cost to
    dense ones: the callers then turn to `_compact`."""
    tangents: list[Any] = []
    directions = -1
    for a in args:
        t = a._tangent if type(a) is Variable and a.tag == tag else None
        if t is not None and t.shape[0] != directions:
            if directions >= 0:
                raise mixed_directions(name, directions, t.shape[0])
            directions = t.shape[0]
        tangents.append(t)
    return tangents


def _kernel(prim: Any, tag: int, args: tuple[Any, ...], primals: list[Any],
            params: dict[str, Any], boxed: bool = False) -> Variable:
    """The value and tangent from the declared joint kernel: ``jvp``, or ``unit_jvp`` when
    some tangent is unit seeds. With `boxed` (recorded arrays among the primals) compact
    tangents other than unit seeds are a `TracingError`: the reference rules take them dense."""
    special = prim.special
    kernel, rows = special.jvp, None
    try:
        tangents = _tangents(prim.name, tag, args)
    except AttributeError:  # a compact tangent
        units = None
        if special.unit_jvp is not None:
            units = _compact.unit_tangents(prim.name, tag, args)
        if units is not None:
            tangents, kernel = units, special.unit_jvp
        else:
            if boxed:
                raise TracingError(f"{prim.name}: compact tangents of recorded arrays") from None
            compact = _compact.compact_tangents(prim, tag, args, primals)
            if compact is None:
                raise
            tangents, rows, directions = compact
    if kernel is None:  # a unit-seed kernel alone, and no unit seeds: the reference rules
        out = evaluate(prim, primals, params)
        return _tangent(prim, tag, args, primals, out, params, False, False)
    try:
        out, tangent = kernel(tangents, *primals, **params)
    except ValueError as exc:
        raise ShapeError(f"{prim.name} cannot combine {describe(primals)}: {exc}") from exc
    if type(out) is not np.ndarray and not boxed:
        out = np.asarray(out)
    t = next(t for t in tangents if t is not None)
    n = t.total if type(t) is Rows else t.shape[0]
    tangent = fitted(prim.name, prim.elementwise, tangent, (n, *out.shape), "its jvp")
    if rows is not None:
        tangent = Rows(tangent, rows, directions)
    return Variable._make(out, tangent, tag)


def _repaired(prim: Any, tag: int, args: tuple[Any, ...], primals: list[Any],
              params: dict[str, Any], nested: bool, boxed: bool) -> Variable:
    """`apply` in a repairing pass (see `_zeros`): the reference rules, each contribution
    with NaN made 0 where its tangent is 0 (the pass reports a NaN that remains). A
    primitive whose only rule is its ``jvp`` kernel is repaired by whole directions."""
    if not prim.jvps and prim.joint is None and prim.special.jvp is not None and not nested:
        with np.errstate(invalid="ignore"):  # the pass reports what NaN remains
            result = _kernel(prim, tag, args, primals, params)
        ts = [a._tangent if type(a) is Variable and a.tag == tag else None for a in args]
        if type(result._tangent) is np.ndarray and all(
                t is None or type(t) is np.ndarray for t in ts):
            result._tangent = _zeros.nan_safe_joint(result._tangent, ts)
        return result
    out = prim(*primals, **params) if nested else evaluate(prim, primals, params)
    with np.errstate(invalid="ignore"):  # the pass reports what NaN remains
        return _tangent(prim, tag, args, primals, out, params, True, boxed)


def _joint(prim: Any, tag: int, args: tuple[Any, ...], primals: list[Any], out: Any,
           params: dict[str, Any], safe: bool, boxed: bool) -> Variable:
    """The output Variable from the joint rule of a primitive of any number of arguments."""
    common: Any = None
    total = 0
    try:
        tangents = _tangents(prim.name, tag, args)
    except AttributeError:  # a compact tangent
        compact = _compact.compact_tangents(prim, tag, args, primals)
        if compact is None:
            raise
        tangents, common, total = compact
    t = prim.joint(tangents, out, *primals, **params)
    n = next(u.shape[0] for u in tangents if u is not None)
    t = fitted(prim.name, prim.elementwise, t, (n, *out.shape), "its joint rule")
    if safe:
        t = _zeros.nan_safe_joint(t, tangents)
    if common is not None:
        t = Rows(t, common, total)
    return Variable._make(out, t, tag)


def _tangent(prim: Any, tag: int, args: tuple[Any, ...], primals: list[Any], out: Any,
             params: dict[str, Any], safe: bool, boxed: bool) -> Variable:
    """The output Variable: `out` with the tangent summed from every differentiated
    argument's contribution; with `safe`, each is repaired by `_zeros.nan_safe`. With `boxed`
    (a recorded array among the primals) every tangent is dense."""
    if prim.joint is not None:
        return _joint(prim, tag, args, primals, out, params, safe, boxed)
    tangent: Any = None
    directions: Any = None
    fresh: Any = None
    jvps = prim.jvps
    shape = out.shape
    for i, a in enumerate(args):
        if type(a) is not Variable or a.tag != tag or a._tangent is None:
            continue
        rule = jvps[i] if i < len(jvps) else None
        if rule is None:
            raise no_rule(prim.name, i)
        if rule is zero_rule:
            continue
        t = a._tangent
        if type(t) is Rows:
            if not boxed and (t.total * out.size > _rows.SMALL_DENSE or (
                    t.unit is not None and prim.special.unit_map is not None)):
                # a compact tangent worth keeping: the sum goes on in _compact
                return _compact.sum_rows(prim, tag, args, primals, out, params, i, tangent,
                                         directions, fresh, safe)
            # few numbers in all: dense costs less than the bookkeeping of rows (scalars
            # indexed out of a vector, combined one by one)
            t = t.dense()
        if prim.elementwise and t.ndim <= out.ndim:
            t = align(t, out.ndim)
        c = rule(t, out, *primals, **params)
        full = (t.shape[0], *shape)
        if type(c) is not np.ndarray or c.shape != full or c.dtype.kind != "f":
            check_contribution(prim.name, f"the rule for argument {i}", c, full,
                               prim.elementwise)
        if safe:
            c = _zeros.nan_safe(c, t, prim.elementwise)
        if tangent is None:
            tangent, directions = c, full[0]
            # a contribution that owns its memory and is no argument's tangent is fresh:
            # the next ones may be added into it instead of allocating another array
            fresh = ((type(c) is np.ndarray and c.base is None and c is not a._tangent
                     and c is not t) or c is _seams.donated) and c.shape == full
        elif full[0] != directions:
            raise mixed_directions(prim.name, directions, full[0])
        elif fresh and type(c) is np.ndarray and keeps(tangent, c):
            tangent += c
        else:
            tangent = tangent + c
    if tangent is None:  # every contribution is a symbolic zero: the output is a constant
        return Variable._make(out, None, tag)
    if tangent.shape[1:] != shape:
        full = (directions, *shape)
        tangent = (np.broadcast_to(tangent, full) if type(tangent) is np.ndarray
                   else ops.broadcast_to(tangent, shape=full))
    return Variable._make(out, tangent, tag)
