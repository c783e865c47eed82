"""The functional API (jvp, grad, value_and_grad, jacobian, hessian, derivative), NumPy dispatch."""

from __future__ import annotations

import doctest
import importlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd
from dualgrad import Variable

RNG = np.random.default_rng(7)


def f_two(x: Any, y: Any) -> Any:
    """A scalar function of a (3,) and a (2, 3) array: sum(exp(x) * tanh(y)) + mean(log(y**2))."""
    return dg.sum(dg.exp(x) * dg.tanh(y)) + dg.mean(dg.log(y * y + 1.0))


def f_two_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form gradient of f_two."""
    gx = np.exp(x) * np.tanh(y).sum(axis=0)
    gy = np.exp(x) * (1 - np.tanh(y) ** 2) + (2 * y / (y * y + 1.0)) / y.size
    return gx, gy


X = RNG.normal(size=3)
Y = RNG.normal(size=(2, 3))

# ---- jvp ----------------------------------------------------------------------------------------


def test_jvp_jax_signature() -> None:
    """jvp(f, primals, tangents) returns (f(*primals), directional derivative) as arrays."""
    dx, dy = RNG.normal(size=X.shape), RNG.normal(size=Y.shape)
    out, tangent = dg.jvp(f_two, (X, Y), (dx, dy))
    assert type(out) is np.ndarray and out.shape == ()
    np.testing.assert_allclose(out, f_two(X, Y), rtol=1e-15)
    gx, gy = f_two_grad(X, Y)
    np.testing.assert_allclose(tangent, np.sum(gx * dx) + np.sum(gy * dy), rtol=1e-12)
    np.testing.assert_allclose(tangent, fd.directional(f_two, (X, Y), (dx, dy)), rtol=1e-6)


def test_jvp_accepts_lists_and_numbers() -> None:
    """Primals and tangents may be lists of Python numbers: d/dx exp(2x) at 0 along 1 is 2."""
    out, tangent = dg.jvp(lambda x: dg.exp(2 * x), [0.0], [1.0])
    assert float(out) == 1.0
    assert float(tangent) == 2.0


def test_jvp_array_output_has_output_shape() -> None:
    """The output tangent has the output's shape, with the direction axis dropped."""
    f = lambda x: x[:, None] * x  # noqa: E731
    out, tangent = dg.jvp(f, (X,), (np.ones(3),))
    assert out.shape == tangent.shape == (3, 3)
    np.testing.assert_allclose(tangent, fd.directional(f, (X,), (np.ones(3),)), rtol=1e-6)


def test_jvp_tuple_outputs() -> None:
    """A tuple-valued f gives a tuple of values and a tuple of tangents."""
    def f(x: Any, y: Any) -> tuple[Any, Any]:
        return x * y, dg.sum(y, axis=0) - x

    dx, dy = RNG.normal(size=X.shape), RNG.normal(size=Y.shape)
    outs, tangents = dg.jvp(f, (X, Y), (dx, dy))
    assert isinstance(outs, tuple) and isinstance(tangents, tuple)
    assert len(outs) == len(tangents) == 2
    np.testing.assert_allclose(outs[0], X * Y)
    np.testing.assert_allclose(tangents[0], dx * Y + X * dy, rtol=1e-14)
    np.testing.assert_allclose(tangents[1], dy.sum(axis=0) - dx, rtol=1e-14)


def test_jvp_of_an_output_independent_of_the_input_is_zero() -> None:
    """An output that does not depend on the primals has a zero tangent of its shape."""
    _, tangents = dg.jvp(lambda x: (np.ones((2, 2)), x * 0 + 1), (X,), (np.ones(3),))
    np.testing.assert_array_equal(tangents[0], np.zeros((2, 2)))
    np.testing.assert_array_equal(tangents[1], np.zeros(3))


