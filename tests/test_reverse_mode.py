"""Reverse mode: every registered primitive's rule, transposed, gives the vector-Jacobian
product of finite differences, over the shapes its forward checks use."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd
from dualgrad._core import new_tag
from dualgrad._linear import linearize
from test_primitives import BUILTIN_NAMES, close, spec_cases
from test_registry import FakePlugins, cube_primitive, plugin_module, plugins  # noqa: F401


def _vjp(f: Any, args: tuple[Any, ...], i: int, cotangent: np.ndarray) -> np.ndarray:
    def of_one(x: Any) -> Any:
        return f(*args[:i], x, *args[i + 1:])
    _, lin = linearize(of_one, [np.asarray(args[i], dtype=float)], new_tag())
    return lin.transpose(cotangent)[0]


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_transposed_rules_match_finite_differences(name: str) -> None:
    """For each argument, the transposed rule applied to a random cotangent is the cotangent
    times the finite-difference Jacobian (reverse mode's vector-Jacobian product)."""
    prim = dg.primitive(name)
    rng = np.random.default_rng(7)
    for case in spec_cases(name):
        f = lambda *a, case=case: prim(*a, **case.params)  # noqa: E731
        out = np.asarray(f(*case.args))
        for i in case.diff:
            c = rng.normal(size=out.shape)
            jac = fd.jacobian(f, case.args, i).reshape(out.size, -1)
            want = (c.reshape(-1) @ jac).reshape(np.shape(case.args[i]))
            close(_vjp(f, case.args, i, c), want, f"{name}, argument {i}, {case.label()}")


# ---- the transformations -----------------------------------------------------------------------

def _program(w: Any, x: Any) -> Any:
    """A composite: products, indexing, concatenation, a mask, einsum and reductions."""
    h = dg.tanh(x @ w) * dg.sigmoid(w[0])
    both = dg.concatenate([h, dg.exp(-h[:, :1])], axis=1)
    masked = np.where(x[:, :1] > 0, both, 0.5 * both)
    return dg.sum(np.einsum("ij,jk->ik", masked, np.ones((4, 2))) ** 2) + dg.mean(w * w)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.normal(size=(3, 3)), rng.normal(size=(5, 3))


def test_reverse_grad_of_a_composite_matches_finite_differences():
    """grad(mode="reverse") of a composite of many primitives and NumPy calls, in each argument
    and in both at once, is the finite-difference gradient."""
    w, x = _data()
    for argnums in (0, 1, (0, 1)):
        got = dg.grad(_program, argnums=argnums, mode="reverse")(w, x)
        nums = (argnums,) if isinstance(argnums, int) else argnums
        blocks = (got,) if isinstance(argnums, int) else got
        for i, g in zip(nums, blocks):
            close(g, fd.jacobian(_program, (w, x), i), f"argument {i}")


def test_vjp_of_a_function_with_two_outputs_matches_finite_differences():
    """vjp gives f's outputs and a function of one cotangent per output returning one
    cotangent per primal: c @ J for finite-difference Jacobians."""
    w, x = _data()

    def f(w: Any, x: Any) -> Any:
        return dg.tanh(x @ w), dg.sum(w * w)

    out, vjp_fn = dg.vjp(f, w, x)
    np.testing.assert_allclose(out[0], np.tanh(x @ w))
    c = (np.random.default_rng(0).normal(size=(5, 3)), np.array(2.0))
    cw, cx = vjp_fn(c)
    for i, got in ((0, cw), (1, cx)):
        want = sum((ci.reshape(-1) @ fd.jacobian(lambda *a, k=k: f(*a)[k], (w, x), i)
                    .reshape(ci.size, -1)).reshape((w, x)[i].shape) for k, ci in enumerate(c))
        close(got, want, f"primal {i}")


def test_vjp_refuses_a_cotangent_of_the_wrong_shape():
    """A cotangent not shaped like f's output is a ShapeError naming both shapes."""
    _, vjp_fn = dg.vjp(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(dg.ShapeError, match=r"\(2,\).*\(3,\)"):
        vjp_fn(np.ones(2))


def test_linearize_evaluates_the_linear_map_on_many_tangents():
    """linearize's f_jvp gives J @ t for any number of tangents without running f again,
    matching finite differences."""
    calls = [0]
    w, x = _data()

    def f(w: Any) -> Any:
        calls[0] += 1
        return dg.tanh(x @ w) * dg.exp(w[0])

    _, f_jvp = dg.linearize(f, w)
    rng = np.random.default_rng(1)
    for _ in range(3):
        t = rng.normal(size=w.shape)
        close(f_jvp(t), fd.directional(f, (w,), (t,)), "J @ t")
    assert calls[0] == 1 + 3 * 2  # the recording, then finite differences' own calls only


def test_reverse_jacobian_matches_finite_differences():
    """jacobian(mode="reverse") (one transposed pass per output element) is the
    finite-difference Jacobian, for each argument of a tuple `argnums`."""
    w, x = _data()

    def f(w: Any, x: Any) -> Any:
        return dg.sigmoid(x @ w)[:, 0] * dg.sum(w)

    jw, jx = dg.jacobian(f, argnums=(0, 1), mode="reverse")(w, x)
    close(jw, fd.jacobian(f, (w, x), 0), "w")
    close(jx, fd.jacobian(f, (w, x), 1), "x")


def _broken(name: str) -> dg.Primitive:
    # a rule that is not linear in its tangent: fine in forward mode, refused in reverse
    return dg.Primitive(name, lambda v: v ** 2, lambda t, out, v: 2 * v * t + 0 * t * t,
                        elementwise=True)


def test_a_rule_that_is_not_linear_is_refused_by_name_in_reverse_mode():
    """A rule multiplying its tangent by itself cannot be transposed: NotTransposableError,
    a dualgrad TypeError naming the primitive; forward mode still differentiates it."""
    square = _broken("nonlinear_square")
    with pytest.raises(dg.NotTransposableError, match=r"'nonlinear_square'.*by itself") as info:
        dg.grad(lambda v: dg.sum(square(v)), mode="reverse")(np.ones(3))
    assert isinstance(info.value, TypeError)
    np.testing.assert_allclose(dg.grad(lambda v: dg.sum(square(v)), mode="forward")(np.ones(3)),
                               [2.0, 2.0, 2.0])


def test_auto_takes_reverse_mode_from_a_hundred_inputs():
    """mode="auto" runs forward mode below AUTO_REVERSE_FROM inputs and reverse mode from it
    (seen through a rule only forward mode accepts); a chunk_size keeps forward mode."""
    square = _broken("nonlinear_square_auto")
    g = dg.grad(lambda v: dg.sum(square(v)))
    np.testing.assert_allclose(g(np.ones(99)), np.full(99, 2.0))
    with pytest.raises(dg.NotTransposableError):
        g(np.ones(100))
    chunked = dg.grad(lambda v: dg.sum(square(v)), chunk_size=50)(np.ones(100))
    np.testing.assert_allclose(chunked, np.full(100, 2.0))


def test_auto_keeps_zero_cotangents_zero_through_infinite_slopes():
    """Where reverse mode meets an infinite slope with a zero cotangent (sqrt at 0 on the
    branch a `where` drops), "auto" gives forward mode's answer: finite, the zero kept."""
    x = np.linspace(0.0, 1.0, 200)

    def f(x: Any) -> Any:
        return dg.sum(np.where(x > 0, dg.sqrt(x), 0.0) + x)

    with np.errstate(divide="ignore"):  # the slope 1 / (2 sqrt(0)), as in forward mode
        g = dg.grad(f)(x)
    assert np.isfinite(g).all() and g[0] == 1.0
    np.testing.assert_allclose(g[1:], 0.5 / np.sqrt(x[1:]) + 1.0)


def _nested_f(x: Any) -> Any:
    return dg.sum(dg.sin(x) * x ** 2) + dg.prod(x[:2]) * dg.exp(x[2])


@pytest.mark.parametrize("order", ["forward over reverse", "reverse over reverse",
                                   "reverse over forward", "jacobian over reverse"])
def test_reverse_mode_nests_in_every_order(order: str):
    """Reverse mode inside another differentiation, or around one: each order gives the
    Hessian-vector product H v of finite differences of the gradient (no perturbation
    confusion between the levels)."""
    x, v = np.array([0.3, 1.2, -0.7]), np.array([1.0, 0.5, -2.0])
    reverse_grad = dg.grad(_nested_f, mode="reverse")
    if order == "forward over reverse":
        hv = dg.jvp(reverse_grad, (x,), (v,))[1]
    elif order == "reverse over reverse":
        hv = dg.grad(lambda u: dg.sum(reverse_grad(u) * v), mode="reverse")(x)
    elif order == "reverse over forward":
        hv = dg.grad(lambda u: dg.jvp(_nested_f, (u,), (v,))[1], mode="reverse")(x)
    else:
        hv = dg.jacobian(reverse_grad)(x) @ v
    close(hv, fd.directional(dg.grad(_nested_f, mode="forward"), (x,), (v,)), order)


def test_reverse_mode_over_a_constant_carrying_tangents():
    """An argument reverse mode does not differentiate but that carries an outer
    differentiation's tangent passes it on: d/da of grad_x f(x, a) matches differences."""
    def f(x: Any, a: Any) -> Any:
        return dg.sum(dg.tanh(a * x) ** 2)

    x, a = np.array([0.2, -0.4, 0.9]), 1.3

    def mixed(a: Any) -> Any:
        return dg.grad(f, argnums=0, mode="reverse")(x, a)

    got = dg.jvp(mixed, (a,), (1.0,))[1]
    want = fd.directional(lambda a: dg.grad(f, mode="forward")(x, a), (a,), (1.0,))
    close(got, want, "d/da grad_x f")


@pytest.mark.parametrize("transform", [dg.grad, dg.value_and_grad, dg.jacobian])
def test_an_unknown_mode_is_a_config_error(transform: Any):
    """mode must be "auto", "forward" or "reverse"."""
    with pytest.raises(dg.ConfigError, match="'backward'"):
        transform(dg.sum, mode="backward")


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("shape", [(1,), (1, 1)])
def test_grad_takes_an_output_of_one_element_in_any_shape(mode: str, shape: tuple[int, ...]):
    """A function whose output has one element, shaped (1,) or (1, 1), has a gradient shaped
    like its input, as for a scalar output, in both modes."""
    def f(v: Any) -> Any:
        return dg.reshape(dg.sum(v[:2] * 2.0 + v[2] ** 2), shape)

    value, g = dg.value_and_grad(f, mode=mode)(np.array([1.0, 1.0, 3.0]))
    assert np.shape(value) == shape
    np.testing.assert_allclose(g, [2.0, 2.0, 12.0])  # v[2]**2 is added to both entries


def test_a_plugin_primitive_with_only_a_jvp_rule_runs_in_reverse_mode(
        plugins: FakePlugins) -> None:  # noqa: F811 - the registry tests' fixture
    """A primitive from an installed plugin package, written with one forward-mode rule and
    nothing else, differentiates in reverse mode: d/dx sum(cube(x) * x) = 4 x^3."""
    cube = cube_primitive("cube_of_a_plugin")
    plugins.add("cubes", plugin_module("fake_cubes", dualgrad_register_primitives=lambda: [cube]))
    plugins.reload()
    x = np.linspace(-1.0, 1.0, 5)
    g = dg.grad(lambda v: dg.sum(dg.primitive("cube_of_a_plugin")(v) * v), mode="reverse")(x)
    np.testing.assert_allclose(g, 4 * x ** 3)


@pytest.mark.parametrize("batched", [False, True])
def test_a_custom_jvp_runs_in_reverse_mode(batched: bool):
    """A function with a hand-written rule (custom_jvp, one direction or batched) is
    differentiated in reverse mode by its rule: softplus's slope is the sigmoid."""
    @dg.custom_jvp
    def softplus(x: Any) -> Any:
        return np.log1p(np.exp(x))

    softplus.batched = batched

    @softplus.defjvp
    def softplus_jvp(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        return softplus(x), t * dg.sigmoid(x)

    x = np.linspace(-2.0, 2.0, 7)
    g = dg.grad(lambda v: dg.sum(softplus(v)), mode="reverse")(x)
    np.testing.assert_allclose(g, 1.0 / (1.0 + np.exp(-x)), rtol=1e-12)


def test_hessian_is_forward_over_reverse_by_default_and_matches_finite_differences():
    """hessian records f's reverse pass once and pushes directions through it: the second
    derivatives match finite differences of the gradient, and forward over forward."""
    rng = np.random.default_rng(2)
    w = rng.normal(size=(6, 6)) / 3

    def f(x: Any) -> Any:
        return dg.sum(dg.tanh(w @ x) ** 2) + dg.sum(dg.exp(x[::2] * x[1::2]))

    x = rng.normal(size=6)
    h = dg.hessian(f)(x)
    close(h, fd.jacobian(dg.grad(f, mode="reverse"), (x,), 0), "forward over reverse")
    np.testing.assert_allclose(h, dg.hessian(f, mode="forward")(x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h, dg.hessian(f, mode="reverse")(x), rtol=0, atol=0)


def test_hessian_falls_back_to_forward_over_forward_where_reverse_cannot_go():
    """A function whose Python reads its values cannot be recorded, and a rule reverse mode
    cannot transpose is refused: "auto" takes forward over forward for both; "reverse" says
    why."""
    square = _broken("nonlinear_square_hessian")

    def branching(x: Any) -> Any:
        return dg.sum(x ** 3) if dg.sum(x).primal() > 0 else dg.sum(x ** 2)

    def untransposable(x: Any) -> Any:
        return dg.sum(square(x) * x)

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(dg.hessian(branching)(x), np.diag(6 * x))
    np.testing.assert_allclose(dg.hessian(untransposable)(x), np.diag(6 * x))
    with pytest.raises(dg.NotTransposableError):
        dg.hessian(untransposable, mode="reverse")(x)
    with pytest.raises(dg.TracingError):
        dg.hessian(branching, mode="reverse")(x)


# rules that look at their values (a matrix's singularity, repeated eigen- or singular values)
# before they differentiate: their reverse pass cannot be recorded to nest in reverse mode
_CHECK_VALUES = {"det", "logabsdet", "solve", "eigh", "qr", "svd"}


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_second_order_in_reverse_mode_matches_finite_differences(name: str) -> None:
    """Second order by reverse over reverse, for every registered primitive: the gradient of
    v . grad(c . f) is the Hessian-vector product of finite differences of forward mode's
    gradient; a primitive whose rule checks its values says it cannot nest, clearly."""
    prim = dg.primitive(name)
    rng = np.random.default_rng(11)
    for case in spec_cases(name)[:3]:
        for i in case.diff:
            out = np.asarray(prim(*case.args, **case.params))
            c = rng.normal(size=out.shape)
            v = rng.normal(size=np.shape(case.args[i]))

            def scalar(x: Any, case: Any = case, i: int = i, c: Any = c) -> Any:
                args = (*case.args[:i], x, *case.args[i + 1:])
                return dg.sum(prim(*args, **case.params) * c)

            def along_v(x: Any, scalar: Any = scalar, v: Any = v) -> Any:
                return dg.sum(dg.grad(scalar, mode="reverse")(x) * v)

            x = np.asarray(case.args[i], dtype=float)
            try:
                got = dg.grad(along_v, mode="reverse")(x)
            except NotImplementedError as exc:
                assert name in _CHECK_VALUES and "mode='forward'" in str(exc), str(exc)
                continue
            want = fd.directional(dg.grad(scalar, mode="forward"), (x,), (v,))
            close(got, want, f"{name}, argument {i}, {case.label()}")


def test_a_nested_grad_closing_over_an_outer_variable_is_not_zero():
    """An inner grad (auto: reverse mode from 100 inputs) of a function closing over a Variable
    of the outer differentiation takes forward mode: d/dy sum(grad_x sum(x x y)) = 2 x."""
    x0, y0 = np.linspace(0.1, 1.0, 150), np.linspace(1.0, 2.0, 150)

    def outer(y: Any) -> Any:
        return dg.sum(dg.grad(lambda x: dg.sum(x * x * y))(x0))

    np.testing.assert_allclose(dg.grad(outer, mode="forward")(y0), 2 * x0, rtol=1e-13)
    with pytest.raises(NotImplementedError, match="closure"):
        dg.grad(lambda y: dg.sum(dg.grad(lambda x: dg.sum(x * x * y), mode="reverse")(x0)),
                mode="forward")(y0)


def test_vjp_and_linearize_keep_their_point_when_the_caller_changes_it():
    """vjp_fn and f_jvp belong to the point they were made at: writing into the caller's
    array afterwards changes nothing; vjp_fn's results are the caller's own arrays."""
    x = np.array([1.0, 2.0, 3.0])
    _, vjp_fn = dg.vjp(lambda v: v * v, x)
    _, f_jvp = dg.linearize(lambda v: v * v, x)
    x[:] = 100.0
    np.testing.assert_array_equal(vjp_fn(np.ones(3))[0], [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(f_jvp(np.ones(3)), [2.0, 4.0, 6.0])
    c = np.ones(3)
    (g,) = dg.vjp(lambda v: v + 0.0, np.ones(3))[1](c)
    assert g.flags.writeable and not np.shares_memory(g, c)


def test_the_transpose_of_a_sum_reads_keepdims_in_numpys_order():
    """np.sum(t, axis, dtype, out, keepdims) given positionally: its transpose reads keepdims
    from the fifth argument (not dtype from the third) and spreads c back over the axis."""
    from dualgrad._transposes import transposed

    c = np.array([[1.0], [2.0], [3.0]])  # the cotangent of a sum over axis 1, kept
    ((k, g),) = transposed(np.sum, np.sum, c, [None, 1, None, None, True], [0], [(3, 2)], {})
    assert k == 0
    np.testing.assert_array_equal(g, [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    ((_, g),) = transposed(np.sum, np.sum, c[:, 0], [None, 1, np.float64], [0], [(3, 2)], {})
    np.testing.assert_array_equal(g, [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
