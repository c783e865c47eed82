"""Arrays of a recorded program (types installed with `_core.install_box`) reach their recorder,
and a Variable holding one gets its primitive's jvp kernel where that can be recorded, the
reference rules otherwise: never compact tangents other than unit seeds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import Variable, _core


class Box:
    """A stand-in for the trace's arrays: wraps an ndarray; primitives on it are recorded."""

    __array_ufunc__ = None  # ndarray's operators defer to Box's

    def __init__(self, value: Any) -> None:
        self.value = np.asarray(value, dtype=np.float64)

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: self.value.ndim)

    def __mul__(self, other: Any) -> Any:
        return dg.primitives.multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return dg.primitives.multiply(other, self)


RECORDED: list[str] = []


def _record(prim: dg.Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Box:
    RECORDED.append(prim.name)
    return Box(prim.fn(*[a.value if type(a) is Box else a for a in args], **params))


@pytest.fixture(autouse=True)
def boxes() -> Iterator[None]:
    _core.install_box(Box, _record)
    RECORDED.clear()
    yield
    del _core._BOXES[Box]


def test_a_primitive_on_a_recorded_array_goes_to_its_recorder() -> None:
    """dg.exp of a Box (no Variable) is handed to the recorder, which gives the result."""
    out = dg.exp(Box([0.0, 1.0]))
    assert RECORDED == ["exp"] and type(out) is Box
    np.testing.assert_allclose(out.value, np.exp([0.0, 1.0]))


@pytest.mark.parametrize("compact", [False, True])
def test_a_variable_holding_a_recorded_array_runs_the_reference_rule(compact: bool) -> None:
    """A Variable whose value is a Box, with dense or unit-seed tangents: the value and the
    rule's product are recorded, and the tangent is the dense rule's."""
    x = np.array([0.5, 2.0])
    seeds = np.eye(2)
    tangent = _core.unit_seeds(seeds, None, 2, 0) if compact else seeds
    out = dg.exp(Variable._make(Box(x), tangent, _core.new_tag()))
    assert RECORDED == ["exp", "multiply"]
    assert type(out.value) is Box and type(out.tangent) is Box
    np.testing.assert_allclose(out.tangent.value, np.diag(np.exp(x)))


def _cube(kernel: Any) -> dg.Primitive:
    return dg.Primitive("cube_for_boxes", lambda x: x ** 3, lambda t, out, x: t * (3 * x * x),
                        elementwise=True, special=dg.Specialisations(jvp=kernel))


def test_a_recorded_array_goes_through_a_jvp_kernel_that_can_be_recorded() -> None:
    """A primitive with a jvp kernel runs the kernel on a Variable holding a Box, so that the
    recording shares the kernel's intermediate results between value and tangent."""
    def kernel(tangents: Any, x: Any) -> Any:
        square = x * x
        return square * x, tangents[0] * (3 * square)

    out = _cube(kernel)(Variable._make(Box([2.0]), np.ones((1, 1)), _core.new_tag()))
    assert RECORDED == ["multiply"] * 4
    np.testing.assert_allclose(out.value.value, [8.0])
    np.testing.assert_allclose(out.tangent.value, [[12.0]])


def test_a_kernel_that_cannot_be_recorded_gives_way_to_the_reference_rule() -> None:
    """A jvp kernel that reads a recorded value (it raises TracingError, as writing in place
    does) leaves the application to the reference rule, which is recorded instead."""
    def kernel(tangents: Any, x: Any) -> Any:
        raise dg.TracingError("the kernel writes in place")

    out = _cube(kernel)(Variable._make(Box([2.0]), np.ones((1, 1)), _core.new_tag()))
    assert RECORDED[0] == "cube_for_boxes"
    np.testing.assert_allclose(out.tangent.value, [[12.0]])
