"""Variable: construction, the blog's `.grad`, operators, array methods, and bad input."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd
from dualgrad import Variable

RNG = np.random.default_rng(20240611)


def check_tangent(f: Callable[..., Any], args: list[Any], directions: list[Any]) -> Any:
    """Run f on Variables seeded with `directions` (None: a plain argument); compare to FD."""
    seeded = [a if d is None else Variable(a, d) for a, d in zip(args, directions, strict=True)]
    out = f(*seeded)
    expected_value = f(*args)
    assert isinstance(out, Variable)
    np.testing.assert_allclose(out.value, expected_value, rtol=1e-15, atol=0)
    assert out.tangent.shape == (1, *np.shape(expected_value))
    np.testing.assert_allclose(out.grad, fd.directional(f, args, directions),
                               rtol=fd.RTOL, atol=fd.ATOL)
    return out


# ---- construction -------------------------------------------------------------------------------


def test_integers_become_float64() -> None:
    """Integer values (Python or NumPy, scalar or array) are stored as float64."""
    assert Variable(3).value.dtype == np.float64
    assert Variable([1, 2]).value.dtype == np.float64
    assert Variable(np.arange(3, dtype=np.int32)).value.dtype == np.float64
    assert Variable(True).value.dtype == np.float64


def test_float_dtype_is_kept() -> None:
    """A float value keeps its dtype: float32 stays float32."""
    assert Variable(np.float32(2.0)).dtype == np.float32
    assert Variable(np.ones(2, dtype=np.float32), np.ones(2)).value.dtype == np.float32


def test_scalar_becomes_zero_d_array() -> None:
    """A Python scalar becomes a 0-d ndarray value."""
    v = Variable(3.5)
    assert type(v.value) is np.ndarray
    assert v.value.shape == ()
    assert v.shape == () and v.ndim == 0 and v.size == 1


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_one_direction_tangent_gets_a_leading_axis(shape: tuple[int, ...]) -> None:
    """A tangent of the value's own shape is one direction: tangent.shape == (1, *shape)."""
    value, tangent = RNG.normal(size=shape), RNG.normal(size=shape)
    v = Variable(value, tangent)
    assert v.tangent.shape == (1, *shape)
    np.testing.assert_array_equal(v.tangent[0], tangent)
    assert v.num_directions == 1


def test_blog_spelling_is_one_direction() -> None:
    """Variable(4, 1) is x = 4 with dx = 1: tangent [1.] of dtype float64."""
    v = Variable(4, 1)
    assert float(v.value) == 4.0
    assert v.tangent.shape == (1,)
    assert v.tangent.dtype == np.float64
    assert float(v.tangent[0]) == 1.0


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_stacked_tangent_is_kept(shape: tuple[int, ...]) -> None:
    """A tangent of shape (T, *shape) carries T directions and is kept as given."""
    tangent = RNG.normal(size=(5, *shape))
    v = Variable(np.zeros(shape), tangent)
    assert v.num_directions == 5
    np.testing.assert_array_equal(v.tangent, tangent)


@pytest.mark.parametrize(("value_shape", "tangent_shape"), [
    ((3,), (4,)), ((2, 3), (3, 2)), ((3,), (2, 2, 3)), ((2, 3), (3,)), ((), (2, 2)),
    ((2, 3), (2, 3, 1)),
])
def test_malformed_tangent_raises_shape_error(value_shape: tuple[int, ...],
                                              tangent_shape: tuple[int, ...]) -> None:
    """A tangent that is neither shape nor (T, *shape) raises ShapeError naming both shapes."""
    with pytest.raises(dg.ShapeError) as info:
        Variable(np.zeros(value_shape), np.zeros(tangent_shape))
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert str(value_shape) in message
    assert str(tangent_shape) in message


@pytest.mark.parametrize(("value_shape", "stacked"), [((), "(T,)"), ((3,), "(T, 3)"),
                                                    ((2, 3), "(T, 2, 3)")])
def test_malformed_tangent_message_shows_the_stacked_form(value_shape: tuple[int, ...],
                                                          stacked: str) -> None:
    """The ShapeError spells out the accepted (T, *shape) form for the value's shape."""
    with pytest.raises(dg.ShapeError) as info:
        Variable(np.zeros(value_shape), np.zeros((2, 2, 2, 2)))
    assert f"{stacked} for T directions" in str(info.value)