def test_jvp_rejects_mismatched_tangents() -> None:
    """jvp raises ShapeError for a wrong number of tangents or a tangent of the wrong shape."""
    with pytest.raises(dg.ShapeError, match="2 primals but 1 tangents"):
        dg.jvp(f_two, (X, Y), (X,))
    with pytest.raises(dg.ShapeError, match=r"\(2,\).*\(3,\)"):
        dg.jvp(lambda x: x, (X,), (np.ones(2),))


# ---- grad and value_and_grad --------------------------------------------------------------------


def test_grad_matches_closed_form_and_finite_differences() -> None:
    """grad of a scalar f is shaped like x and equals the closed form and FD."""
    g = dg.grad(f_two)(X, Y)
    assert g.shape == X.shape
    np.testing.assert_allclose(g, f_two_grad(X, Y)[0], rtol=1e-12)
    np.testing.assert_allclose(g, fd.jacobian(f_two, (X, Y), 0), rtol=1e-6)


@pytest.mark.parametrize("argnums", [1, -1])
def test_grad_argnums_int(argnums: int) -> None:
    """argnums picks the argument to differentiate; negative counts from the end."""
    g = dg.grad(f_two, argnums=argnums)(X, Y)
    assert g.shape == Y.shape
    np.testing.assert_allclose(g, f_two_grad(X, Y)[1], rtol=1e-12)


def test_grad_argnums_tuple() -> None:
    """A tuple argnums gives a tuple of gradients in that order."""
    gy, gx = dg.grad(f_two, argnums=(1, 0))(X, Y)
    ex, ey = f_two_grad(X, Y)
    np.testing.assert_allclose(gx, ex, rtol=1e-12)
    np.testing.assert_allclose(gy, ey, rtol=1e-12)
    (only,) = dg.grad(f_two, argnums=(0,))(X, Y)
    np.testing.assert_allclose(only, ex, rtol=1e-12)


def test_grad_passes_keyword_arguments() -> None:
    """Keyword arguments reach f and are not differentiated."""
    g = dg.grad(lambda x, scale=1.0: dg.sum(x * x) * scale)(X, scale=3.0)
    np.testing.assert_allclose(g, 6.0 * X, rtol=1e-15)


def test_grad_of_scalar_input() -> None:
    """grad of a function of a Python float is a 0-d array: d/dx x**3 = 3x**2."""
    g = dg.grad(lambda x: x**3)(2.0)
    assert np.shape(g) == ()
    assert float(g) == pytest.approx(12.0, rel=1e-15)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 5, 8, 9, 100])
def test_grad_chunk_size_gives_identical_numbers(chunk_size: int) -> None:
    """Any chunk_size, dividing n or not, gives the same gradient as one pass."""
    one_pass = dg.grad(f_two, argnums=(0, 1))(X, Y)
    chunked = dg.grad(f_two, argnums=(0, 1), chunk_size=chunk_size)(X, Y)
    for a, b in zip(one_pass, chunked, strict=True):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("chunk_size", "calls"), [(None, 1), (1, 9), (2, 5), (4, 3), (9, 1)])
def test_grad_makes_one_pass_per_chunk(chunk_size: int | None, calls: int) -> None:
    """All 9 directions go through f in one pass, or ceil(9 / chunk_size) passes."""
    seen: list[int] = []

    def f(x: Any, y: Any) -> Any:
        seen.append(x.num_directions if isinstance(x, Variable) else y.num_directions)
        return f_two(x, y)

    dg.grad(f, argnums=(0, 1), chunk_size=chunk_size)(X, Y)
    assert len(seen) == calls
    assert sum(seen) == 9


