"""Property-based tests: random compositions of registered primitives agree with finite differences.

Hypothesis draws expression trees over the registered elementwise primitives, on inputs of random
broadcastable shapes, optionally closed by a reduction, and checks dualgrad's first and second
directional derivatives against central finite differences.

Each primitive takes its argument through a smooth map from the reals into its domain, built
from primitives too: ``squash(u) = u / sqrt(1 + u^2)`` lies in (-1, 1), so ``1.5 + squash(u)``
suits the logarithms and ``0.9 * squash(u)`` arcsin. Nothing overflows and every value is finite.
Kinks cannot be mapped away: a primitive with a kink (abs, floor, maximum, ...) rejects the
example, through `hypothesis.assume`, when its argument comes within `MARGIN` of one, since a
finite difference straddling it measures the jump, not the derivative.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualgrad as dg
from dualgrad import Variable

# Hypothesis's pytest plugin, writing up a failing example, imports a module that warns that
# mypy_extensions.TypedDict is deprecated; under filterwarnings = error that warning would turn the
# report into an INTERNALERROR that hides the failure.
pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict:DeprecationWarning")

# distance from a kink under which an example is rejected
MARGIN = 1e-2
# the finite-difference step and tolerances; see `central_difference`
STEP = 1e-5
RTOL, ATOL = 1e-5, 1e-7

COMMON = {"deadline": None, "database": None,
          "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much]}


def primal(x: Any) -> np.ndarray:
    """The plain value under any levels of tangents."""
    return np.asarray(x.primal() if isinstance(x, Variable) else x)


def squash(u: Any) -> Any:
    """A smooth map of the reals onto (-1, 1), written with primitives."""
    return u / np.sqrt(1.0 + u * u)


def clear_of(x: Any, kinks: Callable[[np.ndarray], np.ndarray]) -> Any:
    """x itself, after rejecting the example if x is within MARGIN of a kink."""
    v = primal(x)
    assume(bool(np.all(np.abs(v - kinks(v)) > MARGIN)))
    return x


def zero(v: np.ndarray) -> np.ndarray:
    return np.zeros_like(v)


def integer(v: np.ndarray) -> np.ndarray:
    return np.round(v)


def half_integer(v: np.ndarray) -> np.ndarray:
    return np.floor(v) + 0.5


# ---- the primitives, each behind its domain map -------------------------------------------------

P = dg.primitive

UNARY: dict[str, Callable[[Any], Any]] = {
    "negative": lambda u: P("negative")(2 * squash(u)),
    "exp": lambda u: P("exp")(2 * squash(u)),
    "expm1": lambda u: P("expm1")(2 * squash(u)),
    "log": lambda u: P("log")(1.5 + squash(u)),
    "log1p": lambda u: P("log1p")(0.5 + squash(u)),
    "log2": lambda u: P("log2")(1.5 + squash(u)),
    "log10": lambda u: P("log10")(1.5 + squash(u)),
    "sqrt": lambda u: P("sqrt")(1.5 + squash(u)),
    "cbrt": lambda u: P("cbrt")(1.5 + squash(u)),
    "square": lambda u: P("square")(2 * squash(u)),
    "reciprocal": lambda u: P("reciprocal")(1.5 + squash(u)),
    "sigmoid": lambda u: P("sigmoid")(3 * squash(u)),
    "tanh": lambda u: P("tanh")(2 * squash(u)),
    "softplus": lambda u: P("softplus")(3 * squash(u)),
    "log_sigmoid": lambda u: P("log_sigmoid")(3 * squash(u)),
    "sin": lambda u: P("sin")(3 * squash(u)),
    "cos": lambda u: P("cos")(3 * squash(u)),
    "tan": lambda u: P("tan")(1.2 * squash(u)),
    "arcsin": lambda u: P("arcsin")(0.9 * squash(u)),
    "arccos": lambda u: P("arccos")(0.9 * squash(u)),
    "arctan": lambda u: P("arctan")(3 * squash(u)),
    "sinh": lambda u: P("sinh")(2 * squash(u)),
    "cosh": lambda u: P("cosh")(2 * squash(u)),
    "arcsinh": lambda u: P("arcsinh")(3 * squash(u)),
    "arccosh": lambda u: P("arccosh")(2.0 + squash(u)),
    "arctanh": lambda u: P("arctanh")(0.9 * squash(u)),
    "abs": lambda u: P("abs")(clear_of(2 * squash(u), zero)),
    "relu": lambda u: P("relu")(clear_of(2 * squash(u), zero)),
    "sign": lambda u: P("sign")(clear_of(2 * squash(u), zero)),
    "floor": lambda u: P("floor")(clear_of(3 * squash(u), integer)),
    "ceil": lambda u: P("ceil")(clear_of(3 * squash(u), integer)),
    "round": lambda u: P("round")(clear_of(3 * squash(u), half_integer)),
}


def untied(x: Any, y: Any) -> tuple[Any, Any]:
    """x and y, after rejecting the example if they come within MARGIN of a tie."""
    assume(bool(np.all(np.abs(primal(x) - primal(y)) > MARGIN)))
    return x, y


def off_origin(x: Any, y: Any) -> tuple[Any, Any]:
    """x and y, after rejecting the example if (x, y) comes within MARGIN of the origin."""
    assume(bool(np.all(np.hypot(primal(x), primal(y)) > MARGIN)))
    return x, y


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda u, v: P("add")(2 * squash(u), 2 * squash(v)),
    "subtract": lambda u, v: P("subtract")(2 * squash(u), 2 * squash(v)),
    "multiply": lambda u, v: P("multiply")(2 * squash(u), 2 * squash(v)),
    "divide": lambda u, v: P("divide")(2 * squash(u), 1.5 + squash(v)),
    "power": lambda u, v: P("power")(1.5 + squash(u), 2 * squash(v)),
    "maximum": lambda u, v: P("maximum")(*untied(2 * squash(u), 2 * squash(v))),
    "minimum": lambda u, v: P("minimum")(*untied(2 * squash(u), 2 * squash(v))),
    "hypot": lambda u, v: P("hypot")(*off_origin(2 * squash(u), 2 * squash(v))),
    # x > 0 keeps arctan2(y, x) off its branch cut
    "arctan2": lambda u, v: P("arctan2")(2 * squash(u), 1.5 + squash(v)),
}


def spread_out(x: Any, axis: Any) -> Any:
    """x, after rejecting the example if some group is within MARGIN of constant (std's kink)."""
    assume(bool(np.all(np.std(primal(x), axis=axis) > MARGIN)))
    return x


def off_zero(x: Any, axis: Any) -> Any:
    """x, after rejecting the example if some group is within MARGIN of 0 (the norm's kink)."""
    assume(bool(np.all(np.linalg.norm(primal(x).reshape(-1) if axis is None else primal(x),
                                      axis=-1) > MARGIN)))
    return x


def untied_extremes(x: Any, axis: Any) -> Any:
    """x, after rejecting the example if a group's largest or smallest entries are within
    MARGIN of a tie."""
    v = primal(x)
    ordered = np.sort(v.reshape(-1) if axis is None else v, axis=-1)
    if ordered.shape[-1] > 1:
        assume(bool(np.all(ordered[..., -1] - ordered[..., -2] > MARGIN)
                    and np.all(ordered[..., 1] - ordered[..., 0] > MARGIN)))
    return x


# reductions that may close a tree, along every axis (None) or the last one (-1)
REDUCTIONS: dict[str, Callable[[Any, Any], Any]] = {
    "none": lambda x, axis: x,
    "sum": lambda x, axis: P("sum")(x, axis=axis),
    "mean": lambda x, axis: P("mean")(x, axis=axis, keepdims=True),
    "prod": lambda x, axis: P("prod")(x, axis=axis),
    "max": lambda x, axis: P("max")(untied_extremes(x, axis), axis=axis),
    "min": lambda x, axis: P("min")(untied_extremes(x, axis), axis=axis),
    "var": lambda x, axis: P("var")(x, axis=axis),
    "std": lambda x, axis: P("std")(spread_out(x, axis), axis=axis),
    "cumsum": lambda x, axis: P("cumsum")(x, axis=axis),
    "logsumexp": lambda x, axis: P("logsumexp")(x, axis=axis),
    "softmax": lambda x, axis: P("softmax")(x, axis=axis),
    "log_softmax": lambda x, axis: P("log_softmax")(x, axis=axis),
    "norm": lambda x, axis: P("norm")(off_zero(x, axis), axis=axis),
}


# ---- the reference: finite differences ----------------------------------------------------------


def central_difference(f: Callable[..., Any], args: tuple[Any, ...],
                       directions: list[np.ndarray]) -> np.ndarray:
    """The derivative of f at args along directions, by the fourth-order central stencil.

    Not check_grads' two-point stencil: at the exact zeros Hypothesis favours, compositions such
    as cos(972 x^2) vanish to high order with large coefficients, and the two-point error, of
    order step^2 times the third derivative, exceeds any useful tolerance. This stencil is exact
    for polynomials up to degree four.
    """
    def at(s: float) -> np.ndarray:
        return np.asarray(f(*[a + s * d for a, d in zip(args, directions, strict=True)]),
                          dtype=np.float64)

    return (8.0 * (at(STEP) - at(-STEP)) - (at(2 * STEP) - at(-2 * STEP))) / (12.0 * STEP)


def assert_derivatives_match(f: Callable[..., Any], args: tuple[Any, ...], order: int,
                             directions: int = 2, seed: int = 0) -> None:
    """dualgrad's directional derivatives of f, up to `order`, equal the finite differences of
    the order below, along `directions` random directions."""
    rng = np.random.default_rng(seed)
    for k in range(directions):
        ds = [rng.normal(size=np.shape(a)) for a in args]
        _, exact = dg.jvp(f, args, ds)
        np.testing.assert_allclose(primal(exact), central_difference(f, args, ds), rtol=RTOL,
                                   atol=ATOL, err_msg=f"order {order}, direction {k}")
        if order > 1:
            def derivative(*xs: Any, ds: list[np.ndarray] = ds) -> Any:
                return dg.jvp(f, xs, ds)[1]

            assert_derivatives_match(derivative, args, order - 1, 1, seed + k + 1)


# ---- strategies ---------------------------------------------------------------------------------

Tree = tuple[Any, ...]

leaves = st.sampled_from(["x", "y"]).map(lambda name: ("leaf", name))
trees = st.recursive(
    leaves,
    lambda kids: st.one_of(
        st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY)), kids),
        st.tuples(st.just("binary"), st.sampled_from(sorted(BINARY)), kids, kids)),
    max_leaves=5)
