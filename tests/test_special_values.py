"""Kinks, jumps and special values: infinite slopes, symbolic zeros, selections, and slopes near
the largest float. Each answer is JAX's (reverse mode) where JAX gives one."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from dualgrad import Variable, _core
from dualgrad._registry import registry


# sqrt's slope at 0 is 1/0: NumPy's divide warning is the honest report of an infinite
# derivative; the tests below look at what comes after it
def infinite_slopes() -> Any:
    return np.errstate(divide="ignore")

ROUNDING = {"floor": np.floor, "ceil": np.ceil, "round": np.round, "sign": np.sign}


# ---- symbolic zeros: floor, ceil, round, sign ----------------------------------------------------


def test_floor_of_sqrt_plus_an_entry_is_jax_answer() -> None:
    """The issue's grad(sum(floor(sqrt(v))) + v[1]) at [0, 2] is [0, 1], not [nan, nan]."""
    with infinite_slopes():
        g = dg.grad(lambda v: np.sum(np.floor(np.sqrt(v))) + v[1])(np.array([0.0, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0])


@pytest.mark.parametrize("name", sorted(ROUNDING))
def test_rounding_passes_no_infinite_tangent_on(name: str) -> None:
    """floor, ceil, round and sign of sqrt at 0 contribute nothing, whatever sqrt's slope."""
    f = ROUNDING[name]
    with infinite_slopes():
        g = dg.grad(lambda v: np.sum(f(np.sqrt(v))) + v[1] * v[0])(np.array([0.0, 2.0]))
        one = dg.jvp(lambda v: f(np.sqrt(v)), (np.array([0.0, 4.0]),), (np.ones(2),))[1]
    np.testing.assert_array_equal(g, [2.0, 0.0])
    np.testing.assert_array_equal(one, [0.0, 0.0])


@pytest.mark.parametrize("name", sorted(ROUNDING))
def test_rounding_gives_a_constant(name: str) -> None:
    """A piecewise constant primitive's output carries no tangent at all (a symbolic zero)."""
    out = ROUNDING[name](Variable(np.array([-1.5, 0.0, 2.5]), np.full((2, 3), np.inf)))
    assert isinstance(out, Variable)
    assert out.tangent is None
    np.testing.assert_array_equal(out.grad, np.zeros(3))


def _zero_everywhere(prim: dg.Primitive) -> bool:
    return bool(prim.jvps) and all(rule is dg.Primitive.zero for rule in prim.jvps)


def test_every_zero_derivative_primitive_gives_a_constant() -> None:
    """Registry-driven: each primitive whose rules are all Primitive.zero gives no tangent."""
    flat = [e.obj for e in registry().entries("primitive") if _zero_everywhere(e.obj)]
    assert {p.name for p in flat} >= set(ROUNDING)
    for prim in flat:
        x = Variable(np.array([-1.5, 0.25, 2.0]), np.full((2, 3), np.inf))
        out = prim(*[x] * len(prim.jvps))
        assert out.tangent is None, prim.name


def test_power_zero_is_constant_in_the_base() -> None:
    """x**0 has slope 0 in x even where x's tangent is infinite (zeros, not 0 * inf)."""
    with infinite_slopes():
        g = dg.grad(lambda v: np.sum(np.sqrt(v) ** 0) + v[1])(np.array([0.0, 4.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0])


# ---- piecewise linear functions select their tangent --------------------------------------------


# f(v) at v = [0, 4]: at 0 the argument carrying sqrt's infinite slope is on the side not taken
SELECTIONS: dict[str, tuple[Callable[[Any], Any], list[float]]] = {
    "relu": (lambda v: dg.relu(np.sqrt(v) - 1.0), [0.0, 0.25]),
    "abs": (lambda v: np.abs(np.sqrt(v)), [0.0, 0.25]),
    "maximum": (lambda v: np.maximum(np.sqrt(v), 1.0), [0.0, 0.25]),
    "minimum": (lambda v: np.minimum(-np.sqrt(v), -1.0), [0.0, -0.25]),
    "clip": (lambda v: np.clip(np.sqrt(v), 1.0, 3.0), [0.0, 0.25]),
    "clip bounds": (lambda v: np.clip(0.5, np.sqrt(v), np.sqrt(v) + 1.0), [0.0, 0.25]),
    "max": (lambda v: np.max(np.sqrt(v)), [0.0, 0.25]),
    "min": (lambda v: np.min(-np.sqrt(v)), [0.0, -0.25]),
    "where": (lambda v: np.where(v > 1.0, np.sqrt(v), 0.0), [0.0, 0.25]),
}


@pytest.mark.parametrize("name", sorted(SELECTIONS))
def test_piecewise_rules_select_rather_than_multiply(name: str) -> None:
    """An infinite tangent on the side a piecewise function does not take never becomes NaN."""
    f, expected = SELECTIONS[name]
    with infinite_slopes():
        g = dg.grad(lambda v: np.sum(f(v)))(np.array([0.0, 4.0]))
    np.testing.assert_array_equal(g, expected)


# ---- a zero tangent stays zero (NaN-safe) -------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [None, 1, 2])
def test_one_infinite_partial_leaves_the_others_finite(chunk_size: int | None) -> None:
    """grad(sum(sqrt(v))) at [0, 1, 4] is [inf, 0.5, 0.25], as JAX's grad, in any chunking."""
    with infinite_slopes():
        g = dg.grad(lambda v: np.sum(np.sqrt(v)), chunk_size=chunk_size)(
            np.array([0.0, 1.0, 4.0]))
    np.testing.assert_array_equal(g, [np.inf, 0.5, 0.25])


def test_a_zero_tangent_entry_times_an_infinite_slope_is_zero() -> None:
    """jvp along a direction that is 0 where the slope is infinite gives the finite answer."""
    with infinite_slopes():
        _, t = dg.jvp(lambda v: np.sum(np.log(v) + np.sqrt(v)), (np.array([0.0, 4.0]),),
                      (np.array([0.0, 1.0]),))
    assert float(t) == 0.25 + 0.25


@pytest.mark.parametrize("compact", [True, False])
def test_whole_zero_directions_stay_zero_through_products(monkeypatch, compact) -> None:
    """Through a matrix product with an infinite entry, a direction that is all 0 stays 0."""
    monkeypatch.setattr(_core, "COMPACT_SEEDS", compact)
    a = np.array([[np.inf, 1.0], [1.0, 1.0]])
    jac = dg.jacobian(lambda v: v[0] + (v[1] * np.ones(2)) @ a)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(jac, [[1.0, np.inf], [1.0, 2.0]])


def test_a_nan_of_a_nonzero_tangent_is_still_reported() -> None:
    """inf - inf along a seeded direction stays NaN, with NumPy's kind of invalid warning."""
    with infinite_slopes(), pytest.warns(RuntimeWarning, match="invalid value"):
        _, t = dg.jvp(lambda v: np.sqrt(v) - np.sqrt(v), (np.array([0.0, 4.0]),),
                      (np.ones(2),))
    assert np.isnan(t[0]) and t[1] == 0.0
    with infinite_slopes(), np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        dg.jvp(lambda v: np.sqrt(v) - np.sqrt(v), (np.array([0.0, 4.0]),), (np.ones(2),))


# Special values for every elementwise primitive: zeros of both signs, ends of domains, poles,
# infinities, the largest and the smallest floats
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, np.inf, -np.inf, 1e308, 5e-324]


def _elementwise() -> list[dg.Primitive]:
    return sorted((e.obj for e in registry().entries("primitive") if e.obj.elementwise),
                  key=lambda p: p.name)


@pytest.mark.parametrize("prim", _elementwise(), ids=lambda p: p.name)
def test_special_values_never_spread_nan_to_other_entries(prim: dg.Primitive) -> None:
    """Registry-driven: at every combination of special values, an elementwise primitive's
    Jacobian off the diagonal is exactly 0: an infinite or NaN partial stays in its entry."""
    n = len(prim.jvps)
    grid = np.array(list(itertools.product(SPECIAL, repeat=n))).T  # n arguments, one per row
    args = list(grid)
    for i, rule in enumerate(prim.jvps):
        if rule is None:
            continue

        def f(xi: Any, i: int = i) -> Any:
            return prim(*[xi if j == i else a for j, a in enumerate(args)])

        with np.errstate(all="ignore"):
            jac = dg.jacobian(f)(args[i])
        off = ~np.eye(len(args[i]), dtype=bool)
        bad = np.argwhere(off & (jac != 0))
        assert bad.size == 0, (
            f"{prim.name}, argument {i}: entry {tuple(bad[0])} is {jac[tuple(bad[0])]} at "
            f"arguments {grid[:, bad[0][1]]}")


# ---- slopes near the largest float --------------------------------------------------------------


@pytest.mark.parametrize(("f", "x", "slope"), [
    (np.log10, 1e308, 1 / np.log(10.0) / 1e308),
    (np.log2, 1e308, 1 / np.log(2.0) / 1e308),
    (np.arcsinh, 1e200, 1e-200),
    (np.arccosh, 1e200, 1e-200),
    (np.arctan, 1e155, 1e-310),
], ids=["log10", "log2", "arcsinh", "arccosh", "arctan"])
def test_slopes_do_not_overflow_near_the_largest_float(f: Any, x: float, slope: float) -> None:
    """A slope like 1 / (x log 10) is computed without forming x log 10, which overflows."""
    g = float(dg.grad(f)(x))
    assert g > 0.0
    np.testing.assert_allclose(g, slope, rtol=1e-6)


def test_arctan2_slopes_do_not_overflow() -> None:
    """arctan2's slopes x / r^2 and -y / r^2 hold for coordinates past 1e154."""
    gy, gx = dg.grad(np.arctan2, argnums=(0, 1))(1e200, 1e200)
    np.testing.assert_allclose([float(gy), float(gx)], [0.5e-200, -0.5e-200], rtol=1e-12)


# ---- NumPy patched by a plugin ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cos", "sin", "exp", "sqrt", "where", "sign", "hypot"])
def test_patching_numpy_does_not_change_built_in_derivatives(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin that rebinds np.cos (or exp, where, ...) changes no built-in value or slope."""
    p = dg.primitive  # the primitives themselves: the function below calls no NumPy name

    def f(x: Any) -> Any:
        return p("sum")(p("sin")(x) * p("exp")(x) + p("sqrt")(x) + p("relu")(x)
                        + p("arcsinh")(x) + p("abs")(x) + p("arctan2")(x, 2.0))

    def second(x: Any) -> Any:
        return dg.derivative(lambda u: p("cos")(u) * p("exp")(u), order=2)(x)

    x = np.array([0.5, 1.5])
    before = dg.value_and_grad(f)(x), second(0.5)
    monkeypatch.setattr(np, name, lambda *a, **k: 0.0 * np.ones(np.shape(a[0])))
    after = dg.value_and_grad(f)(x), second(0.5)
    np.testing.assert_array_equal(after[0][0], before[0][0])
    np.testing.assert_array_equal(after[0][1], before[0][1])
    np.testing.assert_array_equal(after[1], before[1])


def test_nan_in_one_input_leaves_the_other_partials_alone() -> None:
    """grad of sum(v * v) at [nan, 1] is [nan, 2], as in JAX: NaN input repairs from the start."""
    g = dg.grad(lambda v: np.sum(v * v))(np.array([np.nan, 1.0]))
    assert np.isnan(g[0]) and g[1] == 2.0


def test_a_zero_slope_times_an_infinite_tangent_stays_nan() -> None:
    """d/dv sqrt(v) ** 2 at 0 is NaN, not a wrong 0: only a zero tangent makes a product 0."""
    with infinite_slopes(), pytest.warns(RuntimeWarning, match="invalid value"):
        g = dg.grad(lambda v: np.sum(np.square(np.sqrt(v))))(np.array([0.0, 4.0]))
    assert np.isnan(g[0]) and np.isclose(g[1], 1.0)


def test_nan_made_where_no_flag_is_raised_is_repaired_too() -> None:
    """A NaN constant inside f, or f silencing NumPy's errors, still gets zero tangents kept."""
    c = np.array([np.nan, 1.0])
    g = dg.grad(lambda v: np.sum(v * c))(np.ones(2))
    assert np.isnan(g[0]) and g[1] == 1.0

    def quiet(v: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.sqrt(v))

    np.testing.assert_array_equal(dg.grad(quiet)(np.array([0.0, 1.0, 4.0])), [np.inf, 0.5, 0.25])
    _, t = dg.jvp(quiet, (np.array([0.0, 1.0, 4.0]),), (np.array([0.0, 1.0, 0.0]),))
    assert t == 0.5


def test_second_derivatives_keep_zero_tangents_zero() -> None:
    """The Hessian of sum(sqrt(v)) at [0, 1, 4] is diagonal: -inf, then finite, no NaN."""
    with infinite_slopes():
        h = dg.hessian(lambda v: np.sum(np.sqrt(v)))(np.array([0.0, 1.0, 4.0]))
    np.testing.assert_array_equal(h, np.diag([-np.inf, -0.25, -1 / 32]))


def test_a_clean_function_runs_once_and_a_repaired_one_twice() -> None:
    """f runs once per pass unless NumPy met an invalid operation; then once more, repaired."""
    calls = []

    def f(v: Any) -> Any:
        calls.append(1)
        return np.sum(np.sqrt(v))

    with infinite_slopes():
        dg.grad(f)(np.array([1.0, 4.0]))
        assert len(calls) == 1
        dg.grad(f)(np.array([0.0, 4.0]))
        assert len(calls) == 3


def test_the_callers_error_state_still_governs_real_invalid_values() -> None:
    """A NaN value of the caller's own making raises under errstate(invalid='raise')."""
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        dg.grad(lambda v: np.sum(v * (np.zeros(2) / np.zeros(2))))(np.ones(2))
    seen = []
    with np.errstate(invalid="call", call=lambda kind, flag: seen.append(kind)):
        dg.grad(lambda v: np.sum(v * (np.zeros(2) / np.zeros(2))))(np.ones(2))
    assert seen and all("invalid" in k for k in seen)


def test_model_gradients_keep_zero_partials_zero() -> None:
    """Model.gradient through a sqrt at 0: a feature that is always 0 gets slope 0, not NaN."""
    model = dg.Model([dg.layer("dense", units=1, activation="sqrt")], "mse", "sgd", seed=0,
                     input_shape=[2])
    model.set_weights([np.zeros((2, 1)), np.zeros(1)])
    x = np.array([[1.0, 0.0], [2.0, 0.0]])
    with infinite_slopes():
        kernel, bias = model.gradient(x, np.ones(2))
    assert kernel[0, 0] == -np.inf and kernel[1, 0] == 0.0 and bias[0] == -np.inf


def test_second_derivatives_of_a_power_keep_zero_tangents_zero() -> None:
    """The Hessian of sum(v ** 1.5) at [0, 1, 4] is diagonal: inner directions that miss v[0]
    contribute exactly 0 at every level, even where v[0]'s outer tangent is infinite."""
    with infinite_slopes():
        h = dg.hessian(lambda v: np.sum(v ** 1.5))(np.array([0.0, 1.0, 4.0]))
    np.testing.assert_array_equal(h, np.diag([np.inf, 0.75, 0.375]))


def test_a_primitive_with_only_a_jvp_survives_a_repairing_pass() -> None:
    """A primitive given only a jvp kernel still differentiates when a pass is repaired."""
    cube = dg.Primitive("cube_jvp_only", lambda x: x**3, elementwise=True,
                        special=dg.Specialisations(jvp=lambda ts, x: (x**3, 3 * x**2 * ts[0])))
    with infinite_slopes():
        g = dg.grad(lambda v: dg.sum(cube(v)) + dg.sum(dg.sqrt(v)))(np.array([0.0, 1.0, 4.0]))
    np.testing.assert_array_equal(g, [np.inf, 3.5, 48.25])


@attrs.define(frozen=True)
class _LineSearchProbe(dg.Optimizer):
    """An optimizer that asks the model for the loss and gradient (as a line search does) and
    keeps what it got; its update leaves the weights as they are."""

    name = "line_search_probe"
    needs_loss = True
    flat_weights = True

    def init(self, params: Any) -> Any:
        return ()

    def update(self, grads: Any, state: Any, params: Any, loss_and_grad: Any = None) -> Any:
        return [params[0]], (*state, loss_and_grad(params)[1][0])


def test_loss_and_grad_for_line_searches_keeps_zero_partials_zero() -> None:
    """The gradient a line-search optimizer gets through loss_and_grad is repaired as the
    step's own is: a feature that is always 0 gets slope 0 through a sqrt at 0, not NaN."""
    model = dg.Model([dg.layer("dense", units=1, activation="sqrt")], "mse",
                     _LineSearchProbe(), seed=0, input_shape=[2])
    model.set_weights([np.zeros((2, 1)), np.zeros(1)])
    x = np.array([[1.0, 0.0], [2.0, 0.0]])
    with infinite_slopes():
        model.fit(x, np.ones(2), epochs=1, verbose=False)
    (grad,) = model.optimizer_state
    assert grad[1] == 0.0 and grad[0] == -np.inf
