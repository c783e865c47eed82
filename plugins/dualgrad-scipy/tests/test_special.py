"""The scipy.special primitives: rules against finite differences and scipy's closed forms.

The checks are driven by what the plugin registers, not by SPECS: a primitive registered without
a checking spec fails the suite. Each spec draws arguments on the primitive's own domain.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pytest

from plugin_under_test import require_plugin

dualgrad_scipy = require_plugin()

import dualgrad as dg  # noqa: E402
import scipy.special as sc  # noqa: E402
from dualgrad.testing import check_grads  # noqa: E402

from dualgrad_scipy import hooks  # noqa: E402
from dualgrad_scipy.special import (  # noqa: E402
    digamma,
    erf,
    erfc,
    expit,
    gammaln,
    log_expit,
    polygamma,
)

SHAPES: list[tuple[int, ...]] = [(), (3,), (2, 3)]
REGISTERED = {p.name: p for p in hooks.dualgrad_register_primitives()}


@attrs.frozen
class Spec:
    """Where to check a primitive: a sampler on its domain, the static params to try, and the
    highest order whose rule is exact enough to check by finite differences."""

    sample: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]
    params: tuple[dict[str, Any], ...] = ({},)
    order: int = 2
    arguments: int = 1


def uniform(lo: float, hi: float) -> Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]:
    return lambda rng, shape: rng.uniform(lo, hi, shape)


SPECS: dict[str, Spec] = {
    "erf": Spec(uniform(-2.5, 2.5), order=3),
    "erfc": Spec(uniform(-2.5, 2.5), order=3),
    # the gamma family on x > 0, away from the pole at 0 where finite differences lose digits
    "gammaln": Spec(uniform(0.5, 6.0), order=3),
    "digamma": Spec(uniform(0.5, 6.0), order=3),
    "polygamma": Spec(uniform(0.5, 6.0), params=({}, {"n": 0}, {"n": 1}, {"n": 2}, {"n": 3})),
    "expit": Spec(uniform(-6.0, 6.0), order=3),
    "log_expit": Spec(uniform(-6.0, 6.0), order=3),
    "gamma": Spec(uniform(0.5, 4.0), order=3),
    "beta": Spec(uniform(0.5, 4.0), arguments=2),
    "betaln": Spec(uniform(0.5, 4.0), arguments=2),
    "xlogy": Spec(uniform(0.2, 3.0), arguments=2),
    "xlog1py": Spec(uniform(-0.5, 3.0), arguments=2),
    "entr": Spec(uniform(0.2, 3.0), order=3),
    "i0": Spec(uniform(-3.0, 3.0), order=3),
    "i1": Spec(uniform(-3.0, 3.0), order=3),
    "i0e": Spec(uniform(0.2, 3.0), order=3),
    "i1e": Spec(uniform(0.2, 3.0), order=3),
    "ndtr": Spec(uniform(-3.0, 3.0), order=3),
    "log_ndtr": Spec(uniform(-6.0, 3.0), order=3),
}


def cases(name: str) -> list[tuple[tuple[np.ndarray, ...], dict[str, Any]]]:
    spec = SPECS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    return [(tuple(spec.sample(rng, shape) for _ in range(spec.arguments)), params)
            for shape in SHAPES for params in spec.params]


def slope(f: Callable[..., Any], x: np.ndarray, order: int = 1) -> Any:
    """The `order`-th derivative of an elementwise `f`, elementwise, by nested jvps."""
    def d(g: Callable[..., Any]) -> Callable[..., Any]:
        return lambda v: dg.jvp(g, (v,), (np.ones(np.shape(v)),))[1]
    for _ in range(order):
        f = d(f)
    out = f(x)
    return out.primal() if isinstance(out, dg.Variable) else np.asarray(out)


# ---- every registered primitive has a spec, and is checked against finite differences ------------


def test_the_issue_primitives_are_registered() -> None:
    """The plugin registers at least erf, erfc, gammaln, digamma, expit and log_expit."""
    assert {"erf", "erfc", "gammaln", "digamma", "expit", "log_expit"} <= set(REGISTERED)


def test_every_registered_primitive_has_a_spec() -> None:
    """SPECS and the registered primitives name the same set."""
    assert set(SPECS) == set(REGISTERED)


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_registered_primitives_are_elementwise(name: str) -> None:
    """Each primitive broadcasts like a ufunc and keeps its argument's shape."""
    prim = REGISTERED[name]
    assert prim.elementwise
    for args, params in cases(name):
        assert np.shape(prim(*args, **params)) == np.shape(args[0])


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_first_derivative_matches_finite_differences(name: str) -> None:
    """The rule agrees with central finite differences on scalars, vectors and matrices."""
    prim = REGISTERED[name]
    for args, params in cases(name):
        check_grads(lambda *v, params=params: prim(*v, **params), args, order=1, directions=3)


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_higher_derivatives_match_finite_differences(name: str) -> None:
    """Rules written with primitives differentiate again: orders 2 (and 3) agree with FD."""
    prim, spec = REGISTERED[name], SPECS[name]
    for args, params in cases(name):
        check_grads(lambda *v, params=params: prim(*v, **params), args, order=spec.order,
                    rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_several_directions_at_once(name: str) -> None:
    """A tangent of three directions gives each direction's derivative, as one at a time does."""
    prim = REGISTERED[name]
    (x, *rest), params = cases(name)[-1]
    tangent = np.random.default_rng(1).normal(size=(3, *x.shape))
    together = prim(dg.Variable(x, tangent), *rest, **params).tangent
    for k in range(3):
        alone = prim(dg.Variable(x, tangent[k]), *rest, **params).tangent[0]
        np.testing.assert_allclose(together[k], alone, rtol=1e-15)


# ---- against scipy's own closed forms ------------------------------------------------------------



def gauss(x: np.ndarray) -> np.ndarray:
    """erf'(x) = 2/sqrt(pi) e^(-x^2)."""
    return 2.0 / math.sqrt(math.pi) * np.exp(-x**2)


X_REAL = np.linspace(-3.0, 3.0, 13)
X_POSITIVE = np.linspace(0.25, 8.0, 13)
GAUSS = gauss(X_REAL)
S = sc.expit(X_REAL)

# (primitive, points, order, closed form of that derivative from scipy)
CLOSED_FORMS = [
    (erf, X_REAL, 1, GAUSS),
    (erf, X_REAL, 2, -2 * X_REAL * GAUSS),
    (erfc, X_REAL, 1, -GAUSS),
    (erfc, X_REAL, 2, 2 * X_REAL * GAUSS),
    (gammaln, X_POSITIVE, 1, sc.digamma(X_POSITIVE)),
    (gammaln, X_POSITIVE, 2, sc.polygamma(1, X_POSITIVE)),
    (gammaln, X_POSITIVE, 3, sc.polygamma(2, X_POSITIVE)),
    (digamma, X_POSITIVE, 1, sc.polygamma(1, X_POSITIVE)),
    (digamma, X_POSITIVE, 2, sc.polygamma(2, X_POSITIVE)),
    (digamma, X_POSITIVE, 4, sc.polygamma(4, X_POSITIVE)),
    (expit, X_REAL, 1, S * (1 - S)),
    (expit, X_REAL, 2, S * (1 - S) * (1 - 2 * S)),
    (log_expit, X_REAL, 1, 1 - S),
    (log_expit, X_REAL, 2, -S * (1 - S)),
]


@pytest.mark.parametrize(("prim", "x", "order", "expected"), CLOSED_FORMS,
                         ids=[f"{p.name}-order{k}" for p, _, k, _ in CLOSED_FORMS])
def test_derivative_matches_scipy_closed_form(prim: dg.Primitive, x: np.ndarray, order: int,
                                              expected: np.ndarray) -> None:
    """The order-k derivative equals the closed form scipy computes (digamma, polygamma, ...)."""
    np.testing.assert_allclose(slope(prim, x, order), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_polygamma_derivative_is_the_next_polygamma(n: int) -> None:
    """d/dx polygamma(x, n) = scipy.special.polygamma(n + 1, x), and its value is scipy's."""
    np.testing.assert_allclose(polygamma(X_POSITIVE, n=n), sc.polygamma(n, X_POSITIVE),
                               rtol=1e-15)
    np.testing.assert_allclose(slope(lambda v: polygamma(v, n=n), X_POSITIVE),
                               sc.polygamma(n + 1, X_POSITIVE), rtol=1e-12)


@pytest.mark.parametrize("n", [-1, 1.5, True, "2", None])
def test_polygamma_refuses_a_bad_order(n: Any) -> None:
    """An order that is not a non-negative int is a TypeError naming the value."""
    with pytest.raises(TypeError, match=re.escape(repr(n))):
        polygamma(2.0, n=n)


# ---- the tails -----------------------------------------------------------------------------------


def test_expit_slope_keeps_relative_precision_in_the_tails() -> None:
    """expit'(+-40) is 4.2e-18, not the 0 that expit (1 - expit) rounds to."""
    x = np.array([-40.0, 40.0])
    expected = np.exp(-40.0) / (1 + np.exp(-40.0)) ** 2
    np.testing.assert_allclose(slope(expit, x), [expected, expected], rtol=1e-12)


def test_log_expit_is_finite_far_out() -> None:
    """log_expit and its slope are finite, without warnings, at +-800."""
    x = np.array([-800.0, 800.0])
    np.testing.assert_allclose(log_expit(x), [-800.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(slope(log_expit, x), [1.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(slope(log_expit, x, 2), [0.0, 0.0], atol=1e-300)


def test_erf_slope_vanishes_far_out() -> None:
    """erf' and erfc' underflow quietly to 0 far from the origin."""
    x = np.array([-40.0, 40.0])
    np.testing.assert_array_equal(slope(erf, x), [0.0, 0.0])
    np.testing.assert_array_equal(slope(erfc, x, 2), [0.0, 0.0])


def test_primitives_compose_with_dualgrad() -> None:
    """A function mixing plugin and built-in primitives differentiates as a whole."""
    def f(x: Any) -> Any:
        return dg.sum(erf(x) * dg.exp(gammaln(x + 1.0)) + log_expit(x))

    x = np.array([0.3, 1.2, 2.5])
    expected = (gauss(x) * sc.gamma(x + 1) + sc.erf(x) * sc.gamma(x + 1) * sc.digamma(x + 1)
                + sc.expit(-x))
    np.testing.assert_allclose(dg.grad(f)(x), expected, rtol=1e-12)
    check_grads(f, (x,), order=2, rtol=1e-4, atol=1e-6)


# ---- SciPy's functions as written, and the ones SciPy hides from dualgrad ------------------------

V = dg.Variable(np.array([0.5, 1.5]), np.ones(2))


@pytest.mark.parametrize("f", [sc.gamma, sc.entr, sc.i0, sc.i1, sc.i0e, sc.i1e, sc.ndtr,
                               sc.log_ndtr, lambda v: sc.xlogy(v, 2.0 * v),
                               lambda v: sc.xlog1py(2.0, v), lambda v: sc.beta(v, 1.5),
                               lambda v: sc.betaln(2.0, v)],
                         ids=["gamma", "entr", "i0", "i1", "i0e", "i1e", "ndtr", "log_ndtr",
                              "xlogy", "xlog1py", "beta", "betaln"])
def test_scipy_ufuncs_called_as_written_are_differentiated(f: Callable[[Any], Any]) -> None:
    """scipy.special's ufuncs on a Variable run the plugin's primitives: SciPy's value."""
    out = f(V)
    assert isinstance(out, dg.Variable)
    np.testing.assert_allclose(out.value, f(V.value), rtol=1e-14)


@pytest.mark.parametrize(("ours", "scipys"), [
    ("norm_logpdf", "logpdf"), ("norm_pdf", "pdf"), ("norm_cdf", "cdf"),
    ("norm_logcdf", "logcdf")])
def test_norm_functions_match_scipy_stats(ours: str, scipys: str) -> None:
    """The plugin's norm_* equal scipy.stats.norm's and agree with FD in x, loc and scale."""
    import scipy.stats as st

    from dualgrad_scipy import stats

    f = getattr(stats, ours)
    x = np.array([-1.5, 0.2, 2.0])
    np.testing.assert_allclose(f(x, 0.3, 1.7), getattr(st.norm, scipys)(x, 0.3, 1.7),
                               rtol=1e-13)
    check_grads(f, (x, np.full(3, 0.3), np.full(3, 1.7)), order=2, rtol=1e-4, atol=1e-6)


def test_a_refused_scipy_function_is_named_as_scipys() -> None:
    """A scipy.special ufunc with no rule is reported as scipy.special's, not as numpy's."""
    with pytest.raises(NotImplementedError, match=r"scipy\.special\.k0\b"):
        sc.k0(V)
