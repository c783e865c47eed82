"""Direction-sparse tangents: a tangent stored with only the directions that can be nonzero.

grad, jacobian and hessian seed their inputs as unit seeds; ``v[0]`` of such an input carries
one direction instead of all of them, and every operation after it works on the directions its
arguments touch (their union). These tests check that the numbers are those of dense tangents
(the compact path switched off) and of finite differences, that the public ``tangent`` is always
the dense ``(T, *shape)`` array, and that the compact path is actually taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd
from dualgrad import Variable, _core, _rows
from dualgrad import primitives as p
from dualgrad._errors import ShapeError
from dualgrad.testing import check_grads
from test_primitives import BUILTIN_NAMES, spec_cases

B = np.linspace(-1.0, 1.0, 7)
BIG = np.linspace(-1.0, 1.0, 1000)  # 6 directions of it are more numbers than dense pays for
A = np.random.default_rng(5).normal(size=(3, 3))


@pytest.fixture(autouse=True, params=["few numbers dense", "rows kept however few"])
def threshold(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs twice: with the default rule (sums of compact tangents with few numbers
    in all are stored dense) and with rows kept for any size, so that the small shapes used
    here exercise the compact machinery too."""
    if request.param == "rows kept however few":
        monkeypatch.setattr(_rows, "SMALL_DENSE", 0)


@pytest.fixture
def dense() -> Iterator[None]:
    """Seeds as plain dense arrays: every tangent stays dense, as before compact tangents."""
    _core.COMPACT_SEEDS = False
    try:
        yield
    finally:
        _core.COMPACT_SEEDS = True


def both(transform: Callable[[], Any]) -> tuple[Any, Any]:
    """`transform()` with compact seeds and with dense ones."""
    compact = transform()
    _core.COMPACT_SEEDS = False
    try:
        plain = transform()
    finally:
        _core.COMPACT_SEEDS = True
    return compact, plain


@dg.custom_jvp
def softsign(x: Any) -> Any:
    return x / (1.0 + np.abs(x))


@softsign.defjvp
def _softsign_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    return softsign(x), t / (1.0 + dg.absolute(x)) ** 2


@dg.custom_jvp
def cube(x: Any) -> Any:
    return x ** 3


def _cube_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    return cube(x), 3.0 * x * x * t


cube.defjvp(_cube_jvp)
batched_cube = dg.custom_jvp(lambda x: x ** 3, batched=True)
batched_cube.defjvp(_cube_jvp)


# functions of a vector of 6 that index it; each returns an array
VECTOR_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "the benchmark's shape": lambda v: (dg.tanh(B * v[0] + v[1]) * dg.exp(B * v[2])
                                        * dg.sum(v[3:] * v[3:])
                                        + dg.sigmoid(B * v[4] - v[5]) * v[1]),
    "one element": lambda v: dg.exp(v[0]) * B,
    "negative index": lambda v: v[-1] * v[0] + B,
    "a slice": lambda v: v[1:3] * v[0],
    "a fancy index": lambda v: dg.sin(v[[0, 2]]) * v[3],
    "a repeated fancy index": lambda v: v[[2, 0, 2]] ** 2 * v[4],
    "a reversed slice": lambda v: v[::-1] * v,
    "a stepped slice": lambda v: v[::2] * v[1::2],
    "a boolean mask": lambda v: v[np.array([True, False, True, False, False, True])] * v[1],
    "newaxis and ellipsis": lambda v: v[None, 1:3] * v[..., 4:].reshape(2, 1),
    "reductions": lambda v: dg.sum(v[3:] * v[3:]) * v[:2] + dg.mean(v[1:4]) - v[2:4].max(),
    "prod, var, std, norm": lambda v: dg.stack([v[1:4].prod(), v[0:3].var(), v[2:5].std(),
                                                dg.norm(v[3:])]) * v[0],
    "cumsum and softmax": lambda v: dg.cumsum(v[1:4]) * dg.softmax(v[3:]),
    "logsumexp": lambda v: dg.logsumexp(v[0:2]) * v[4:],
    "matmul": lambda v: A @ v[1:4] + v[0] * (A @ v[2:5]),
    "matmul on the left": lambda v: v[0:3] @ A * v[5],
    "dot and einsum": lambda v: dg.dot(v[0:3], v[2:5]) * dg.einsum("i,i->i", v[3:], v[:3]),
    "outer product": lambda v: dg.einsum("i,j->ij", v[0:2], v[4:]),
    "concatenate": lambda v: dg.concatenate([v[0:2] * 2.0, dg.exp(v[3:4]), v[1:2], B]),
    "stack": lambda v: dg.stack([v[0], v[2] * v[1], v[4] + 0.0]),
    "where": lambda v: dg.where(B > 0, v[0] * B, v[1] - B),
    "maximum and clip": lambda v: dg.maximum(v[0] * B, v[1]) + dg.clip(v[2] * B, -0.3, 0.4),
    "custom_jvp": lambda v: softsign(v[0] * B) + cube(v[1:3]).sum(),
    "batched custom_jvp": lambda v: batched_cube(v[1] * B) * v[2],
    "reshape, then index": lambda v: v.reshape(2, 3)[1] * v.reshape(3, 2)[:, 0],
    "index the index": lambda v: v[1:5][1:3] * v[2:][0] + v[1:][::2][1] * v[3:5][[1, 0]]
    + v[:][4] * v[...][2:4],
    "transpose and broadcast": lambda v: (np.broadcast_to(v[0:3], (2, 3)).T * v[4]),
    "power and division": lambda v: v[0] ** v[1] / (v[2] + 3.0) + v[3] ** 2,
    "numpy functions": lambda v: np.exp(v[1]) * np.sum(v[2:4]) + np.where(B > 0, v[3], v[4]),
    "constant output part": lambda v: dg.concatenate([v[0:1], B * 0.0]) * 1.0,
}