@pytest.mark.parametrize("zero", [0, 0.0, np.float64(0.0)])
def test_tangent_zero_means_constant(zero: Any) -> None:
    """The blog's default tangent 0 is a constant: no tangent, zero directions, grad 0."""
    v = Variable(4.0, zero)
    assert v.tangent is None
    assert v.num_directions == 0
    assert float(v.grad) == 0.0
    assert Variable(4.0).tangent is None


# ---- the blog's .grad ---------------------------------------------------------------------------


def test_blog_first_example_grad_is_three() -> None:
    """(Variable(3) * Variable(4, 1)).grad is the scalar 3."""
    eqn = Variable(3) * Variable(4, 1)
    assert eqn.grad == 3
    assert np.shape(eqn.grad) == ()
    assert float(eqn.value) == 12.0


def test_blog_first_example_prints_three(capsys: pytest.CaptureFixture[str]) -> None:
    """The blog's print("Gradient", eqn.grad) prints 'Gradient 3.0'."""
    eqn = Variable(3) * Variable(4, 1)
    print("Gradient", eqn.grad)
    print(eqn.grad)
    assert capsys.readouterr().out == "Gradient 3.0\n3.0\n"


def test_grad_has_value_shape_for_one_direction() -> None:
    """With one direction .grad has the value's shape; .tangent keeps the direction axis."""
    v = Variable(np.ones((2, 3)), np.ones((2, 3))) * 2.0
    assert v.grad.shape == (2, 3)
    assert v.tangent.shape == (1, 2, 3)
    np.testing.assert_array_equal(v.grad, np.full((2, 3), 2.0))


def test_grad_is_whole_tangent_for_several_directions() -> None:
    """With T > 1 directions .grad is the whole (T, *shape) tangent."""
    v = Variable(np.ones(3), np.ones((2, 3))) * 3.0
    assert v.grad.shape == (2, 3)
    np.testing.assert_array_equal(v.grad, np.full((2, 3), 3.0))


def test_operations_on_constant_variables_give_constant_variables() -> None:
    """An operation whose Variables are all constant returns a constant Variable with .value.

    The blog reads ``.value`` and ``.grad`` of results built from ``Variable(x, 0)`` only.
    """
    y = Variable(3.0, 0) * Variable(2.0, 0) + Variable(-2.0, 0)
    assert isinstance(y, Variable)
    assert y.tangent is None
    assert float(y.value) == 4.0
    assert float(y.grad) == 0.0
    s = dg.sigmoid(Variable(0.0))
    assert isinstance(s, Variable) and float(s.value) == 0.5


# ---- operators ----------------------------------------------------------------------------------

BINARY_OPS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]


def _operand(kind: str, shape: tuple[int, ...]) -> Any:
    if kind == "number":
        return float(RNG.uniform(0.5, 2.0))
    return RNG.uniform(0.5, 2.0, shape)


@pytest.mark.parametrize("op", BINARY_OPS, ids=lambda o: o.__name__)
@pytest.mark.parametrize("other", ["number", "array", "variable"])
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize(("x_shape", "other_shape"), [((), ()), ((3,), (3,)), ((3,), (2, 3)),
                                                       ((2, 3), (3,)), ((2, 1), (1, 3))])
def test_binary_operator(op: Callable[[Any, Any], Any], other: str, side: str,
                         x_shape: tuple[int, ...], other_shape: tuple[int, ...]) -> None:
    """+ - * / ** of a Variable with a number, array or Variable on either side, broadcasting."""
    x = RNG.uniform(0.5, 2.0, x_shape)
    y = _operand(other, other_shape)
    args = [x, y] if side == "left" else [y, x]
    dx = RNG.normal(size=x_shape)
    dy = RNG.normal(size=np.shape(y)) if other == "variable" else None
    directions = [dx, dy] if side == "left" else [dy, dx]
    out = check_tangent(op, args, directions)
    assert out.shape == np.broadcast_shapes(x_shape, np.shape(y))


@pytest.mark.parametrize("directions", [1, 2])
def test_vector_times_matrix_array_broadcasts_the_tangent(directions: int) -> None:
    """A (3,) Variable times a (2, 3) array has tangent (T, 2, 3) equal to t[k] * array."""
    x, a = RNG.normal(size=3), RNG.normal(size=(2, 3))
    t = RNG.normal(size=(directions, 3))
    for out in (Variable(x, t) * a, a * Variable(x, t)):
        assert out.tangent.shape == (directions, 2, 3)
        for k in range(directions):
            np.testing.assert_allclose(out.tangent[k], t[k] * a, rtol=1e-15)