# a tree with at least one primitive in it
compositions = st.one_of(
    st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY)), trees),
    st.tuples(st.just("binary"), st.sampled_from(sorted(BINARY)), trees, trees))

floats = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def two_inputs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 arrays of shapes that broadcast together (either may be 0-d)."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    max_side=3))
    x, y = (draw(hnp.arrays(np.float64, s, elements=floats)) for s in shapes.input_shapes)
    return x, y


def evaluate(tree: Tree, env: dict[str, Any]) -> Any:
    """The value of the expression `tree` with its leaves looked up in `env`."""
    kind = tree[0]
    if kind == "leaf":
        return env[tree[1]]
    if kind == "unary":
        return UNARY[tree[1]](evaluate(tree[2], env))
    return BINARY[tree[1]](evaluate(tree[2], env), evaluate(tree[3], env))


# ---- the properties -----------------------------------------------------------------------------

# order-1 cases, order-2 cases and unary chains: 2600 examples a run together


@settings(max_examples=1200, **COMMON)
@given(tree=compositions, inputs=two_inputs(), reduction=st.sampled_from(sorted(REDUCTIONS)),
       last_axis=st.booleans())
def test_random_compositions_match_first_order_differences(tree: Tree,
                                                           inputs: tuple[np.ndarray, np.ndarray],
                                                           reduction: str,
                                                           last_axis: bool) -> None:
    """A random tree of elementwise primitives, maybe reduced, has FD directional derivatives."""
    x, y = inputs

    def f(x: Any, y: Any) -> Any:
        out = evaluate(tree, {"x": x, "y": y})
        axis = -1 if last_axis and np.ndim(out) > 0 else None
        return REDUCTIONS[reduction](out, axis)

    assert_derivatives_match(f, (x, y), order=1)