def test_value_and_grad() -> None:
    """value_and_grad gives f's value and the same gradient as grad."""
    value, g = dg.value_and_grad(f_two)(X, Y)
    np.testing.assert_allclose(value, f_two(X, Y), rtol=1e-15)
    np.testing.assert_allclose(g, f_two_grad(X, Y)[0], rtol=1e-12)
    value, (_, gy) = dg.value_and_grad(f_two, argnums=(0, 1), chunk_size=4)(X, Y)
    np.testing.assert_allclose(value, f_two(X, Y), rtol=1e-15)
    np.testing.assert_allclose(gy, f_two_grad(X, Y)[1], rtol=1e-12)


def test_grad_of_non_scalar_raises_shape_error() -> None:
    """grad of an array-valued f raises ShapeError that names the shape and says jacobian."""
    with pytest.raises(dg.ShapeError, match=r"scalar.*\(3,\).*jacobian"):
        dg.grad(lambda x: x * 2)(X)
    with pytest.raises(dg.ShapeError, match="jacobian"):
        dg.value_and_grad(lambda x: x * 2)(X)


@pytest.mark.parametrize("argnums", [2, -3, 10])
def test_bad_argnums_out_of_range(argnums: int) -> None:
    """argnums out of range raises ConfigError naming it and the number of arguments."""
    with pytest.raises(dg.ConfigError, match=f"{argnums}.*2 positional"):
        dg.grad(f_two, argnums=argnums)(X, Y)


@pytest.mark.parametrize("argnums", ["a", 1.0, (0, "b"), (None,)])
def test_bad_argnums_type(argnums: Any) -> None:
    """Non-int argnums raise DualgradTypeError naming argnums."""
    with pytest.raises(dg.DualgradTypeError, match="argnums"):
        dg.grad(f_two, argnums=argnums)(X, Y)


@pytest.mark.parametrize(("chunk_size", "error"), [
    (0, dg.ConfigError), (-1, dg.ConfigError),
    (1.5, dg.DualgradTypeError), (True, dg.DualgradTypeError), ("2", dg.DualgradTypeError),
])
@pytest.mark.parametrize("transform", [dg.grad, dg.value_and_grad, dg.jacobian])
def test_bad_chunk_size(chunk_size: Any, error: type[Exception],
                        transform: Callable[..., Any]) -> None:
    """A chunk_size below 1 raises ConfigError, one that is not an int DualgradTypeError, each
    naming chunk_size."""
    with pytest.raises(error, match="chunk_size") as info:
        transform(f_two, chunk_size=chunk_size)(X, Y)
    assert type(info.value) is error


# ---- jacobian -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("f", "x"), [
    (lambda x: x * x, np.array([1.0, 3.0])),
    (lambda x: dg.exp(x) @ np.arange(6.0).reshape(3, 2), RNG.normal(size=3)),
    (lambda x: dg.tanh(x).T, RNG.normal(size=(2, 3))),
    (lambda x: dg.sum(x**2, axis=1), RNG.normal(size=(2, 3))),
    (lambda x: dg.concatenate([x, x * 2.0]), RNG.normal(size=2)),
    (lambda x: dg.stack([x, dg.exp(x)]), np.array(0.5)),
    (lambda x: dg.sigmoid(x) * np.ones((2, 2)), np.array(0.3)),
    (lambda x: dg.sum(x), RNG.normal(size=(2, 2))),
], ids=["square", "exp-matmul", "tanh-transpose", "sum-axis", "concat", "stack-scalar",
        "broadcast-scalar", "scalar-out"])
@pytest.mark.parametrize("chunk_size", [None, 1, 2])
def test_jacobian_shape_and_values(f: Callable[[Any], Any], x: np.ndarray,
                                   chunk_size: int | None) -> None:
    """jacobian(f)(x) has shape out.shape + x.shape and matches finite differences."""
    jac = dg.jacobian(f, chunk_size=chunk_size)(x)
    out = np.asarray(f(x))
    assert jac.shape == out.shape + x.shape
    np.testing.assert_allclose(jac, fd.jacobian(f, (x,), 0), rtol=1e-6, atol=1e-8)