def test_unary_minus() -> None:
    """-v negates the value and the tangent."""
    out = check_tangent(operator.neg, [RNG.normal(size=(2, 3))], [RNG.normal(size=(2, 3))])
    assert out.shape == (2, 3)


def test_unary_plus_and_abs() -> None:
    """+v is v; abs(v) has slope sign(v)."""
    v = Variable(np.array([-2.0, 3.0]), np.ones(2))
    assert +v is v
    np.testing.assert_array_equal(abs(v).grad, [-1.0, 1.0])


@pytest.mark.parametrize(("x_shape", "y_shape"), [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
])
@pytest.mark.parametrize("seed", ["x", "y", "both"])
def test_matmul_operator(x_shape: tuple[int, ...], y_shape: tuple[int, ...], seed: str) -> None:
    """@ with a Variable on the left, the right or both sides gives the product's tangent."""
    x, y = RNG.normal(size=x_shape), RNG.normal(size=y_shape)
    dx = RNG.normal(size=x_shape) if seed in ("x", "both") else None
    dy = RNG.normal(size=y_shape) if seed in ("y", "both") else None
    out = check_tangent(operator.matmul, [x, y], [dx, dy])
    assert out.shape == np.matmul(x, y).shape


def test_power_differentiates_the_exponent() -> None:
    """d/dy 2**y = 2**y log 2, with the base a number, an array or a constant Variable."""
    y = 1.7
    expected = 2.0**y * np.log(2.0)
    assert float((2 ** Variable(y, 1)).grad) == pytest.approx(expected, rel=1e-14)
    assert float((Variable(2.0) ** Variable(y, 1)).grad) == pytest.approx(expected, rel=1e-14)
    base = np.array([2.0, 3.0])
    np.testing.assert_allclose((base ** Variable(y, 1)).grad, base**y * np.log(base),
                               rtol=1e-14)


def test_power_of_both() -> None:
    """d(x**y) with both moving: y x**(y-1) dx + x**y log(x) dy."""
    x, y = 1.5, 2.5
    out = Variable(x, 1.0) ** Variable(y, 1.0)
    assert float(out.grad) == pytest.approx(y * x ** (y - 1) + x**y * np.log(x), rel=1e-14)


def test_blog_mse_square_has_closed_form() -> None:
    """The blog's (a - b) ** Variable(2, 0) has derivative 2 (a - b) da."""
    a, b = Variable(3.0, 1.0), Variable(1.25)
    out = (a - b) ** Variable(2, 0)
    assert float(out.value) == pytest.approx(1.75**2)
    assert float(out.grad) == pytest.approx(2 * 1.75)


@pytest.mark.parametrize(("op", "expected"), [
    (operator.lt, [True, False, False]), (operator.le, [True, True, False]),
    (operator.gt, [False, False, True]), (operator.ge, [False, True, True]),
    (operator.eq, [False, True, False]), (operator.ne, [True, False, True]),
])
def test_comparisons_compare_values(op: Callable[[Any, Any], Any], expected: list[bool]) -> None:
    """Comparisons look at values only, against arrays, numbers and Variables."""
    v = Variable(np.array([1.0, 2.0, 3.0]), np.array([9.0, -9.0, 0.5]))
    other = np.full(3, 2.0)
    for rhs in (other, 2.0, Variable(other, np.ones(3))):
        result = op(v, rhs)
        assert not isinstance(result, Variable)
        np.testing.assert_array_equal(result, expected)


def test_scalar_comparisons_and_truth() -> None:
    """A 0-d Variable compares like a number, also with different tangents; a constant one
    converts to float (one with a tangent refuses: tests/test_review_fixes.py)."""
    assert Variable(3.0, 1.0) < 4
    assert 4 > Variable(3.0, 1.0)  # noqa: SIM300 - the reflected comparison
    assert Variable(2.0, 1.0) == Variable(2.0, 5.0)
    assert bool(Variable(2.0, 1.0))
    assert not bool(Variable(0.0, 1.0))
    assert float(Variable(2.5)) == 2.5


# ---- what layers and losses need ----------------------------------------------------------------