@settings(max_examples=600, **COMMON)
@given(tree=compositions, inputs=two_inputs())
def test_random_compositions_match_second_order_differences(
        tree: Tree, inputs: tuple[np.ndarray, np.ndarray]) -> None:
    """Nested forward mode through a random tree agrees with FD of its first derivative."""
    assert_derivatives_match(lambda x, y: evaluate(tree, {"x": x, "y": y}), inputs, order=2)


@settings(max_examples=800, **COMMON)
@given(names=st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=5),
       x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=4),
                    elements=floats))
def test_unary_chains_match_second_order_differences(names: list[str], x: np.ndarray) -> None:
    """A chain of unary primitives has FD first and second derivatives, several directions."""
    def f(u: Any) -> Any:
        for name in names:
            u = UNARY[name](u)
        return u

    assert_derivatives_match(f, (x,), order=2, directions=3)


@settings(max_examples=200, **COMMON)
@given(tree=compositions, inputs=two_inputs())
def test_three_directions_at_once_match_finite_differences(
        tree: Tree, inputs: tuple[np.ndarray, np.ndarray]) -> None:
    """Three directions carried at once, on both inputs, each give the FD along them."""
    x, y = inputs
    rng = np.random.default_rng(0)
    dx, dy = rng.normal(size=(3, *x.shape)), rng.normal(size=(3, *y.shape))
    out = evaluate(tree, {"x": Variable(x, dx), "y": Variable(y, dy)})
    # a constant (round of x alone: a symbolic zero) has no tangent
    tangent = np.zeros((3, *out.shape)) if out.tangent is None else out.tangent
    for k in range(3):
        expected = central_difference(lambda x, y: evaluate(tree, {"x": x, "y": y}), (x, y),
                                      [dx[k], dy[k]])
        np.testing.assert_allclose(np.broadcast_to(tangent[k], np.shape(expected)), expected,
                                   rtol=RTOL, atol=ATOL)


@settings(max_examples=400, **COMMON)
@given(tree=compositions, inputs=two_inputs(), reduction=st.sampled_from(sorted(REDUCTIONS)))
def test_random_compositions_in_reverse_mode_match_finite_differences(
        tree: Tree, inputs: tuple[np.ndarray, np.ndarray], reduction: str) -> None:
    """Reverse mode on a random tree, maybe reduced: for a random cotangent c and direction d,
    the transposed rules give c . (J d) as the finite differences do (vjp(c) . d)."""
    x, y = inputs

    def f(x: Any, y: Any) -> Any:
        return REDUCTIONS[reduction](evaluate(tree, {"x": x, "y": y}), None)

    rng = np.random.default_rng(0)
    out, vjp_fn = dg.vjp(f, x, y)
    c = rng.normal(size=np.shape(out))
    ds = [rng.normal(size=np.shape(a)) for a in (x, y)]
    cx, cy = vjp_fn(c)
    got = float(np.sum(cx * ds[0]) + np.sum(cy * ds[1]))
    want = float(np.sum(c * central_difference(f, (x, y), ds)))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL * max(1.0, float(np.abs(c).sum())))