def test_jacobian_argnums_tuple() -> None:
    """jacobian with a tuple argnums gives one block per argument."""
    f = lambda x, y: x * y  # noqa: E731
    jx, jy = dg.jacobian(f, argnums=(0, 1))(X, Y)
    assert jx.shape == (2, 3, 3) and jy.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(jx, fd.jacobian(f, (X, Y), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jy, fd.jacobian(f, (X, Y), 1), rtol=1e-6, atol=1e-8)


# ---- hessian and derivative ---------------------------------------------------------------------


def test_hessian_of_cubes_is_diagonal() -> None:
    """hessian(sum(x**3)) = diag(6x)."""
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(dg.hessian(lambda x: dg.sum(x**3))(x), np.diag(6 * x),
                               rtol=1e-14)


def test_hessian_closed_form() -> None:
    """hessian(a**2 b + exp(a b)) at (a, b) matches the hand-derived matrix, shape x+x."""
    def f(v: Any) -> Any:
        a, b = v[0], v[1]
        return a * a * b + dg.exp(a * b)

    a, b = 0.7, -1.3
    e = np.exp(a * b)
    expected = np.array([[2 * b + b * b * e, 2 * a + e + a * b * e],
                         [2 * a + e + a * b * e, a * a * e]])
    h = dg.hessian(f)(np.array([a, b]))
    assert h.shape == (2, 2)
    np.testing.assert_allclose(h, expected, rtol=1e-13)


def test_hessian_of_matrix_input() -> None:
    """hessian of sum(x**2 * w) for a (2, 2) x is 2 diag(w), shaped (2, 2, 2, 2)."""
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    h = dg.hessian(lambda x: dg.sum(x * x * w))(RNG.normal(size=(2, 2)))
    assert h.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(h.reshape(4, 4), np.diag(2 * w.ravel()), atol=1e-14)


X0 = 0.8


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4])
@pytest.mark.parametrize(("f", "nth"), [
    (lambda x: dg.exp(2 * x), lambda n, x: 2**n * math.exp(2 * x)),
    (lambda x: dg.log(x), lambda n, x: math.log(x) if n == 0 else
        (-1) ** (n - 1) * math.factorial(n - 1) / x**n),
    (lambda x: x * dg.exp(x), lambda n, x: (x + n) * math.exp(x)),
    (lambda x: dg.exp(dg.log(x) * 3), lambda n, x: [x**3, 3 * x**2, 6 * x, 6.0, 0.0][n]),
    (lambda x: 1 / x, lambda n, x: (-1) ** n * math.factorial(n) / x ** (n + 1)),
    (lambda x: dg.sqrt(x), lambda n, x: [x**0.5, 0.5 * x**-0.5, -0.25 * x**-1.5,
                                         0.375 * x**-2.5, -0.9375 * x**-3.5][n]),
    (lambda x: dg.tanh(x), lambda n, x: _tanh_derivatives(x)[n]),
    (lambda x: dg.sigmoid(x), lambda n, x: _sigmoid_derivatives(x)[n]),
], ids=["exp2x", "log", "xexp", "exp3log", "reciprocal", "sqrt", "tanh", "sigmoid"])
def test_derivative_orders_closed_form(f: Callable[[Any], Any], nth: Callable[[int, float], float],
                                       order: int) -> None:
    """derivative(f, order) matches closed forms of orders 0 to 4."""
    value = dg.derivative(f, order=order)(X0)
    assert float(value) == pytest.approx(nth(order, X0), rel=1e-12, abs=1e-12)


def _tanh_derivatives(x: float) -> list[float]:
    t = math.tanh(x)
    s = 1 - t * t
    return [t, s, -2 * t * s, -2 * s * s + 4 * t * t * s, 16 * t * s * s - 8 * t**3 * s]