SHAPE = (2, 3, 4)
AXES = [None, 0, 1, 2, -1, (0, 2), (1, -1), (0, 1, 2)]


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("how", ["method", "function", "numpy"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_reductions(axis: Any, keepdims: bool, how: str, reduction: str) -> None:
    """sum and mean over any axis (method, dualgrad function, NumPy call) with keepdims."""
    def f(x: Any) -> Any:
        if how == "method":
            return getattr(x, reduction)(axis=axis, keepdims=keepdims)
        if how == "function":
            return getattr(dg, reduction)(x, axis=axis, keepdims=keepdims)
        return getattr(np, reduction)(x, axis=axis, keepdims=keepdims)

    out = check_tangent(f, [RNG.normal(size=SHAPE)], [RNG.normal(size=SHAPE)])
    assert out.shape == getattr(np, reduction)(np.zeros(SHAPE), axis=axis,
                                                keepdims=keepdims).shape


@pytest.mark.parametrize("reshape", [
    lambda x: x.reshape(6, 4), lambda x: x.reshape((4, 6)), lambda x: x.reshape(-1),
    lambda x: x.reshape((2, -1, 2)), lambda x: dg.reshape(x, shape=(24,)),
    lambda x: np.reshape(x, (3, 8)),
])
def test_reshape(reshape: Callable[[Any], Any]) -> None:
    """Reshape moves tangent entries with the values, in every spelling."""
    check_tangent(reshape, [RNG.normal(size=SHAPE)], [RNG.normal(size=SHAPE)])


@pytest.mark.parametrize("transpose", [
    lambda x: x.T, lambda x: x.transpose(), lambda x: x.transpose(1, 0, 2),
    lambda x: x.transpose((2, 0, 1)), lambda x: dg.transpose(x, axes=(0, 2, 1)),
    lambda x: np.transpose(x), lambda x: np.transpose(x, (1, 2, 0)),
])
def test_transpose(transpose: Callable[[Any], Any]) -> None:
    """Transpose permutes tangent entries with the values, in every spelling."""
    check_tangent(transpose, [RNG.normal(size=SHAPE)], [RNG.normal(size=SHAPE)])


@pytest.mark.parametrize("index", [
    0, -1, (1, 2), (1, 2, 3), slice(1, None), (slice(None), slice(0, 2)),
    (Ellipsis, 1), (slice(None, None, -1), 0), np.array([1, 0, 1]), [1, 0],
    (0, np.array([2, 0, 2])), (np.array([0, 1]), np.array([1, 2])),
    np.array([True, False]), (slice(None), np.array([True, False, True])),
    "mask", (None, 0), (0, slice(None), None),
], ids=repr)
def test_indexing(index: Any) -> None:
    """Indexing by ints, slices, integer arrays and boolean masks selects tangent entries."""
    x = RNG.normal(size=SHAPE)
    if isinstance(index, str):
        index = x > 0
    out = check_tangent(lambda v: v[index], [x], [RNG.normal(size=SHAPE)])
    assert out.shape == x[index].shape


def test_len_and_iteration() -> None:
    """len() and iteration walk the first axis, each item a Variable with its tangent row."""
    x, t = RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2))
    v = Variable(x, t)
    assert len(v) == 3
    rows = list(v)
    assert len(rows) == 3
    for k, row in enumerate(rows):
        np.testing.assert_array_equal(row.value, x[k])
        np.testing.assert_array_equal(row.grad, t[k])
    with pytest.raises(TypeError):
        len(Variable(1.0, 1.0))


@pytest.mark.parametrize(("shapes", "axis"), [
    ([(2,), (3,)], 0), ([(2, 3), (2, 1)], 1), ([(2, 3), (1, 3), (2, 3)], 0),
    ([(2, 3), (2, 2)], -1), ([(2, 2), (3,)], None),
])
@pytest.mark.parametrize("how", ["dualgrad", "numpy"])
def test_concatenate(shapes: list[tuple[int, ...]], axis: Any, how: str) -> None:
    """concatenate of Variables and arrays stacks values and tangents (constants: zero)."""
    args = [RNG.normal(size=s) for s in shapes]
    directions = [RNG.normal(size=s) if k != 1 else None for k, s in enumerate(shapes)]

    def f(*xs: Any) -> Any:
        if how == "numpy":
            return np.concatenate(xs, axis=axis)
        return dg.concatenate(list(xs), axis=axis)

    check_tangent(f, args, directions)


# ---- bad input ----------------------------------------------------------------------------------

