"""Every declared specialisation of every registered primitive agrees with its reference rules.

The tests walk the registry: each (primitive, specialisation) pair its record declares is one
case, checked on the arguments of the primitive's finite-difference spec (tests/test_primitives
.py) against the reference rules (the per-argument rules or the joint rule) on dense tangents.
A declared specialisation with no check, or a primitive with no spec, fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from dualgrad._core import Rows, align, unit_seeds
from dualgrad._registry import registry
from test_primitives import Case, spec_cases

RTOL, ATOL = 1e-12, 1e-13

KINDS = tuple(field.name for field in attrs.fields(dg.Specialisations))


def _declared() -> list[tuple[dg.Primitive, str]]:
    pairs = []
    for entry in registry().entries("primitive"):
        for kind in KINDS:
            if getattr(entry.obj.special, kind) not in (None, False):
                pairs.append((entry.obj, kind))
    return pairs


PAIRS = _declared()


# ---- the reference: the rules as the record gives them, on dense tangents ---------------------


def _value(prim: dg.Primitive, args: Sequence[Any], params: dict[str, Any]) -> np.ndarray:
    return np.asarray(prim.fn(*args, **params))


def reference(prim: dg.Primitive, tangents: Sequence[Any], args: Sequence[Any],
              params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The value and the tangent, ``(T, *out.shape)``, of the reference rules."""
    out = _value(prim, args, params)
    n = next(t.shape[0] for t in tangents if t is not None)
    full = (n, *out.shape)
    if prim.joint is not None:
        return out, np.broadcast_to(prim.joint(list(tangents), out, *args, **params), full)
    total = np.zeros(full)
    for i, t in enumerate(tangents):
        if t is None or prim.jvps[i] is dg.Primitive.zero:
            continue
        t = align(t, out.ndim) if prim.elementwise else t
        total = total + np.broadcast_to(prim.jvps[i](t, out, *args, **params), full)
    return out, total


def _floats(case: Case) -> list[Any]:
    return [np.asarray(a, dtype=np.float64) if i in case.diff else a
            for i, a in enumerate(case.args)]


def _subsets(diff: Sequence[int]) -> list[tuple[int, ...]]:
    return [s for k in range(1, len(diff) + 1) for s in itertools.combinations(diff, k)]


def _close(actual: Any, expected: Any, what: str) -> None:
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=RTOL, atol=ATOL, err_msg=what)


# ---- one check per kind of specialisation -----------------------------------------------------


def check_jvp(prim: dg.Primitive, case: Case, rng: np.random.Generator) -> None:
    """The joint kernel gives the value and the tangent of the rules, for every subset of
    differentiated arguments (the others constants, None)."""
    args = _floats(case)
    for chosen in _subsets(case.diff):
        tangents = [rng.normal(size=(3, *np.shape(a))) if i in chosen else None
                    for i, a in enumerate(args)]
        out, tangent = prim.special.jvp(tangents, *args, **case.params)
        expected_out, expected = reference(prim, tangents, args, case.params)
        what = f"{prim.name} jvp, {case.label()}, arguments {chosen}"
        _close(out, expected_out, what)
        _close(np.broadcast_to(tangent, expected.shape), expected, what)


def _unit_block(shape: tuple[int, ...], total: int, offset: int) -> np.ndarray:
    """Dense unit seeds: direction k is the unit vector of flat element k - offset."""
    size = int(np.prod(shape))
    block = np.zeros((total, size))
    k = np.arange(max(offset, 0), min(total, offset + size))
    block[k, k - offset] = 1.0
    return block.reshape((total, *shape))


def check_unit_jvp(prim: dg.Primitive, case: Case, rng: np.random.Generator) -> None:
    """The unit-seed kernel, handed unit seeds for some arguments (whole, or a chunk of
    directions that cuts into them) and dense tangents for the others, gives the rules'
    numbers on the dense seeds."""
    args = _floats(case)
    for units in _subsets(case.diff):
        sizes = [int(np.prod(np.shape(args[i]))) for i in units]
        whole = sum(sizes)
        for total, start in ((whole, 0), (max(whole - 2, 1), 1)):
            tangents: list[Any] = [None] * len(args)
            dense: list[Any] = [None] * len(args)
            offset = -start
            for i, size in zip(units, sizes):
                dense[i] = _unit_block(np.shape(args[i]), total, offset)
                tangents[i] = unit_seeds(dense[i], None, total, offset)
                offset += size
            for i in case.diff:
                if i not in units:
                    dense[i] = tangents[i] = rng.normal(size=(total, *np.shape(args[i])))
            out, tangent = prim.special.unit_jvp(tangents, *args, **case.params)
            expected_out, expected = reference(prim, dense, args, case.params)
            what = f"{prim.name} unit_jvp, {case.label()}, unit seeds on {units}, {total} dirs"
            _close(out, expected_out, what)
            _close(np.broadcast_to(tangent, expected.shape), expected, what)


