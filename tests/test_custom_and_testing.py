"""custom_jvp (user rules without a plugin) and dualgrad.testing.check_grads."""

from __future__ import annotations

import numpy as np
import pytest

import dualgrad as dg
from dualgrad.testing import check_grads


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@dg.custom_jvp
def log1pexp(x):
    return np.log1p(np.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * dg.sigmoid(x)


@dg.custom_jvp
def doubled_slope(x):
    return x * x


@doubled_slope.defjvp
def _doubled_slope_jvp(primals, tangents):
    # deliberately not the derivative of x*x: proves the rule, not the function, is used
    (x,), (t,) = primals, tangents
    return doubled_slope(x), t * 4.0 * x


def test_custom_rule_gives_the_derivative():
    """grad of a custom_jvp function is its rule's: log1pexp' = sigmoid."""
    x = np.array([-3.0, 0.0, 2.5])
    np.testing.assert_allclose(dg.grad(lambda v: dg.sum(log1pexp(v)))(x), _sigmoid(x),
                               rtol=1e-14)


def test_custom_rule_is_used_instead_of_differentiating_the_function():
    """A rule that disagrees with the function's own derivative wins."""
    assert float(dg.grad(doubled_slope)(3.0)) == 12.0


def test_custom_function_called_plainly_runs_the_function():
    """Without tangents, the function itself runs and the rule does not."""
    assert float(doubled_slope(3.0)) == 9.0


def test_custom_rule_per_direction_gives_the_jacobian():
    """With many directions, a rule written for one direction still gives the full Jacobian."""
    x = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(dg.jacobian(log1pexp)(x), np.diag(_sigmoid(x)), rtol=1e-14)


def test_batched_rule_receives_the_direction_axis():
    """batched=True calls the rule once, with tangents of shape (T, *shape)."""
    seen = []

    def cube(x):
        return x ** 3

    fast = dg.custom_jvp(cube, batched=True)

    @fast.defjvp
    def _rule(primals, tangents):
        (x,), (t,) = primals, tangents
        seen.append(np.shape(t))
        return fast(x), t * (3 * x * x)

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(dg.jacobian(fast)(x), np.diag(3 * x * x))
    assert seen == [(2, 2)]


def test_custom_rule_nests_for_second_derivatives():
    """hessian through a custom rule: log1pexp'' = sigmoid (1 - sigmoid)."""
    x = np.array([-1.0, 0.5])
    s = _sigmoid(x)
    np.testing.assert_allclose(dg.hessian(lambda v: dg.sum(log1pexp(v)))(x), np.diag(s * (1 - s)),
                               rtol=1e-12)


def test_custom_rule_inside_nested_grads_keeps_levels_apart():
    """d/dx [x * (d/dy log1pexp(x + y) at y = 0)] = sigmoid(x) + x sigmoid'(x)."""
    def inner(x):
        return x * dg.grad(lambda y: log1pexp(x + y))(0.0)

    x = 0.7
    s = _sigmoid(x)
    assert abs(float(dg.grad(inner)(x)) - (s + x * s * (1 - s))) < 1e-12


def test_constant_arguments_get_zero_tangents():
    """Differentiating one argument passes zeros as the other's tangent."""
    @dg.custom_jvp
    def scaled(x, a):
        return a * x

    @scaled.defjvp
    def _rule(primals, tangents):
        (x, a), (tx, ta) = primals, tangents
        assert np.all(np.asarray(ta) == 0)
        return scaled(x, a), a * tx + x * ta

    assert float(dg.grad(scaled, argnums=0)(2.0, 5.0)) == 5.0


def test_rule_with_the_wrong_tangent_shape_is_a_shape_error():
    """A rule returning a tangent of the wrong shape raises ShapeError naming the shapes."""
    @dg.custom_jvp
    def f(x):
        return x

    @f.defjvp
    def _rule(primals, tangents):
        return primals[0], np.zeros(5)

    with pytest.raises(dg.ShapeError, match=r"\(5,\)"):
        dg.grad(lambda v: dg.sum(f(v)))(np.ones(3))


def test_function_without_a_rule_cannot_be_differentiated():
    """Differentiating a custom_jvp function with no rule says to define one."""
    @dg.custom_jvp
    def f(x):
        return x

    with pytest.raises(NotImplementedError, match="defjvp"):
        dg.grad(f)(1.0)


# ---- check_grads -----------------------------------------------------------------------------

_wrong_cos = dg.Primitive("wrong_cos", np.cos, lambda t, out, x: t * np.sin(x),
                          elementwise=True)  # the sign is wrong: cos' = -sin
_sin_with_wrong_second = dg.Primitive("sin2", np.sin, lambda t, out, x: t * _wrong_cos(x),
                                      elementwise=True)
_wrong_exp = dg.Primitive("wrong_exp", np.exp, lambda t, out, x: t * out * 1.001,
                          elementwise=True)


def test_check_grads_accepts_right_derivatives_up_to_order_three():
    """Correct functions pass at orders 1 to 3, with several arguments and tuple outputs."""
    x, y = np.array([0.3, -0.8]), np.array([1.5, 0.2])
    check_grads(lambda a, b: dg.sigmoid(a) * np.sin(b) + a * b, (x, y), order=3)
    check_grads(lambda a: (np.exp(a), dg.sum(a * a)), (x,), order=2)


def test_check_grads_catches_a_wrong_first_derivative_with_both_numbers():
    """A rule 0.1% off raises AssertionError naming the order and both values."""
    with pytest.raises(AssertionError, match="order-1 check failed") as info:
        check_grads(_wrong_exp, (np.array([0.5, 1.0]),))
    assert "dualgrad gives" in str(info.value) and "finite differences" in str(info.value)


def test_check_grads_catches_a_wrong_second_derivative():
    """A right first derivative whose own rule is wrong passes order 1 and fails order 2."""
    x = (np.array([0.4, 1.1]),)
    check_grads(_sin_with_wrong_second, x, order=1)
    with pytest.raises(AssertionError, match="order-1 check failed"):
        check_grads(_sin_with_wrong_second, x, order=2)


@pytest.mark.parametrize(("order", "error"), [(0, dg.ConfigError), (-1, dg.ConfigError),
                                              (1.5, dg.DualgradTypeError),
                                              (True, dg.DualgradTypeError)])
def test_check_grads_refuses_a_bad_order_with_a_dualgrad_error(order, error):
    """check_grads names a bad order with a dualgrad error, not a bare ValueError."""
    with pytest.raises(error, match="order must be a positive int"):
        check_grads(np.sin, (np.array([0.5]),), order=order)


def test_len_of_a_scalar_variable_is_a_dualgrad_type_error():
    """len() of a 0-d Variable is a DualgradTypeError that says what to use instead."""
    with pytest.raises(dg.DualgradTypeError, match="0-d Variable"):
        len(dg.Variable(1.0, 1.0))
