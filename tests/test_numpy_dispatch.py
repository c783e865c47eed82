"""Code written with ``import numpy as np`` is differentiated as it is written.

Every NumPy function and Variable method dualgrad answers is checked against central finite
differences at orders 1 and 2; unsupported functions and options raise NotImplementedError naming
them; the conventions at kinks are pinned against closed forms.
"""

from __future__ import annotations

import doctest
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import Variable
from dualgrad.primitives import linalg
from dualgrad.testing import check_grads

RNG = np.random.default_rng(20240612)
X = RNG.uniform(0.3, 0.9, size=(3, 4))  # inside every domain below: logs, arcsin, arccosh(1 + x)
OTHER = RNG.uniform(-1.0, 1.0, size=(3, 4))
COND = RNG.uniform(size=(3, 4)) < 0.5


def _distinct(shape: tuple[int, ...]) -> np.ndarray:
    """Entries at least 0.1 apart, so no maximum or minimum is tied."""
    return (RNG.permutation(int(np.prod(shape))).reshape(shape) + 1.0) * 0.1


DISTINCT = _distinct((3, 4))

# (id, function of one (3, 4) array): each written as NumPy code, run on X (DISTINCT for
# max/min, whose ties are checked on their own below)
NUMPY_CODE: list[tuple[str, Callable[[Any], Any]]] = [
    # ufuncs
    ("exp", np.exp), ("expm1", np.expm1), ("log", np.log), ("log1p", np.log1p),
    ("log2", np.log2), ("log10", np.log10), ("sqrt", np.sqrt), ("cbrt", np.cbrt),
    ("square", np.square), ("reciprocal", np.reciprocal), ("abs", np.abs),
    ("absolute", np.absolute), ("sin", np.sin), ("cos", np.cos), ("tan", np.tan),
    ("arcsin", np.arcsin), ("arccos", np.arccos), ("arctan", np.arctan), ("sinh", np.sinh),
    ("cosh", np.cosh), ("tanh", np.tanh), ("arcsinh", np.arcsinh),
    ("arccosh", lambda x: np.arccosh(1.0 + x)), ("arctanh", np.arctanh),
    ("hypot", lambda x: np.hypot(x, OTHER)), ("hypot-self", lambda x: np.hypot(x, x[0])),
    ("arctan2", lambda x: np.arctan2(x, OTHER)), ("arctan2-x", lambda x: np.arctan2(OTHER, x)),
    ("floor", lambda x: np.floor(4.0 * x) * x), ("ceil", lambda x: np.ceil(4.0 * x) + x),
    ("maximum", lambda x: np.maximum(x, OTHER)), ("minimum", lambda x: np.minimum(OTHER, x)),
    ("power", lambda x: np.power(x, OTHER)),
    # rounding (not ufuncs)
    ("round", lambda x: np.round(7.0 * x) * x), ("round-decimals", lambda x: np.round(x, 1) + x),
    ("around", lambda x: np.around(x, decimals=2) * x),
    # reductions
    ("sum", lambda x: np.sum(x, axis=0)), ("mean", lambda x: np.mean(x, axis=(0, 1))),
    ("prod", lambda x: np.prod(x)), ("prod-axis", lambda x: np.prod(x, axis=1, keepdims=True)),
    ("max", lambda x: np.max(x)), ("max-axis", lambda x: np.max(x, axis=0)),
    ("amax", lambda x: np.amax(x, axis=1, keepdims=True)), ("min", lambda x: np.min(x, 1)),
    ("amin", lambda x: np.amin(x, axis=(0, 1))), ("var", lambda x: np.var(x)),
    ("var-ddof", lambda x: np.var(x, axis=0, ddof=1)),
    ("std", lambda x: np.std(x, axis=1)), ("std-ddof", lambda x: np.std(x, ddof=1, keepdims=True)),
    ("cumsum", lambda x: np.cumsum(x)), ("cumsum-axis", lambda x: np.cumsum(x, axis=1)),
    # products and norms
    ("dot-matrix", lambda x: np.dot(x, x.T)), ("dot-vector", lambda x: np.dot(x[0], x[1])),
    ("dot-matvec", lambda x: np.dot(OTHER, x[0])), ("dot-scalar", lambda x: np.dot(2.0, x)),
    ("dot-3d", lambda x: np.dot(x.reshape(3, 2, 2), x[:2])),
    ("matmul", lambda x: np.matmul(x, OTHER.T)), ("einsum", lambda x: np.einsum("ij,kj->ik", x, x)),
    ("einsum-implicit", lambda x: np.einsum("ij,jk", x, OTHER.T)),
    ("einsum-trace", lambda x: np.einsum("ii", x[:, :3])),
    ("einsum-ellipsis", lambda x: np.einsum("...j,...j->...", x, OTHER)),
    ("einsum-optimize", lambda x: np.einsum("ij,jk,kl->il", x, x.T, x, optimize=True)),
    ("norm", lambda x: np.linalg.norm(x)), ("norm-vector", lambda x: np.linalg.norm(x[0])),
    ("norm-axis", lambda x: np.linalg.norm(x, axis=1)),
    ("norm-fro", lambda x: np.linalg.norm(x, "fro")),
    ("norm-keepdims", lambda x: np.linalg.norm(x, axis=0, keepdims=True)),
    ("norm-1", lambda x: np.linalg.norm(x[0], 1)), ("norm-3", lambda x: np.linalg.norm(x[1], 3)),
    ("norm-inf", lambda x: np.linalg.norm(x[0] - 0.5, np.inf)),
    ("norm-minus-inf", lambda x: np.linalg.norm(x[0] - 0.5, -np.inf)),
    ("norm-0", lambda x: np.linalg.norm(x[0], 0) * x),
    ("norm-matrix-1", lambda x: np.linalg.norm(x - 0.5, 1)),
    ("norm-matrix-inf", lambda x: np.linalg.norm(x - 0.5, np.inf)),
    ("norm-matrix-minus-1", lambda x: np.linalg.norm(x - 0.5, -1, axis=(1, 0))),
    ("norm-matrix-minus-inf", lambda x: np.linalg.norm(x - 0.5, -np.inf, keepdims=True)),
    # selection and joining
    ("where", lambda x: np.where(COND, x, OTHER)), ("clip", lambda x: np.clip(x, 0.4, 0.8)),
    ("concatenate", lambda x: np.concatenate([x, OTHER], axis=1)),
    ("stack", lambda x: np.stack([x, OTHER, x])),
    # shapes
    ("reshape", lambda x: np.reshape(x, (2, 6))), ("transpose", lambda x: np.transpose(x)),
    ("squeeze", lambda x: np.squeeze(x[None, :, None])),
    ("squeeze-axis", lambda x: np.squeeze(x[:, None], axis=1)),
    ("expand_dims", lambda x: np.expand_dims(x, 0)),
    ("expand_dims-tuple", lambda x: np.expand_dims(x, (0, 3))),
    ("broadcast_to", lambda x: np.broadcast_to(x, (2, 3, 4))), ("ravel", np.ravel),
    # Variable methods, spelled as on arrays
    ("method-max", lambda x: x.max(axis=0)), ("method-min", lambda x: x.min()),
    ("method-prod", lambda x: x.prod(axis=1)), ("method-var", lambda x: x.var(ddof=1)),
    ("method-std", lambda x: x.std(axis=0, keepdims=True)),
    ("method-cumsum", lambda x: x.cumsum(axis=0)), ("method-squeeze", lambda x: x[None].squeeze()),
    ("method-dot", lambda x: x.dot(OTHER.T)), ("method-ravel", lambda x: x.ravel()),
    ("method-flatten", lambda x: x.flatten()),
]