X6 = np.array([0.3, -0.7, 1.1, 0.5, -1.3, 0.9])


@pytest.mark.parametrize("name", sorted(VECTOR_FUNCTIONS))
def test_jacobian_of_indexing_functions(name: str) -> None:
    """Compact and dense tangents give the same Jacobian, and it is the finite-difference one."""
    _check_jacobian(VECTOR_FUNCTIONS[name], X6, name)


def _check_jacobian(f: Callable[[Any], Any], x: np.ndarray, name: str) -> None:
    """Compact and dense tangents give the same Jacobian of f at x, the finite-difference one."""
    compact, plain = both(lambda: dg.jacobian(f)(x))
    np.testing.assert_allclose(compact, plain, rtol=1e-13, atol=1e-14, err_msg=name)
    np.testing.assert_allclose(compact, fd.jacobian(f, (x,), 0), rtol=1e-6, atol=1e-7,
                               err_msg=name)


@pytest.mark.parametrize("chunk_size", [1, 2, 4])
@pytest.mark.parametrize("name", ["the benchmark's shape", "reductions", "concatenate",
                                  "a fancy index", "reshape, then index"])
def test_chunked_jacobian(name: str, chunk_size: int) -> None:
    """Chunks cover some directions of the input: indices may touch none of a chunk's."""
    f = VECTOR_FUNCTIONS[name]
    compact, plain = both(lambda: dg.jacobian(f, chunk_size=chunk_size)(X6))
    np.testing.assert_allclose(compact, plain, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(compact, dg.jacobian(f)(X6), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", sorted(VECTOR_FUNCTIONS))
def test_grad_and_hessian_of_indexing_functions(name: str) -> None:
    """Hessians (forward over forward, compact at the inner level) and gradients agree."""
    f = VECTOR_FUNCTIONS[name]

    def g(v: Any) -> Any:
        return dg.sum(f(v) ** 2)

    grad_c, grad_d = both(lambda: dg.grad(g)(X6))
    np.testing.assert_allclose(grad_c, grad_d, rtol=1e-13, atol=1e-14, err_msg=name)
    np.testing.assert_allclose(grad_c, fd.jacobian(g, (X6,), 0), rtol=1e-6, atol=1e-7,
                               err_msg=name)
    hess_c, hess_d = both(lambda: dg.hessian(g)(X6))
    np.testing.assert_allclose(hess_c, hess_d, rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(hess_c, fd.jacobian(lambda v: dg.grad(g)(v), (X6,), 0),
                               rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(hess_c, hess_c.T, rtol=1e-10, atol=1e-10, err_msg=name)


X23 = np.array([[0.4, -1.2, 0.7], [1.5, -0.3, 0.8]])

MATRIX_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "x[1, 2]": lambda x: x[1, 2] * x[0] + x[:, 1].sum(),
    "x[1][2]": lambda x: x[1][2] * x[0][1:] + x[1][:1],
    "rows and columns": lambda x: x[0] * x[:, 2:].sum() + x[1, ::-1],
    "advanced pairs": lambda x: x[np.array([0, 1, 1]), np.array([2, 0, 2])] * x[0, 0],
    "ravel then index": lambda x: x.ravel()[2:5] * x.flatten()[0],
    "squeeze and expand": lambda x: dg.squeeze(x[1:2, 0:1]) * dg.expand_dims(x[0], 0),
    "matmul of rows": lambda x: x[0:1] @ A @ x[1],
}


@pytest.mark.parametrize("name", sorted(MATRIX_FUNCTIONS))
def test_jacobian_and_hessian_of_matrix_inputs(name: str) -> None:
    f = MATRIX_FUNCTIONS[name]
    _check_jacobian(f, X23, name)

    def g(x: Any) -> Any:
        return dg.sum(dg.tanh(f(x)))

    hess_c, hess_d = both(lambda: dg.hessian(g)(X23))
    assert hess_c.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(hess_c, hess_d, rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(hess_c, fd.jacobian(lambda x: dg.grad(g)(x), (X23,), 0),
                               rtol=1e-5, atol=1e-6, err_msg=name)


def test_several_arguments_each_carry_their_own_directions() -> None:
    """With argnums=(0, 1), x's seeds are directions 0..5 and y's 6..8: compact from the
    start, not only after indexing."""
    y = np.array([0.2, -0.4, 1.3])

    def f(x: Any, y: Any) -> Any:
        return dg.concatenate([x[1:3] * y[0], dg.exp(y) * x[5], x * 2.0])

    for chunk in (None, 2, 4):
        compact, plain = both(lambda chunk=chunk: dg.jacobian(f, argnums=(0, 1),
                                                              chunk_size=chunk)(X6, y))
        for c, d, i in zip(compact, plain, (0, 1)):
            np.testing.assert_allclose(c, d, rtol=1e-13, atol=1e-14)
            np.testing.assert_allclose(c, fd.jacobian(f, (X6, y), i), rtol=1e-6, atol=1e-7)


def test_grad_of_grad() -> None:
    """Nested grads: the inner seeds are compact and their values are outer Variables."""
    def g(v: Any) -> Any:
        return dg.sin(v[0]) * dg.sum(v[2:] ** 3) + v[1] * v[4]

    def inner(v: Any) -> Any:
        return dg.grad(g)(v)[2] * v[0] + dg.grad(g)(v)[1]

    compact, plain = both(lambda: dg.grad(inner)(X6))
    np.testing.assert_allclose(compact, plain, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(compact, fd.jacobian(inner, (X6,), 0), rtol=1e-6, atol=1e-7)
    # the third derivative in v0 through grad inside derivative: -cos(v0) * sum(v[2:]**3)
    def slope(s: Any) -> Any:
        return dg.grad(g)(dg.concatenate([dg.stack([s]), X6[1:]]))[0]

    np.testing.assert_allclose(dg.derivative(slope, order=2)(X6[0]),
                               -np.cos(X6[0]) * np.sum(X6[2:] ** 3), rtol=1e-12)


def test_check_grads_through_a_jacobian() -> None:
    """jvp of a jacobian: compact seeds under an outer differentiation, against finite
    differences of the jacobian itself, to second order."""
    f = VECTOR_FUNCTIONS["the benchmark's shape"]
    check_grads(lambda v: dg.jacobian(f)(v), (X6,), order=2, rtol=1e-5, atol=1e-6)
    check_grads(lambda v: dg.jacobian(VECTOR_FUNCTIONS["matmul"])(v), (X6,), order=1)


# ---- the compact path is taken, and never seen from outside ------------------------------------


def test_the_compact_path_engages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Intermediates carry only the directions they can touch."""
    monkeypatch.setattr(_rows, "SMALL_DENSE", 4096)  # the default, whatever the fixture
    seen: dict[str, Any] = {}

    def f(v: Any) -> Any:
        first = BIG * v[0]
        seen["v[0]"] = _core.stored_rows(v[0])
        seen["BIG * v[0]"] = _core.stored_rows(first)
        seen["+ v[1]"] = _core.stored_rows(first + v[1])
        seen["v[1:3]"] = _core.stored_rows(v[1:3])
        seen["v[[4, 0, 4]]"] = _core.stored_rows(v[[4, 0, 4]])
        seen["v[::-1]"] = _core.stored_rows(v[::-1])
        seen["v[:][3]"] = _core.stored_rows(v[:][3])
        seen["v[2:][1:3][0]"] = _core.stored_rows(v[2:][1:3][0])
        seen["v.reshape(2, 3)[1, 1:]"] = _core.stored_rows(v.reshape(2, 3)[1, 1:])
        seen["sum(v[3:] ** 2)"] = _core.stored_rows(dg.sum(v[3:] ** 2))
        seen["concatenate"] = _core.stored_rows(dg.concatenate([v[0:1], v[2:3]]))
        seen["all of them"] = _core.stored_rows(v[0] * v[1:].sum())
        seen["v"] = _core.stored_rows(v)
        seen["tangent"] = first.tangent
        seen["num_directions"] = first.num_directions
        return first + v[5]

    dg.jacobian(f)(X6)
    assert seen["v[0]"] == 1
    assert seen["BIG * v[0]"] == 1
    assert seen["+ v[1]"] == 2
    assert seen["v[1:3]"] == 2
    assert seen["v[[4, 0, 4]]"] == 2
    assert seen["v[::-1]"] is None  # every direction: stored dense
    assert seen["v[:][3]"] == 1
    assert seen["v[2:][1:3][0]"] == 1
    assert seen["v.reshape(2, 3)[1, 1:]"] == 2
    # three numbers in six directions: fewer than rows are worth, so stored dense
    assert seen["sum(v[3:] ** 2)"] is None
    assert seen["concatenate"] == 2
    assert seen["all of them"] is None
    assert seen["v"] is None
    # the public tangent is dense: 6 directions, zero but for the first
    tangent = seen["tangent"]
    assert type(tangent) is np.ndarray
    assert tangent.shape == (6, BIG.size)
    np.testing.assert_array_equal(tangent[0], BIG)
    np.testing.assert_array_equal(tangent[1:], 0.0)
    assert seen["num_directions"] == 6


def test_dense_seeds_switch_the_compact_path_off(dense: None) -> None:
    seen = []

    def f(v: Any) -> Any:
        if isinstance(v, dg.Variable):  # the pass (not the recording that sizes it)
            seen.append(_core.stored_rows(v[0] * BIG))
        return v[0] * BIG

    dg.jacobian(f, chunk_size=6)(X6)
    assert seen == [None]


def test_few_numbers_are_stored_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scalars indexed out of a vector and combined one by one (a loop in the blog's style)
    stay compact only while indexed; their sums are dense, and the gradient is right."""
    monkeypatch.setattr(_rows, "SMALL_DENSE", 4096)  # the default, whatever the fixture
    seen: list[Any] = []

    def rosenbrock(x: Any) -> Any:
        total = 0.0
        for i in range(len(x) - 1):
            total = total + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
            seen.append((_core.stored_rows(x[i]), _core.stored_rows(total)))
        return total

    x = np.linspace(-1.2, 1.1, 40)
    g = dg.grad(rosenbrock)(x)
    assert seen[3] == (1, None)
    expected = np.zeros_like(x)
    expected[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    expected[1:] += 200 * (x[1:] - x[:-1] ** 2)
    np.testing.assert_allclose(g, expected, rtol=1e-12)


def test_public_views_of_a_compact_tangent() -> None:
    """tangent, grad, num_directions and repr of a compact Variable show all directions."""
    checked = []

    def f(v: Any) -> Any:
        w = v[2]
        assert _core.stored_rows(w) == 1
        assert w.num_directions == 6
        np.testing.assert_array_equal(w.grad, [0, 0, 1, 0, 0, 0])
        assert "tangent=array([0., 0., 1., 0., 0., 0.])" in repr(w)
        assert w.tangent.shape == (6,)
        # reading the tangent leaves the numbers as they were
        out = 3.0 * w * v[2] + v[4]
        checked.append(True)
        return out

    np.testing.assert_allclose(dg.grad(f)(X6), [0, 0, 6 * X6[2], 0, 1, 0])
    assert checked == [True]


def test_seeds_read_inside_the_function_are_dense() -> None:
    """The input's own tangent is the identity, as it always was."""
    seen = []
    dg.jacobian(lambda x: seen.append(x.tangent.copy()) or x * 1.0, chunk_size=6)(X23)
    np.testing.assert_array_equal(seen[0], np.eye(6).reshape(6, 2, 3))


# ---- every built-in rule on compact tangents: the union of rows, against dense tangents -------


def _compact(x: Any, rows: np.ndarray, total: int, tag: int, rng: np.random.Generator
             ) -> tuple[Variable, Variable]:
    """x carrying random tangents on `rows` of `total` directions: compact, and dense."""
    data = rng.normal(size=(len(rows), *np.shape(x)))
    x = np.asarray(x, dtype=np.float64)
    rows_of = _rows.Rows(data, rows, total)
    return Variable._make(x, rows_of, tag), Variable._make(x, rows_of.dense(), tag)


ROW_SETS = [np.array([1]), np.array([0, 3]), np.array([3, 4]), np.array([0, 1, 2, 3, 4])]


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_rules_on_compact_tangents_match_dense(name: str) -> None:
    """Each argument carries its own rows (overlapping, disjoint, nested); the sum of the
    contributions is the same as with dense tangents."""
    prim = dg.primitive(name)
    rng = np.random.default_rng(7)
    for n, case in enumerate(spec_cases(name)):
        if not case.diff:
            continue
        tag = _core.new_tag()
        compact_args: list[Any] = list(case.args)
        dense_args: list[Any] = list(case.args)
        for j, i in enumerate(case.diff):
            rows = ROW_SETS[(n + j) % len(ROW_SETS)]
            compact_args[i], dense_args[i] = _compact(case.args[i], rows, 6, tag, rng)
        out = prim(*compact_args, **case.params)
        expected = prim(*dense_args, **case.params)
        what = f"{name}, {case.label()}"
        np.testing.assert_array_equal(out.value, expected.value, err_msg=what)
        if expected.tangent is None:  # a symbolic zero (floor, sign): the same when compact
            assert out.tangent is None, what
            continue
        assert out.tangent.shape == expected.tangent.shape, what
        np.testing.assert_allclose(out.tangent, expected.tangent, rtol=1e-13, atol=1e-14,
                                   err_msg=what)


@pytest.mark.parametrize("name", ["multiply", "add", "sigmoid", "getitem", "concatenate",
                                  "matmul", "sum", "where"])
def test_rules_on_compact_tangents_under_an_outer_differentiation(name: str) -> None:
    """Values that are Variables of an outer level: the rules give Variables, kept dense."""
    prim = dg.primitive(name)
    rng = np.random.default_rng(8)
    for n, case in enumerate(spec_cases(name)):
        if not case.diff:
            continue
        outer = _core.new_tag()
        tag = _core.new_tag()
        compact_args: list[Any] = list(case.args)
        dense_args: list[Any] = list(case.args)
        for j, i in enumerate(case.diff):
            x = np.asarray(case.args[i], dtype=np.float64)
            value = Variable._make(x, rng.normal(size=(2, *x.shape)), outer)
            rows = ROW_SETS[(n + j) % len(ROW_SETS)]
            rows_of = _rows.Rows(rng.normal(size=(len(rows), *x.shape)), rows, 6)
            compact_args[i] = Variable._make(value, rows_of, tag)
            dense_args[i] = Variable._make(value, rows_of.dense(), tag)
        out = prim(*compact_args, **case.params)
        expected = prim(*dense_args, **case.params)
        what = f"{name}, {case.label()}"
        inner, inner_expected = out.tangent, expected.tangent
        assert isinstance(inner, Variable) == isinstance(inner_expected, Variable), what
        if isinstance(inner, Variable):
            np.testing.assert_allclose(inner.value, inner_expected.value, rtol=1e-13,
                                       atol=1e-14, err_msg=what)
            np.testing.assert_allclose(inner.tangent, inner_expected.tangent, rtol=1e-13,
                                       atol=1e-14, err_msg=what)
        else:
            np.testing.assert_allclose(inner, inner_expected, rtol=1e-13, atol=1e-14,
                                       err_msg=what)
        np.testing.assert_allclose(out.value.tangent, expected.value.tangent, rtol=1e-13,
                                   atol=1e-14, err_msg=what)


def test_sums_of_rows_in_place_and_not() -> None:
    """Contributions on rows that overlap, nest, are disjoint, or cover every direction."""
    rng = np.random.default_rng(9)
    tag = _core.new_tag()
    x = rng.normal(size=(4,))
    cases = [([0, 2], [1, 2]), ([0, 1, 2], [1]), ([1], [0, 1, 2]), ([0, 1], [2, 3, 4]),
             ([0, 1, 2, 3, 4], [2]), ([3], [3])]
    for r1, r2 in cases:
        a, a_dense = _compact(x, np.array(r1), 5, tag, rng)
        b, b_dense = _compact(x, np.array(r2), 5, tag, rng)
        for op in (p.add, p.subtract, p.multiply):
            for first, second, first_d, second_d in ((a, b, a_dense, b_dense),
                                                     (a, b_dense, a_dense, b_dense),
                                                     (a_dense, b, a_dense, b_dense)):
                # x * 2 first: a fresh contribution that later ones may be added into
                for u, v, u_d, v_d in ((first, second, first_d, second_d),
                                       (first * 2.0, second, first_d * 2.0, second_d)):
                    out, expected = op(u, v), op(u_d, v_d)
                    np.testing.assert_allclose(out.tangent, expected.tangent, rtol=1e-14,
                                               err_msg=f"{op.name} {r1} {r2}")
        # the arguments' tangents are never written to
        np.testing.assert_array_equal(a.tangent, a_dense.tangent)
        np.testing.assert_array_equal(b.tangent, b_dense.tangent)


def test_mixed_numbers_of_directions_are_refused() -> None:
    """A compact tangent of 6 directions beside a dense one of 3: the usual ShapeError."""
    tag = _core.new_tag()
    rng = np.random.default_rng(10)
    a, _ = _compact(np.ones(3), np.array([1]), 6, tag, rng)
    b = Variable._make(np.ones(3), np.ones((3, 3)), tag)
    with pytest.raises(ShapeError, match=r"different numbers of directions \(6 and 3\)"):
        p.multiply(a, b)
    with pytest.raises(ShapeError, match=r"different numbers of directions \(3 and 6\)"):
        p.multiply(b, a)
    with pytest.raises(ShapeError, match=r"different numbers of directions \(6 and 3\)"):
        dg.concatenate([a, b])
    with pytest.raises(ShapeError, match=r"different numbers of directions \(3 and 6\)"):
        dg.concatenate([b, a])


def test_the_fused_primitives_get_dense_tangents() -> None:
    """affine and the losses declare no rules on compact rows: they get dense tangents (affine
    its unit seeds as such), and the numbers are right."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 2))

    def loss(w: Any) -> Any:
        out = dg.primitives.affine(x, w[:6].reshape(3, 2), w[6:])
        return dg.primitives.mean_squared_error(out, y) + \
            dg.primitives.sigmoid_cross_entropy(out[:, :1], (y[:, :1] > 0) * 1.0)

    w = rng.normal(size=8)
    compact, plain = both(lambda: dg.grad(loss)(w))
    np.testing.assert_allclose(compact, plain, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(compact, fd.jacobian(loss, (w,), 0), rtol=1e-6, atol=1e-7)


def test_custom_primitives_get_dense_tangents() -> None:
    """A user's Primitive may count directions; it always sees all of them."""
    seen = []

    def rule(t: Any, out: Any, x: Any) -> Any:
        seen.append(t.shape[0])
        return 3 * x ** 2 * t

    cube_prim = dg.Primitive("cube_for_sparse_test", lambda x: x ** 3, rule, elementwise=True)
    np.testing.assert_allclose(dg.jacobian(lambda v: cube_prim(v[1:3]))(X6),
                               np.eye(6)[1:3] * 3 * X6[1:3, None] ** 2)
    assert seen == [6]