BAD = [("a string", "str"), (None, "NoneType"),
       (np.array([object(), object(), object()]), "object")]


@pytest.mark.parametrize(("bad", "type_name"), BAD, ids=["str", "None", "object-array"])
@pytest.mark.parametrize(("op", "op_name"), [
    (operator.add, "add"), (operator.sub, "subtract"), (operator.mul, "multiply"),
    (operator.truediv, "divide"), (operator.pow, "power"), (operator.matmul, "matmul"),
])
@pytest.mark.parametrize("side", ["left", "right"])
def test_bad_operand_raises_type_error(bad: Any, type_name: str, op: Callable[[Any, Any], Any],
                                       op_name: str, side: str) -> None:
    """A Variable with a str, None or object array: TypeError naming the operation and types."""
    v = Variable(np.ones(3), np.ones(3))
    with pytest.raises(dg.DualgradTypeError) as info:
        op(v, bad) if side == "left" else op(bad, v)
    assert isinstance(info.value, TypeError)
    message = str(info.value)
    assert op_name in message
    assert type_name in message
    assert "Variable" in message


@pytest.mark.parametrize(("bad", "type_name"), BAD, ids=["str", "None", "object-array"])
def test_bad_value_raises_type_error(bad: Any, type_name: str) -> None:
    """Variable(str | None | object array) raises a TypeError naming Variable and the type."""
    with pytest.raises(dg.DualgradTypeError, match=f"Variable.*{type_name}"):
        Variable(bad)


@pytest.mark.parametrize(("bad", "type_name"), BAD, ids=["str", "None", "object-array"])
def test_bad_operand_of_a_primitive_raises_type_error(bad: Any, type_name: str) -> None:
    """A primitive called on a str, None or object array names itself and the type."""
    with pytest.raises(dg.DualgradTypeError, match=f"exp.*{type_name}"):
        dg.exp(bad)


@pytest.mark.parametrize(("x_shape", "y_shape"), [((3,), (4,)), ((2, 3), (3, 2)),
                                                  ((2, 3), (2,))])
@pytest.mark.parametrize("other", ["array", "variable"])
def test_shapes_that_do_not_broadcast_raise_shape_error(x_shape: tuple[int, ...],
                                                        y_shape: tuple[int, ...],
                                                        other: str) -> None:
    """Non-broadcasting shapes raise ShapeError (a ValueError) naming both shapes."""
    v = Variable(np.ones(x_shape), np.ones(x_shape))
    y = np.ones(y_shape) if other == "array" else Variable(np.ones(y_shape), np.ones(y_shape))
    for op in (operator.add, operator.mul, operator.truediv):
        with pytest.raises(dg.ShapeError) as info:
            op(v, y)
        assert isinstance(info.value, ValueError)
        assert str(x_shape) in str(info.value) and str(y_shape) in str(info.value)


def test_matmul_mismatch_raises_shape_error() -> None:
    """@ of incompatible shapes raises ShapeError naming both shapes."""
    with pytest.raises(dg.ShapeError, match=r"\(2, 3\).*\(4,\)"):
        Variable(np.ones((2, 3)), np.ones((2, 3))) @ np.ones(4)


def test_different_direction_counts_raise_shape_error() -> None:
    """Operands seeded with different numbers of directions raise ShapeError saying so."""
    a = Variable(np.ones(3), np.ones((2, 3)))
    b = Variable(np.ones(3), np.ones((3, 3)))
    with pytest.raises(dg.ShapeError, match="directions"):
        a + b


@pytest.mark.parametrize("make", [
    lambda: Variable(1j), lambda: Variable(np.array([1.0 + 2.0j])),
    lambda: Variable(1.0, 1.0) * 1j, lambda: np.array([1j, 2j]) + Variable(np.ones(2), np.ones(2)),
    lambda: Variable(1.0, 1j),
], ids=["complex-scalar", "complex-array", "times-1j", "complex-array-plus", "complex-tangent"])
def test_complex_values_are_rejected(make: Callable[[], Any]) -> None:
    """Complex values raise a TypeError that says dualgrad differentiates real functions."""
    with pytest.raises(dg.DualgradTypeError, match="complex"):
        make()


def test_variable_refuses_to_become_an_array() -> None:
    """np.asarray(Variable) raises rather than silently dropping the tangent."""
    with pytest.raises(TypeError, match="tangent"):
        np.asarray(Variable(np.ones(2), np.ones(2)))
