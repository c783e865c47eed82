"""The contract between a primitive's rules and the engine: every contribution is checked where
it is summed, in every way a primitive is applied, and a malformed one is an error naming the
primitive and the argument, never broadcast into a wrong derivative."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import Primitive, Variable


def _cube(x: Any) -> Any:
    return x**3


# the plugin author's slip of the issue: the slope, without the tangent (no direction axis)
cube = Primitive("cube", _cube, lambda t, out, x: 3 * x**2, elementwise=True)


def test_a_rule_without_the_direction_axis_is_a_shape_error() -> None:
    """The issue's cube: its Jacobian at [1, 2, 3] raises, naming primitive, argument, shapes."""
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(dg.ShapeError, match=r"'cube'.*argument 0.*\(3,\).*\(3, 3\)"):
        dg.jacobian(cube)(x)
    with pytest.raises(dg.ShapeError, match="'cube'"):
        dg.grad(lambda v: dg.sum(cube(v)))(x)


@pytest.mark.parametrize("number", [3.0, 3, np.float64(3.0)], ids=["float", "int", "float64"])
def test_a_scalar_contribution_is_not_broadcast_over_directions(number: Any) -> None:
    """A rule returning a number (shape ()) is refused, for a scalar input too."""
    prim = Primitive("scalar", _cube, lambda t, out, x: number, elementwise=True)
    with pytest.raises(dg.ShapeError, match=r"'scalar'.*shape \(\)"):
        prim(Variable(2.0, 1.0))
    with pytest.raises(dg.ShapeError, match=r"'cube'.*shape \(\)"):
        cube(Variable(2.0, 1.0))


@pytest.mark.parametrize("bad", [None, "slope", [3.0, 12.0, 27.0], {}],
                         ids=["None", "str", "list", "dict"])
def test_a_rule_returning_no_array_names_the_primitive(bad: Any) -> None:
    """None, a string, a list or a dict from a rule is a DualgradTypeError, not AttributeError."""
    prim = Primitive("broken", _cube, lambda t, out, x: bad, elementwise=True)
    with pytest.raises(dg.DualgradTypeError, match=r"'broken'.*argument 0.*not an array"):
        dg.jacobian(prim)(np.array([1.0, 2.0, 3.0]))


def test_a_rule_returning_strings_of_the_right_shape_is_refused() -> None:
    """A non-float array of the right shape is refused, naming its dtype."""
    prim = Primitive("words", _cube, lambda t, out, x: np.full(t.shape, "a"), elementwise=True)
    with pytest.raises(dg.DualgradTypeError, match=r"'words'.*dtype"):
        prim(Variable(np.ones(3), np.eye(3)))


def test_one_direction_of_t_is_not_enough() -> None:
    """An elementwise contribution must keep all T directions, not broadcast one over them."""
    prim = Primitive("first", _cube, lambda t, out, x: 3 * x**2 * t[:1], elementwise=True)
    with pytest.raises(dg.ShapeError, match=r"'first'.*\(1, 3\).*T=3"):
        prim(Variable(np.ones(3), np.eye(3)))


def test_elementwise_contributions_may_broadcast_after_the_direction_axis() -> None:
    """The documented slack: an elementwise rule may keep length 1 on axes after T."""
    plus = Primitive("plus", np.add, lambda t, out, x, y: t, lambda t, out, x, y: t,
                     elementwise=True)
    out = plus(Variable(np.ones(3), np.eye(3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(out.tangent, np.broadcast_to(np.eye(3)[:, None], (3, 2, 3)))


def test_a_reduction_rule_must_give_the_exact_shape() -> None:
    """A non-elementwise rule gets no broadcasting slack: (T, *out.shape) exactly."""
    total = Primitive("total", np.sum, lambda t, out, x: np.ones(out.shape))
    with pytest.raises(dg.ShapeError, match=r"'total'.*argument 0.*shape \(\).*\(3,\)"):
        dg.grad(total)(np.array([1.0, 2.0, 3.0]))


def test_compact_tangents_are_checked_too() -> None:
    """A slice of a long vector carries compact tangents; the broken rule still raises."""
    with pytest.raises(dg.ShapeError, match=r"'cube'.*argument 0.*\(50,\).*\(100, 50\)"):
        dg.grad(lambda v: dg.sum(cube(v[:50])), mode="forward")(np.ones(100))


def test_a_joint_rule_of_the_wrong_shape_is_a_shape_error() -> None:
    """A joint rule returning the value's shape is refused, naming the joint rule."""
    pair = Primitive("pair", lambda x, y: x * y, joint=lambda ts, out, x, y: out)
    with pytest.raises(dg.ShapeError, match=r"'pair'.*joint rule"):
        pair(Variable(np.ones(3), np.eye(3)), np.ones(3))


@pytest.mark.parametrize("seeded", ["dense", "compact"])
def test_a_jvp_fast_path_of_the_wrong_shape_is_a_shape_error(seeded: str) -> None:
    """A jvp fast path returning the slope alone is refused on dense and compact tangents."""
    fast = Primitive("fastcube", _cube, lambda t, out, x: 3 * x**2 * t,
                     special=dg.Specialisations(jvp=lambda ts, x: (x**3, 3 * x**2)))
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(dg.ShapeError, match=r"'fastcube'.*jvp.*\(3,\).*\(3, 3\)"):
        if seeded == "dense":
            fast(Variable(x, np.eye(3)))
        else:
            dg.jacobian(fast)(x)


def test_a_jvp_fast_path_returning_none_names_the_primitive() -> None:
    """A jvp fast path whose tangent is None is a DualgradTypeError naming it."""
    fast = Primitive("nothing", _cube, lambda t, out, x: 3 * x**2 * t,
                     special=dg.Specialisations(jvp=lambda ts, x: (x**3, None)))
    with pytest.raises(dg.DualgradTypeError, match=r"'nothing'.*jvp.*None"):
        fast(Variable(np.ones(3), np.eye(3)))


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("bad", [None, "slope", [1.0, 1.0]], ids=["None", "str", "list"])
def test_custom_jvp_rules_must_return_arrays(batched: bool, bad: Any) -> None:
    """A custom_jvp rule giving None, a string or a list as tangent is a DualgradTypeError."""
    f = dg.custom_jvp(lambda x: 2.0 * x, batched=batched)
    f.defjvp(lambda primals, tangents: (2.0 * primals[0], bad))
    with pytest.raises(dg.DualgradTypeError, match=r"custom_jvp.*tangent"):
        dg.jacobian(f)(np.array([1.0, 2.0]))


def test_custom_jvp_batched_rule_without_direction_axis_is_a_shape_error() -> None:
    """A batched custom_jvp rule that drops the direction axis is a ShapeError with shapes."""
    f = dg.custom_jvp(lambda x: x**3, batched=True)
    f.defjvp(lambda primals, tangents: (primals[0] ** 3, 3 * primals[0] ** 2))
    with pytest.raises(dg.ShapeError, match=r"\(3,\).*\(3, 3\)"):
        dg.jacobian(f)(np.array([1.0, 2.0, 3.0]))