def check_rows(prim: dg.Primitive, case: Case, rng: np.random.Generator) -> None:
    """The rules run on some directions alone give those directions of the whole tangent:
    they treat the direction axis as a batch axis."""
    args = _floats(case)
    if not case.diff:
        return
    tangents = [rng.normal(size=(5, *np.shape(a))) if i in case.diff else None
                for i, a in enumerate(args)]
    _, whole = reference(prim, tangents, args, case.params)
    for rows in (np.array([3]), np.array([1, 4])):
        _, part = reference(prim, [None if t is None else t[rows] for t in tangents], args,
                            case.params)
        _close(part, whole[rows], f"{prim.name} on rows {rows}, {case.label()}")


def check_unit_map(prim: dg.Primitive, case: Case, rng: np.random.Generator) -> None:
    """Moving unit seeds gives the rule's tangent of the dense seeds, stored by the
    directions it touches; where it says its elements are unit seeds, they are."""
    (x,) = _floats(case)
    size = x.size
    out = _value(prim, [x], case.params)
    for total, offset, compact in ((size, 0, False), (size + 2, 1, False),
                                   (size + 2, 1, True), (max(size - 1, 1), -1, False)):
        dense = _unit_block(x.shape, total, offset)
        if compact:  # only the directions that touch x, as grad stores them
            rows = np.arange(offset, offset + size)
            seeds = unit_seeds(dense[rows], rows, total, offset)
        else:
            seeds = unit_seeds(dense, None, total, offset)
        moved = prim.special.unit_map(seeds, out, x, **case.params)
        if moved is None:  # the rule serves here
            continue
        what = f"{prim.name} unit_map, {case.label()}, {total} dirs from {offset}"
        assert isinstance(moved, Rows) and moved.total == total, what
        _, expected = reference(prim, [dense], [x], case.params)
        _close(moved.dense(), expected, what)
        if moved.unit is not None:
            _close(moved.dense(), _unit_block(out.shape, total, moved.unit), what)


def check_into(prim: dg.Primitive, case: Case, rng: np.random.Generator) -> None:
    """Each write-into rule fills the array it is handed with its argument's contribution."""
    args = _floats(case)
    out = _value(prim, args, case.params)
    for i in case.diff:
        t = rng.normal(size=(3, *np.shape(args[i])))
        tangents = [t if j == i else None for j in range(len(args))]
        _, expected = reference(prim, tangents, args, case.params)
        filled = np.full(expected.shape, np.nan)
        prim.special.into[i](align(t, out.ndim), filled, *args)
        _close(filled, expected, f"{prim.name} into[{i}], {case.label()}")


CHECKS: dict[str, Callable[[dg.Primitive, Case, np.random.Generator], None]] = {
    "jvp": check_jvp,
    "unit_jvp": check_unit_jvp,
    "rows": check_rows,
    "unit_map": check_unit_map,
    "into": check_into,
}


# ---- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize(("prim", "kind"), PAIRS, ids=[f"{p.name}-{k}" for p, k in PAIRS])
def test_specialisation_matches_the_reference_rules(prim: dg.Primitive, kind: str) -> None:
    """A declared specialisation gives the reference rules' numbers on every spec case."""
    if kind not in CHECKS:
        pytest.fail(f"{prim.name} declares the specialisation {kind!r}, which no check in "
                    f"{__name__}.CHECKS covers; add one that compares it with the rules")
    rng = np.random.default_rng(0)
    for case in spec_cases(prim.name):
        CHECKS[kind](prim, case, rng)


def test_every_kind_of_specialisation_has_a_check() -> None:
    """Each field of the Specialisations record has its check here."""
    assert set(KINDS) == set(CHECKS)


def test_every_kind_is_declared_by_some_builtin() -> None:
    """Each kind of specialisation is used by a built-in (else its check checks nothing)."""
    assert {kind for _, kind in PAIRS} == set(KINDS)


def test_a_wrong_kernel_fails_its_check() -> None:
    """The checks catch a kernel that disagrees with the rules (a slope off by a factor)."""
    exp = dg.primitive("exp")
    wrong = dg.Primitive("exp", exp.fn, *exp.jvps, elementwise=True,
                         special=dg.Specialisations(jvp=lambda ts, x: (np.exp(x),
                                                                        2 * np.exp(x) * ts[0])))
    with pytest.raises(AssertionError, match="exp jvp"):
        check_jvp(wrong, spec_cases("exp")[1], np.random.default_rng(0))


@pytest.mark.parametrize(("special", "word"), [
    (dg.Specialisations(jvp="fast"), "jvp"),
    (dg.Specialisations(unit_map=lambda t, out, x: None), "unit_map"),
    (dg.Specialisations(into=(lambda t, o, x, y: None,)), "into"),
])
def test_a_malformed_record_is_refused_naming_the_primitive(special: Any, word: str) -> None:
    """A specialisation that is not callable, or declared for the wrong number of arguments,
    is a DualgradTypeError naming the primitive and the specialisation."""
    with pytest.raises(dg.DualgradTypeError, match=rf"'pair'.*{word}"):
        dg.Primitive("pair", np.add, lambda t, out, x, y: t, lambda t, out, x, y: t,
                     special=special)


def test_special_must_be_a_specialisations_record() -> None:
    """A plain dict where the record belongs is refused with a DualgradTypeError."""
    with pytest.raises(dg.DualgradTypeError, match="Specialisations"):
        dg.Primitive("f", np.exp, lambda t, out, x: t * out, special={"rows": True})