def _sigmoid_derivatives(x: float) -> list[float]:
    s = 1 / (1 + math.exp(-x))
    d1 = s * (1 - s)
    return [s, d1, d1 * (1 - 2 * s), d1 * (1 - 6 * s + 6 * s * s),
            d1 * (1 - 14 * s + 36 * s * s - 24 * s**3)]


def test_derivative_matches_finite_differences_of_closed_first_derivative() -> None:
    """Second derivative of a composite equals FD of its hand-written first derivative."""
    f = lambda x: dg.log(1 + dg.exp(x * x)) * dg.tanh(x)  # noqa: E731

    def df(x: float) -> float:
        u = math.exp(x * x)
        return 2 * x * u / (1 + u) * math.tanh(x) + math.log(1 + u) * (1 - math.tanh(x) ** 2)

    assert float(dg.derivative(f)(X0)) == pytest.approx(df(X0), rel=1e-12)
    assert float(dg.derivative(f, order=2)(X0)) == pytest.approx(fd.derivative(df, X0),
                                                                 rel=1e-6)


def test_derivative_rejects_negative_order() -> None:
    """A negative order raises ConfigError (a ValueError) naming order."""
    with pytest.raises(dg.ConfigError, match="order"):
        dg.derivative(dg.exp, order=-1)


@pytest.mark.parametrize("order", [1.5, True, "2"])
def test_derivative_rejects_non_int_order(order: Any) -> None:
    """An order that is not an int raises DualgradTypeError (a TypeError) naming order."""
    with pytest.raises(dg.DualgradTypeError, match="order"):
        dg.derivative(dg.exp, order=order)


def test_perturbation_confusion() -> None:
    """d/dx [x * (d/dy (x + y) at y = 1)] at x = 1 is 1, not 2."""
    def outer(x: Any) -> Any:
        return x * dg.derivative(lambda y: x + y)(1.0)

    assert float(dg.derivative(outer)(1.0)) == 1.0
    assert float(dg.grad(outer)(1.0)) == 1.0


def test_nested_derivative_of_product() -> None:
    """d/dx [x * d/dy (x * y)] = d/dx x**2 = 2x: the inner derivative sees the outer x."""
    def outer(x: Any) -> Any:
        return x * dg.grad(lambda y: x * y)(3.0)

    assert float(dg.derivative(outer)(1.5)) == 3.0


def test_jvp_nests_inside_grad() -> None:
    """grad of a function that itself calls jvp: d/dx (d/dt exp(x t) at t=1) = (1 + x) e^x."""
    def inner(x: Any) -> Any:
        return dg.jvp(lambda t: dg.exp(x * t), (1.0,), (1.0,))[1]

    x = 0.4
    assert float(dg.grad(inner)(x)) == pytest.approx((1 + x) * math.exp(x), rel=1e-14)


# ---- NumPy dispatch -----------------------------------------------------------------------------

POS = RNG.uniform(0.5, 2.0, size=(2, 3))
OTHER = RNG.uniform(-2.0, 2.0, size=(2, 3))
COND = np.array([[True, False, True], [False, False, True]])


