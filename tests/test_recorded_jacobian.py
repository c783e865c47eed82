"""The Jacobian's passes replay one recording of f, and a tangent read for the last time may
hold the next sum: never one that another value still reads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import _passes, _replays
from test_transform_memory import peak_bytes, recorder

X = np.array([0.3, -1.2, 0.7, 2.0, -0.4, 1.1])


@pytest.fixture(autouse=True)
def _record_small_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small functions here stand for large ones: recorded whatever their tangents' size."""
    monkeypatch.setattr(_passes, "RECORDED_FROM", 0)


def numerical_jacobian(f: Any, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of f, column by column, shaped like dualgrad's answer."""
    columns = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = eps
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    return np.stack(columns, axis=-1)


def test_the_passes_replay_one_run_of_f() -> None:
    """Three passes of two directions each run f's Python once, recorded, and give the
    Jacobian of central differences."""
    f, seen = recorder(lambda x: dg.exp(x) * dg.sum(x * x) + dg.tanh(x))
    jac = dg.jacobian(f, chunk_size=2)(X)
    assert seen == [-1]  # one run, on recorded arrays (no tangents)
    np.testing.assert_allclose(jac, numerical_jacobian(f, X), rtol=1e-7, atol=1e-8)


def shared_by_an_identity(x: Any) -> Any:
    # b's tangent is a's (the rule of + 0.0 is the identity); a is read for the last time
    # in a + x, where b, an output, still holds the tangent
    a = x * 2.0 * dg.sum(x)
    b = a + 0.0
    return [b, a + x]


def shared_by_a_view(x: Any) -> Any:
    # r's tangent is a view of a's; a is read for the last time in a + x
    a = dg.exp(x) * dg.sum(x)
    r = dg.reshape(a, (2, 3))
    return [r, a + x]


def read_twice(x: Any) -> Any:
    a = x * dg.sum(x)
    return a + a  # a's last read gives both arguments


def kept_to_the_end(x: Any) -> Any:
    a = dg.sin(x) * dg.sum(x)
    c = a + x  # a's last read but one
    return [c + 1.0, a]  # a is an output


@pytest.mark.parametrize("f", [shared_by_an_identity, shared_by_a_view, read_twice,
                               kept_to_the_end])
def test_a_tangent_another_value_holds_is_never_overwritten(f: Any) -> None:
    """Values whose tangents are shared (by an identity rule, a view, a second argument, an
    output) keep their own: every output's Jacobian is that of central differences."""
    got = dg.jacobian(f)(X)
    for k, jac in enumerate(got):
        np.testing.assert_allclose(jac, numerical_jacobian(lambda x, k=k: f(x)[k], X),
                                   rtol=1e-7, atol=1e-8)


def test_a_tangent_read_for_the_last_time_holds_the_next_sum() -> None:
    """The Jacobian of a sum of a product over every direction and a term over few holds its
    answer (12.8 MB) once at a time: the sum goes into the product's tangent."""
    base = np.linspace(-1.0, 1.0, 100_000)

    def f(v: Any) -> Any:
        return base * v[0] * dg.sum(v * v) + dg.sigmoid(base * v[1])

    v = np.linspace(0.5, 1.5, 16)
    answer = 16 * base.size * 8
    assert peak_bytes(lambda: dg.jacobian(f)(v)) < 1.6 * answer
    jac = dg.jacobian(f)(v)
    s = 1.0 / (1.0 + np.exp(-base * v[1]))
    expected = np.outer(base * v[0], 2 * v)
    expected[:, 0] += base * np.sum(v * v)
    expected[:, 1] += s * (1 - s) * base
    np.testing.assert_allclose(jac, expected, rtol=1e-13, atol=1e-15)


def test_a_custom_rule_is_what_the_replay_differentiates() -> None:
    """A custom_jvp function recorded inside f keeps its own rule in the replayed passes (a
    straight-through rounding: its Jacobian is the identity, not rounding's zero slope)."""
    @dg.custom_jvp
    def straight_through(x: Any) -> Any:
        return np.round(x)

    @straight_through.defjvp
    def _(primals: Any, tangents: Any) -> Any:
        return straight_through(primals[0]), tangents[0]

    f, seen = recorder(lambda x: straight_through(x) * 3.0)
    np.testing.assert_array_equal(dg.jacobian(f)(X), 3.0 * np.eye(X.size))
    assert seen == [-1]


def test_a_recording_that_outgrows_the_budget_runs_eagerly() -> None:
    """A function whose recorded values would outgrow the memory budget (a recording keeps
    them all) is not recorded: it runs as a constant and then in its pass, freeing as it goes,
    and gives the same Jacobian."""
    big = np.linspace(0.0, 1.0, 50_000)

    def chain(x: Any) -> Any:
        total = 0.0
        for k in range(20):  # 20 arrays of 400 kB, each dead after the next line
            total = total + dg.sum(dg.sin(big * x[k % x.size]))
        return total

    f, seen = recorder(chain)
    jac = dg.jacobian(f, memory_budget=4_000_000)(X)
    assert seen == [-1, 0, X.size]  # the recording gave up; a constant run; one pass
    np.testing.assert_allclose(jac, dg.jacobian(chain)(X), rtol=1e-13)
    np.testing.assert_allclose(jac, numerical_jacobian(chain, X), rtol=1e-6)


def test_the_donor_test_counts_references_as_for_an_array_held_once() -> None:
    """The count the replay compares with is that of a dual number held by one argument tuple
    whose tangent nothing else holds: another holder of the tangent raises it."""
    x = dg.Variable(np.zeros(2), np.zeros((1, 2)))
    assert _replays.holders((x,), 0) != _replays._ALONE  # `x` here holds it too
    assert _replays.given_up((x,), (0,)) is None


def test_a_function_of_small_tangents_runs_in_its_pass_after_its_first_call(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no tangent would reach RECORDED_FROM bytes, the recording of f only sizes the
    passes, which run f itself; the next call with arguments of the same shapes runs f as a
    constant and in its pass, as a function that cannot be recorded, with the same answer."""
    monkeypatch.setattr(_passes, "RECORDED_FROM", 1 << 18)
    f, seen = recorder(lambda x: dg.exp(x) * dg.sum(x * x))
    jac = dg.jacobian(f)
    first, second = jac(X), jac(X)
    assert seen == [-1, X.size, 0, X.size]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, numerical_jacobian(f, X), rtol=1e-7, atol=1e-8)
    seen.clear()
    dg.jacobian(f)(np.ones(X.size + 1))  # other shapes: recorded again
    assert seen == [-1, X.size + 1]


def test_a_tangent_of_lower_precision_is_never_the_sum_of_wider_ones() -> None:
    """A float16 or float32 tangent read for the last time does not hold a float64 sum: the
    Jacobian is float64 and right (no overflow to inf, no rounding to float32)."""
    x = np.array([1.0, 2.0, 3.0])
    for f, slope in ((lambda x: np.sin(x.astype("float16")) + x * 1e6, 1e6),
                     (lambda x: np.sin(x.astype("float32")) + x * 1e-9 + 1e-3 * x, 1e-3)):
        jac = dg.jacobian(f)(x)
        assert jac.dtype == np.float64
        want = dg.jacobian(f, mode="reverse")(x)
        np.testing.assert_allclose(np.diag(jac), np.diag(want), rtol=1e-12)
        np.testing.assert_allclose(np.diag(jac), slope + np.cos(x), rtol=1e-3)
        np.testing.assert_array_equal(jac - np.diag(np.diag(jac)), 0.0)


def test_an_argument_read_twice_by_a_primitive_is_never_given_up() -> None:
    """A value read for the last time by a primitive that takes it twice, among three
    arguments, keeps its tangent for the second rule: d(s + x + s)/dx = 2 cos x + 1."""
    add3 = dg.Primitive("add3", lambda a, b, c: a + b + c, lambda t, o, a, b, c: t,
                        lambda t, o, a, b, c: t, lambda t, o, a, b, c: t, elementwise=True)
    x = np.array([0.5, 1.0, 2.0])
    jac = dg.jacobian(lambda x: (lambda s: add3(s, x, s))(dg.sin(x)))(x)
    np.testing.assert_allclose(jac, np.diag(2 * np.cos(x) + 1), rtol=1e-14)


X0 = np.array([0.5, 1.0, 2.0])


@pytest.mark.parametrize("reach", ["closure", "keyword", "list"])
def test_a_differentiation_around_the_jacobian_reaches_f_however_it_is_passed(reach: str):
    """A jacobian inside another differentiation whose variable reaches f through a closure,
    a keyword argument or a list (not a positional argument) runs eagerly and keeps the outer
    tangents: d/da of the Jacobian of sin(x) * a is diag(cos x)."""
    def jac_of(a: Any) -> Any:
        if reach == "closure":
            return dg.jacobian(lambda x: dg.sin(x) * a)(X0)
        if reach == "keyword":
            return dg.jacobian(lambda x, s: dg.sin(x) * s)(X0, s=a)
        return dg.jacobian(lambda x, s: dg.sin(x) * s[0], argnums=0)(X0, [a])

    value, slope = dg.jvp(jac_of, (2.0,), (1.0,))
    np.testing.assert_allclose(value, np.diag(2.0 * np.cos(X0)), rtol=1e-14)
    np.testing.assert_allclose(slope, np.diag(np.cos(X0)), rtol=1e-14)
    g = dg.grad(lambda a: dg.sum(jac_of(a)))(2.0)
    np.testing.assert_allclose(g, np.sum(np.cos(X0)), rtol=1e-14)


def test_numpy_scalar_types_as_arguments_are_recorded() -> None:
    """A NumPy scalar type among a call's arguments (x.astype(np.float32)) is recorded like
    its name: f runs once, and its Jacobian is right."""
    f, seen = recorder(lambda x: dg.exp(x.astype(np.float32)) * 2.0)
    jac = dg.jacobian(f)(X)
    assert seen == [-1]
    np.testing.assert_allclose(np.diag(jac), 2 * np.exp(X), rtol=1e-6)


def test_a_large_constant_does_not_count_against_the_recordings_budget() -> None:
    """A closed-over array larger than the memory budget is the caller's, not the
    recording's: f is recorded still."""
    big = np.linspace(0.0, 1.0, 200_004).reshape(-1, 6)  # 1.6 MB
    f, seen = recorder(lambda x: dg.sum(x) * dg.tanh(big @ x)[:6])  # holds 0.27 MB
    jac = dg.jacobian(f, memory_budget=1_000_000)(X)
    assert seen == [-1]
    np.testing.assert_allclose(jac, numerical_jacobian(f, X), rtol=1e-6)


@pytest.mark.parametrize("x", [[0.5, 1.0], (0.5, 1.0), [[0.5], [1.0]]])
def test_lists_and_tuples_are_differentiated_as_arrays(x: Any) -> None:
    """A list or tuple argument is the array it spells, for the Jacobian too."""
    jac = dg.jacobian(lambda v: dg.sin(v) * 2.0)(x)
    a = np.asarray(x, dtype=float)
    np.testing.assert_allclose(jac.reshape(a.size, a.size), np.diag(2 * np.cos(a.ravel())))


def test_a_string_argument_gets_dualgrads_error() -> None:
    """A string where an array belongs is refused with a DualgradTypeError."""
    with pytest.raises(dg.DualgradTypeError, match="number"):
        dg.jacobian(lambda v: v * 2.0)("abc")