if np.lib.NumpyVersion(np.__version__) >= "2.0.0":  # np.var's `correction` came in NumPy 2
    NUMPY_CODE.append(("var-correction", lambda x: np.var(x, axis=1, correction=1)))

EXTREMES = {"max", "max-axis", "amax", "min", "amin", "method-max", "method-min"}


def _point(name: str) -> np.ndarray:
    return DISTINCT if name in EXTREMES else X


@pytest.mark.parametrize(("name", "f"), NUMPY_CODE, ids=[n for n, _ in NUMPY_CODE])
def test_numpy_code_gives_the_numpy_value_and_a_variable(name: str,
                                                         f: Callable[[Any], Any]) -> None:
    """On a Variable the NumPy call returns a Variable whose value is NumPy's own result."""
    x = _point(name)
    out = f(Variable(x, np.ones_like(x)))
    assert isinstance(out, Variable), f"{name} returned {type(out).__name__}"
    np.testing.assert_allclose(out.value, f(x), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize(("name", "f"), NUMPY_CODE, ids=[n for n, _ in NUMPY_CODE])
def test_numpy_code_matches_finite_differences(name: str, f: Callable[[Any], Any],
                                               order: int) -> None:
    """First and second directional derivatives of NumPy code agree with finite differences."""
    check_grads(f, (_point(name),), order=order, directions=2, rtol=1e-5, atol=1e-6)


# ---- whole functions written with NumPy ---------------------------------------------------------


def softmax_by_hand(z: Any) -> Any:
    """softmax along the last axis, written the way NumPy users write it."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def attention(q: Any, k: Any, v: Any) -> Any:
    """Scaled dot-product attention with einsum, a where-mask and the hand-written softmax."""
    scores = np.einsum("id,jd->ij", q, k) / np.sqrt(q.shape[-1])
    mask = np.tril(np.ones((q.shape[0], k.shape[0]), dtype=bool))
    return np.einsum("ij,jd->id", softmax_by_hand(np.where(mask, scores, -1e9)), v)


def regularised_loss(w: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """Mean squared error of a linear model plus a weight-norm penalty and a log-cosh term."""
    residual = np.dot(x, w) - y
    return (np.mean(np.square(residual)) + 0.1 * np.linalg.norm(w)
            + np.sum(np.log(np.cosh(residual))) / residual.size)


def test_hand_written_softmax_matches_finite_differences() -> None:
    """softmax written with np.exp, np.max and np.sum: right to second order."""
    check_grads(softmax_by_hand, (RNG.normal(size=(2, 5)),), order=2)


def test_hand_written_softmax_jacobian_closed_form() -> None:
    """The Jacobian of hand-written softmax is diag(p) - p p^T."""
    z = RNG.normal(size=4)
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(dg.jacobian(softmax_by_hand)(z), np.diag(p) - np.outer(p, p),
                               rtol=1e-12, atol=1e-14)


def test_attention_written_with_einsum_matches_finite_differences() -> None:
    """Attention with np.einsum, np.where and np.tril constants: right in q, k and v."""
    q, k, v = (RNG.normal(size=(3, 2)) for _ in range(3))
    check_grads(attention, (q, k, v), order=2)


def test_regularised_loss_gradient_closed_form() -> None:
    """The gradient of the NumPy-written loss equals its closed form in w."""
    x, y, w = RNG.normal(size=(6, 3)), RNG.normal(size=6), RNG.normal(size=3)
    r = x @ w - y
    expected = 2 * x.T @ r / r.size + 0.1 * w / np.linalg.norm(w) + x.T @ np.tanh(r) / r.size
    np.testing.assert_allclose(dg.grad(regularised_loss)(w, x, y), expected, rtol=1e-12)
    check_grads(lambda w: regularised_loss(w, x, y), (w,), order=2)


def test_logsumexp_hessian_closed_form() -> None:
    """The Hessian of logsumexp is diag(p) - p p^T with p the softmax."""
    z = RNG.normal(size=4)
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(dg.hessian(dg.logsumexp)(z), np.diag(p) - np.outer(p, p),
                               rtol=1e-12, atol=1e-14)


def test_variance_gradient_closed_form() -> None:
    """d var(x, ddof) / dx = 2 (x - mean(x)) / (n - ddof), and std's is that over 2 std."""
    x = RNG.normal(size=5)
    for ddof in (0, 1):
        np.testing.assert_allclose(dg.grad(lambda v, d=ddof: np.var(v, ddof=d))(x),
                                   2 * (x - x.mean()) / (5 - ddof), rtol=1e-12)
        np.testing.assert_allclose(dg.grad(lambda v, d=ddof: np.std(v, ddof=d))(x),
                                   (x - x.mean()) / ((5 - ddof) * np.std(x, ddof=ddof)),
                                   rtol=1e-12)


def test_cumsum_jacobian_is_lower_triangular_ones() -> None:
    """The Jacobian of np.cumsum on a vector is the lower-triangular matrix of ones."""
    np.testing.assert_array_equal(dg.jacobian(np.cumsum)(RNG.normal(size=4)),
                                  np.tril(np.ones((4, 4))))


@pytest.mark.parametrize(("spec", "shapes"), [
    ("ij,jk", [(2, 3), (3, 4)]), ("Ba,aC", [(2, 3), (3, 2)]), ("ba,ac", [(2, 3), (3, 2)]),
    ("...ij,...j", [(2, 2, 3), (3,)]), ("i,i", [(3,), (3,)]), ("ij,kj", [(2, 3), (4, 3)]),
])
def test_einsum_implicit_output_is_numpys(spec: str, shapes: list[tuple[int, ...]]) -> None:
    """Implicit-mode einsum gives NumPy's value and output order, and FD tangents."""
    args = [RNG.normal(size=s) for s in shapes]
    out = np.einsum(spec, *[Variable(a, np.ones_like(a)) for a in args])
    np.testing.assert_allclose(out.value, np.einsum(spec, *args), rtol=1e-14)
    check_grads(lambda *a: np.einsum(spec, *a), args, order=2)


def test_dot_of_every_rank_pair_matches_numpy() -> None:
    """np.dot on Variables of ranks 0-3 gives NumPy's values and FD tangents in both arguments."""
    b_shapes = [(), (3,), (3, 2), (2, 3, 2)]
    for na in range(4):
        for nb in range(4):
            a, b = RNG.normal(size=(2, 2, 3)[3 - na:]), RNG.normal(size=b_shapes[nb])
            out = np.dot(Variable(a, np.ones_like(a)), b)
            np.testing.assert_allclose(out.value, np.dot(a, b), rtol=1e-14)
            check_grads(np.dot, (a, b), order=2)


# ---- unsupported functions and options ---------------------------------------------------------

V = Variable(X, np.ones_like(X))


@pytest.mark.parametrize(("call", "named"), [
    (lambda v: np.partition(v, 1), "numpy.partition"),
    (lambda v: np.fft.fft(v), "numpy.fft.fft"),
    (lambda v: np.add.reduce(v), "numpy.add.reduce"),
    (lambda v: np.maximum.accumulate(v), "numpy.maximum.accumulate"),
    (lambda v: np.cumprod(v), "numpy.cumprod"),
    (lambda v: np.linalg.eig(v[:, :3]), "numpy.linalg.eig"),
    (lambda v: np.exp(v, out=np.empty((3, 4))), "out"),
    (lambda v: np.sin(v, where=COND), "where"),
    (lambda v: np.sum(v, out=np.empty(4), axis=0), "out"),
    (lambda v: np.max(v, initial=0.0), "initial"),
    (lambda v: np.var(v, where=COND), "where"),
    (lambda v: np.cumsum(v, dtype=np.float32), "dtype"),
    (lambda v: np.dot(v, v.T, out=np.empty((3, 3))), "out"),
    (lambda v: np.round(v, out=np.empty((3, 4))), "out"),
    (lambda v: np.einsum("ij->", v, out=np.empty(())), "out"),
    (lambda v: np.pad(v, 1, mode="mean"), "mode='mean'"),
    (lambda v: np.linalg.svd(v), "full_matrices=False"),
    (lambda v: np.linalg.qr(v), "wide"),
    (lambda v: np.ravel(v, order="F"), "order='F'"),
], ids=["partition", "fft", "add.reduce", "accumulate", "cumprod", "eig", "ufunc-out",
        "ufunc-where", "sum-out", "max-initial", "var-where", "cumsum-dtype", "dot-out",
        "round-out", "einsum-out", "pad-mean", "svd-full", "qr-wide",
        "ravel-F"])
def test_unsupported_numpy_calls_raise_not_implemented(call: Callable[[Any], Any],
                                                       named: str) -> None:
    """A NumPy function or option without a rule raises NotImplementedError naming it."""
    with pytest.raises(NotImplementedError) as info:
        call(V)
    assert named in str(info.value)


def test_rejected_calls_leave_no_result_behind() -> None:
    """A refused out= is never written to: no half-computed tangent-free value escapes."""
    out = np.full((3, 4), 7.0)
    with pytest.raises(NotImplementedError):
        np.exp(V, out=out)
    np.testing.assert_array_equal(out, 7.0)


@pytest.mark.parametrize("call", [
    lambda v: np.dot(v, np.ones((4, 2)) * 1j),
    lambda v: np.einsum("ij,ij->", v, np.ones((3, 4)) + 1j),
    lambda v: np.hypot(v, 1j),
    lambda v: np.maximum(v, np.full((3, 4), 1 + 0j)),
    lambda v: np.concatenate([v, np.ones((1, 4), dtype=complex)]),
], ids=["dot", "einsum", "hypot", "maximum", "concatenate"])
def test_complex_operands_are_rejected_with_a_type_error(call: Callable[[Any], Any]) -> None:
    """A complex operand next to a Variable raises a TypeError saying complex is unsupported."""
    with pytest.raises(TypeError, match="complex"):
        call(V)


# ---- conventions at kinks -----------------------------------------------------------------------


def _slope(f: Callable[[Any], Any], x: Any) -> np.ndarray:
    """The tangent of f at x along the all-ones direction."""
    x = np.asarray(x, dtype=float)
    return np.asarray(dg.jvp(f, (x,), (np.ones_like(x),))[1])


@pytest.mark.parametrize("f", [np.floor, np.ceil, np.round, lambda x: np.round(x, 1),
                               np.around, np.sign],
                         ids=["floor", "ceil", "round", "round-1", "around", "sign"])
def test_rounding_has_zero_derivative_everywhere(f: Callable[[Any], Any]) -> None:
    """floor, ceil, round and sign have slope 0 everywhere, at their jumps too."""
    x = np.array([-1.5, -1.0, -0.25, 0.0, 0.05, 0.5, 1.0, 2.5, 3.7])
    np.testing.assert_array_equal(_slope(f, x), np.zeros_like(x))
    np.testing.assert_array_equal(dg.derivative(lambda v: np.sum(f(v) * v), order=2)(0.5), 0.0)


def test_abs_has_slope_zero_at_zero_through_numpy() -> None:
    """np.abs has slope sign(x), and 0 at 0."""
    np.testing.assert_array_equal(_slope(np.abs, [-2.0, 0.0, 3.0]), [-1.0, 0.0, 1.0])


@pytest.mark.parametrize(("reduce", "x", "expected"), [
    (np.max, [1.0, 3.0, 3.0], [0.0, 0.5, 0.5]),
    (np.min, [2.0, 2.0, 2.0, 5.0], [1 / 3, 1 / 3, 1 / 3, 0.0]),
    (np.amax, [4.0, -1.0], [1.0, 0.0]),
    (lambda v: v.max(), [[0.0, 7.0], [7.0, 7.0]], [[0.0, 1 / 3], [1 / 3, 1 / 3]]),
], ids=["max", "min", "amax", "method-max"])
def test_ties_in_max_and_min_split_the_gradient_evenly(reduce: Callable[[Any], Any],
                                                       x: list[Any],
                                                       expected: list[Any]) -> None:
    """The gradient of a max or min is shared evenly between the tied entries."""
    np.testing.assert_allclose(dg.grad(reduce)(np.array(x)), expected, rtol=1e-15)


def test_ties_along_an_axis_split_per_group() -> None:
    """max along an axis splits each group's tangent between that group's tied entries."""
    x = np.array([[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]])
    jac = dg.jacobian(lambda v: np.max(v, axis=1))(x)
    np.testing.assert_allclose(jac[0], [[0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(jac[1], [[0.0, 0.0, 0.0], [0.0, 0.5, 0.5]])


def test_prod_gradient_is_exact_at_zero_entries() -> None:
    """grad prod is the product of the other entries, also where entries are exactly 0."""
    np.testing.assert_array_equal(dg.grad(np.prod)(np.array([0.0, 2.0, 3.0])), [6.0, 0.0, 0.0])
    np.testing.assert_array_equal(dg.grad(np.prod)(np.array([0.0, 2.0, 0.0])), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(dg.grad(np.prod)(np.array([-1.0, 2.0, 3.0])), [6.0, -3.0, -2.0])


def test_prod_hessian_is_exact_at_zero_entries() -> None:
    """The Hessian of prod at a point with zeros is the product of all but two entries."""
    x = np.array([0.0, 2.0, 0.0, 5.0])
    expected = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            if i != j:
                expected[i, j] = np.prod(np.delete(x, [i, j]))
    np.testing.assert_array_equal(dg.hessian(np.prod)(x), expected)


def test_prod_along_an_axis_with_zeros_matches_finite_differences() -> None:
    """prod over one axis of a matrix with zero entries: right to third order."""
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5], [1.0, 2.0, -1.0]])
    for axis in (None, 0, 1):
        check_grads(lambda v, a=axis: np.prod(v, axis=a), (x,), order=3)


@pytest.mark.parametrize(("f", "x"), [
    (np.linalg.norm, np.zeros(3)),
    (lambda v: np.linalg.norm(v, axis=1), np.zeros((2, 3))),
    (np.std, np.full(4, 2.0)),
    (lambda v: np.std(v, axis=0), np.ones((3, 2))),
    (lambda v: np.hypot(v, 0.0), np.zeros(2)),
    (lambda v: np.hypot(0.0, v), np.zeros(2)),
    (lambda v: np.arctan2(v, 0.0), np.zeros(2)),
    (lambda v: np.arctan2(0.0, v), np.zeros(2)),
], ids=["norm", "norm-axis", "std", "std-axis", "hypot-x", "hypot-y", "arctan2-y",
        "arctan2-x"])
def test_cones_have_slope_zero_at_their_tip(f: Callable[[Any], Any], x: np.ndarray) -> None:
    """norm at 0, std of equal entries, hypot and arctan2 at the origin: slope 0, no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jac = dg.jacobian(f)(x)
    np.testing.assert_array_equal(jac, np.zeros_like(jac))


# ---- numerical stability ------------------------------------------------------------------------


def test_logsumexp_and_softmax_are_stable_for_large_inputs() -> None:
    """logsumexp, softmax and log_softmax of +-1000 are finite, exact and warning-free."""
    z = np.array([1000.0, 1000.0, -1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lse = dg.logsumexp(Variable(z, np.array([1.0, 0.0, 0.0])))
        sm = dg.softmax(Variable(z, np.array([1.0, 0.0, 0.0])))
        lsm = dg.log_softmax(z)
    np.testing.assert_allclose(lse.value, 1000.0 + np.log(2.0), rtol=1e-15)
    np.testing.assert_allclose(lse.grad, 0.5, rtol=1e-12)
    np.testing.assert_allclose(sm.value, [0.5, 0.5, 0.0], atol=1e-300)
    np.testing.assert_allclose(sm.grad, [0.25, -0.25, 0.0], atol=1e-300)
    np.testing.assert_allclose(lsm, [-np.log(2.0), -np.log(2.0), -2000.0 - np.log(2.0)])


def test_logsumexp_of_minus_infinity_is_minus_infinity() -> None:
    """logsumexp of a group of -inf entries is -inf, without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = dg.logsumexp(np.array([[-np.inf, -np.inf], [0.0, -np.inf]]), axis=1)
    np.testing.assert_array_equal(out, [-np.inf, 0.0])


# ---- docstring examples -------------------------------------------------------------------------


def test_linalg_docstring_examples_run() -> None:
    """The runnable example in the linalg module (einsum) gives what it shows."""
    result = doctest.testmod(linalg, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