@pytest.mark.parametrize("f", [
    np.exp, np.log, np.sqrt, np.tanh, np.square, np.abs, np.negative, np.positive,
    lambda x: np.sum(x, axis=0), lambda x: np.sum(x), lambda x: np.mean(x, axis=-1),
    lambda x: np.mean(x, axis=(0, 1), keepdims=True),
    lambda x: np.where(COND, x, OTHER), lambda x: np.where(COND, OTHER, x * 2),
    lambda x: np.maximum(x, OTHER), lambda x: np.minimum(OTHER, x),
    lambda x: np.clip(x, 0.9, 1.6), lambda x: np.clip(x, None, 1.2),
    lambda x: np.clip(x, 0.8, None),
    lambda x: np.concatenate([x, OTHER]), lambda x: np.concatenate([OTHER, x], axis=1),
    lambda x: np.stack([x, OTHER]), lambda x: np.stack([OTHER, x, x], axis=-1),
    lambda x: np.reshape(x, (3, 2)), lambda x: np.transpose(x),
    lambda x: np.broadcast_to(x, (4, 2, 3)), lambda x: np.matmul(x, OTHER.T),
    lambda x: np.add(x, OTHER), lambda x: np.multiply(OTHER, x), lambda x: np.divide(1.0, x),
    lambda x: np.power(x, OTHER), lambda x: np.power(OTHER * 0 + 2.0, x),
    lambda x: np.subtract(x, x * x),
], ids=lambda f: getattr(f, "__name__", "lambda"))
def test_numpy_functions_dispatch_with_right_tangents(f: Callable[[Any], Any]) -> None:
    """NumPy functions called on a Variable return a Variable with the FD tangent."""
    d = RNG.normal(size=POS.shape)
    out = f(Variable(POS, d))
    assert isinstance(out, Variable)
    np.testing.assert_allclose(out.value, f(POS), rtol=1e-15)
    np.testing.assert_allclose(out.grad, fd.directional(f, (POS,), (d,)), rtol=1e-6, atol=1e-8)


def test_numpy_where_with_variable_condition_uses_its_value() -> None:
    """np.where(v > 1, ...) and np.where(Variable, ...) branch on the condition's value."""
    v = Variable(POS, np.ones(POS.shape))
    out = np.where(v > 1.0, v, 0.0)
    np.testing.assert_array_equal(out.grad, (POS > 1.0).astype(float))


def test_numpy_comparisons_return_plain_booleans() -> None:
    """np.greater on a Variable returns a plain boolean array of the values' comparison."""
    v = Variable(POS, np.ones(POS.shape))
    result = np.greater(v, 1.0)
    assert type(result) is np.ndarray and result.dtype == bool
    np.testing.assert_array_equal(result, POS > 1.0)


def test_numpy_shape_queries() -> None:
    """np.shape, np.ndim and np.size answer for a Variable."""
    v = Variable(POS, np.ones(POS.shape))
    assert np.shape(v) == (2, 3)
    assert np.ndim(v) == 2
    assert np.size(v) == 6
    assert np.size(v, 1) == 3


def test_grad_through_numpy_calls() -> None:
    """grad of a function written with np.* calls: d/dx sum(exp(x) * x) = (1 + x) e^x."""
    g = dg.grad(lambda x: np.sum(np.exp(x) * x))(X)
    np.testing.assert_allclose(g, (1 + X) * np.exp(X), rtol=1e-14)


@pytest.mark.parametrize(("call", "name"), [
    (lambda v: np.fft.fft(v), "numpy.fft.fft"),
    (lambda v: np.partition(v, 0), "numpy.partition"),
    (lambda v: np.cumprod(v), "numpy.cumprod"),
    (lambda v: np.spacing(v), "numpy.spacing"),
    (lambda v: np.add.reduce(v), "numpy.add.reduce"),
    (lambda v: np.pad(v, 1, mode="median"), "mode='median'"),
    (lambda v: np.sum(v, dtype=np.float32), "dtype"),
], ids=["fft", "partition", "cumprod", "spacing", "add.reduce", "pad-median", "sum-dtype"])
def test_unsupported_numpy_function_raises_not_implemented(call: Callable[[Any], Any],
                                                           name: str) -> None:
    """An unsupported NumPy function or option on a Variable: NotImplementedError naming it."""
    with pytest.raises(NotImplementedError) as info:
        call(Variable(X, np.ones(3)))
    assert name in str(info.value)


# ---- docstring examples -------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["dualgrad._variable", "dualgrad._primitive",
                                    "dualgrad._transforms", "dualgrad._higher", "dualgrad._reverse",
                                    "dualgrad._trace", "dualgrad._lookup"])
def test_docstring_examples_run(module: str) -> None:
    """The runnable examples in the core modules' docstrings give what they show."""
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
