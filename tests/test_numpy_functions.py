"""The NumPy functions that ordinary numerical code uses, differentiated as written.

Every function of the dispatch table is checked here or in test_numpy_dispatch against central
finite differences at orders 1 and 2 (a test fails if one is missing); the functions that read
values only return NumPy's plain results; lists of Variables stand for arrays where dualgrad's
own functions take them; and what cannot work (np.array of Variables) refuses clearly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import Variable, _dispatch, numpy_api
from dualgrad._numpy_values import VALUE_FUNCTIONS
from dualgrad.testing import check_grads

RNG = np.random.default_rng(14)
X = RNG.uniform(0.3, 0.9, size=(3, 4))
OTHER = RNG.uniform(-1.0, 1.0, size=(3, 4))
W = RNG.uniform(0.5, 1.5, size=(3, 4))


def _distinct(shape: tuple[int, ...]) -> np.ndarray:
    """Entries at least 0.1 apart, so that no two tie in a sort."""
    return (RNG.permutation(int(np.prod(shape))).reshape(shape) + 1.0) * 0.1


DISTINCT = _distinct((3, 4))

# (id, function of one (3, 4) array), each written as NumPy code; the id starts with the name of
# the NumPy function it checks
NUMPY_CODE: list[tuple[str, Callable[[Any], Any]]] = [
    # elementwise
    ("remainder", lambda x: np.remainder(3.0 * x, 0.7)), ("mod", lambda x: np.mod(0.7, x)),
    ("remainder-operator", lambda x: (3.0 * x) % 0.7 + 0.7 % x),
    ("fmod", lambda x: np.fmod(-3.0 * x, 0.7) + np.fmod(0.7, x)),
    ("logaddexp", lambda x: np.logaddexp(x, OTHER)),
    ("logaddexp2", lambda x: np.logaddexp2(OTHER, x)),
    ("exp2", np.exp2), ("fmax", lambda x: np.fmax(x, OTHER)), ("fmin", lambda x: np.fmin(OTHER, x)),
    ("deg2rad", np.deg2rad), ("rad2deg", np.rad2deg), ("sinc", np.sinc),
    ("heaviside", lambda x: np.heaviside(x - 0.5, x) + x),
    ("real", lambda x: np.real(x) * x), ("imag", lambda x: np.imag(x) + x),
    ("conj", lambda x: np.conj(x) * x), ("conjugate", lambda x: np.conjugate(x) * x),
    # reductions
    ("nansum", lambda x: np.nansum(np.where(x > 0.6, np.nan, x), axis=0)),
    ("nanmean", lambda x: np.nanmean(np.where(x > 0.6, np.nan, x) * x)),
    ("average", lambda x: np.average(x, axis=1, weights=W)),
    ("average-weights", lambda x: np.average(OTHER, weights=x)),
    ("average-1d-weights", lambda x: np.average(x, axis=0, weights=x[:, 0])),
    ("average-plain", lambda x: np.average(x)),
    # products
    ("tensordot", lambda x: np.tensordot(x, OTHER, axes=([1], [1]))),
    ("tensordot-int", lambda x: np.tensordot(x, x, axes=2)),
    ("tensordot-0", lambda x: np.tensordot(x[0], x[1], axes=0)),
    ("inner", lambda x: np.inner(x, OTHER)), ("inner-scalar", lambda x: np.inner(x[0, 0], x)),
    ("outer", lambda x: np.outer(x[0], x[1])), ("vdot", lambda x: np.vdot(x, OTHER)),
    ("kron", lambda x: np.kron(x[:2, :2], x[1])), ("kron-3d", lambda x: np.kron(x, OTHER[None])),
    ("cross", lambda x: np.cross(x[:, :3], OTHER[:, 1:])),
    ("cross-axis", lambda x: np.cross(x[:3], OTHER[:3], axis=0)),
    ("cross-broadcast", lambda x: np.cross(x[0, :3], x[:, 1:])),
    ("trace", lambda x: np.trace(x)), ("trace-offset", lambda x: np.trace(x, 1)),
    ("einsum-interleaved", lambda x: np.einsum(x, [0, 1], OTHER, [2, 1], [0, 2])),
    ("einsum-interleaved-implicit", lambda x: np.einsum(x, [Ellipsis, 1], x, [Ellipsis, 1])),
    # dense linear algebra, on well-conditioned matrices made from x
    ("inv", lambda x: np.linalg.inv(_square(x))),
    ("solve", lambda x: np.linalg.solve(_square(x), x[0, :3])),
    ("solve-matrix", lambda x: np.linalg.solve(_square(OTHER), x)),
    ("det", lambda x: np.linalg.det(_square(x))),
    ("slogdet", lambda x: np.linalg.slogdet(-_square(x)).logabsdet),
    ("cholesky", lambda x: np.linalg.cholesky(_spd(x))),
    ("eigvalsh", lambda x: np.linalg.eigvalsh(_spd(x))),
    ("eigvalsh-upper", lambda x: np.linalg.eigvalsh(_spd(x) + np.tril(x[:, 1:], -1), "U")),
    ("eigh", lambda x: np.linalg.eigh(_spd(x)).eigenvectors * np.linalg.eigh(_spd(x))[0]),
    ("eigh-upper", lambda x: np.linalg.eigh(_spd(x) + np.triu(x[:, 1:]), UPLO="U")[1]),
    ("svd", lambda x: np.linalg.svd(x, full_matrices=False).U),
    ("svd-square", lambda x: np.linalg.svd(_square(x))[2]),
    ("svd-values", lambda x: np.linalg.svd(x, compute_uv=False)),
    ("svd-vh", lambda x: np.linalg.svd(x, full_matrices=False)[2]
     * np.linalg.svd(x.T, full_matrices=False)[1][:, None]),
    ("qr", lambda x: np.linalg.qr(x.T)[0] + np.linalg.qr(x.T).R.sum()),
    ("qr-r", lambda x: np.linalg.qr(_square(x), mode="r")),
    ("pinv", lambda x: np.linalg.pinv(x)), ("pinv-tall", lambda x: np.linalg.pinv(x.T)),
    ("matrix_power", lambda x: np.linalg.matrix_power(_square(x), 3)),
    ("matrix_power-inverse", lambda x: np.linalg.matrix_power(_square(x), -2)),
    ("matrix_power-0", lambda x: np.linalg.matrix_power(_square(x), 0) + x[:, :3]),
    ("norm-2", lambda x: np.linalg.norm(x, 2)), ("norm-minus-2", lambda x: np.linalg.norm(x, -2)),
    ("norm-nuc", lambda x: np.linalg.norm(x, "nuc", keepdims=True)),
    ("norm-2-axes", lambda x: np.linalg.norm(x.reshape(3, 2, 2), 2, axis=(0, 2))),
    # rearrangements
    ("swapaxes", lambda x: np.swapaxes(x[None], 0, 2)),
    ("moveaxis", lambda x: np.moveaxis(x[None], 0, -1)),
    ("moveaxis-many", lambda x: np.moveaxis(x[None], [0, 1], [2, 0])),
    ("flip", lambda x: np.flip(x)), ("flip-axis", lambda x: np.flip(x, 1)),
    ("flipud", np.flipud), ("fliplr", np.fliplr),
    ("roll", lambda x: np.roll(x, 2)), ("roll-axis", lambda x: np.roll(x, (1, -1), (0, 1))),
    ("repeat", lambda x: np.repeat(x, 2)), ("repeat-axis", lambda x: np.repeat(x, [1, 0, 2], 0)),
    ("tile", lambda x: np.tile(x, (2, 1, 2))), ("take", lambda x: np.take(x, [5, 0, 5])),
    ("take-axis", lambda x: np.take(x, [[3, 0]], axis=1)),
    ("take-wrap", lambda x: np.take(x, [-1, 7], axis=0, mode="wrap")),
    ("take_along_axis", lambda x: np.take_along_axis(x, np.argsort(OTHER, axis=1), axis=1)),
    ("diagonal", lambda x: np.diagonal(x, 1)), ("diagonal-axes", lambda x: np.diagonal(
        x.reshape(3, 2, 2), 0, 1, 2)),
    ("diag", lambda x: np.diag(x)), ("diag-vector", lambda x: np.diag(x[0], -1)),
    ("tril", lambda x: np.tril(x)), ("triu", lambda x: np.triu(x.reshape(2, 3, 2), 1)),
    ("tril-vector", lambda x: np.tril(x[0], -1)),
    ("pad", lambda x: np.pad(x, 1)), ("pad-constant", lambda x: np.pad(x, ((1, 0), (0, 2)),
                                                                      constant_values=x[0, 0])),
    ("pad-reflect", lambda x: np.pad(x, 2, mode="reflect")),
    ("pad-edge", lambda x: np.pad(x, (1, 2), mode="edge")),
    ("pad-wrap", lambda x: np.pad(x, 1, mode="wrap")),
    ("pad-symmetric", lambda x: np.pad(x, ((0, 1), (2, 1)), mode="symmetric")),
    ("sort", lambda x: np.sort(x)), ("sort-axis", lambda x: np.sort(x, axis=0)),
    ("sort-flat", lambda x: np.sort(x, axis=None)),
    ("atleast_1d", lambda x: np.atleast_1d(x[0, 0])),
    ("atleast_2d", lambda x: np.atleast_2d(x[0])), ("atleast_3d", lambda x: np.atleast_3d(x)),
    ("atleast_3d-many", lambda x: np.concatenate(np.atleast_3d(x[0], x[1, 1]), axis=1)),
    ("vstack", lambda x: np.vstack([x[0], x[1:], OTHER[0]])),
    ("hstack", lambda x: np.hstack([x[0], x[1], 2.0 * x[0, :2]])),
    ("hstack-2d", lambda x: np.hstack([x, OTHER])), ("dstack", lambda x: np.dstack([x, x])),
    ("column_stack", lambda x: np.column_stack([x[0], x.T])),
    ("append", lambda x: np.append(x, x[0])), ("append-axis", lambda x: np.append(x, x, axis=1)),
    ("split", lambda x: np.split(x, 2, axis=1)[1] * np.split(x, [1])[1][0, :2]),
    ("array_split", lambda x: np.array_split(x, 3, axis=1)[0]),
]

SORTED = {"sort", "sort-axis", "sort-flat"}


def _square(x: Any) -> Any:
    """A well-conditioned 3 x 3 matrix made from x."""
    return x[:, :3] + 3.0 * np.eye(3)


def _spd(x: Any) -> Any:
    """A symmetric positive definite 3 x 3 matrix made from x."""
    m = x[:, :3]
    return m @ m.T + np.eye(3)


def _point(name: str) -> np.ndarray:
    return DISTINCT if name in SORTED else X


def _ids(table: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in table]


@pytest.mark.parametrize(("name", "f"), NUMPY_CODE, ids=_ids(NUMPY_CODE))
def test_numpy_code_gives_the_numpy_value_and_a_variable(name: str,
                                                         f: Callable[[Any], Any]) -> None:
    """On a Variable the NumPy call returns a Variable whose value is NumPy's own result."""
    x = _point(name)
    out = f(Variable(x, np.ones_like(x)))
    assert isinstance(out, Variable), f"{name} returned {type(out).__name__}"
    np.testing.assert_allclose(out.value, f(x), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize(("name", "f"), NUMPY_CODE, ids=_ids(NUMPY_CODE))
def test_numpy_code_matches_finite_differences(name: str, f: Callable[[Any], Any],
                                               order: int) -> None:
    """First and second directional derivatives of NumPy code agree with finite differences."""
    check_grads(f, (_point(name),), order=order, directions=2, rtol=1e-5, atol=1e-6)


def test_every_dispatched_function_is_checked() -> None:
    """Each NumPy function of the dispatch table that differentiates has finite-difference
    cases (here or in test_numpy_dispatch), so a new entry cannot go unchecked."""
    import test_numpy_dispatch

    ids = _ids(NUMPY_CODE) + _ids(test_numpy_dispatch.NUMPY_CODE)
    checked = {name.split("-")[0] for name in ids}
    value_only = {fn.__name__ for fn in VALUE_FUNCTIONS}
    missing = sorted({fn.__name__ for fn in _dispatch._FUNCTIONS} - checked - value_only)
    assert not missing, f"dispatched but never checked against finite differences: {missing}"


# ---- arrays built from Variables ----------------------------------------------------------------

XV = Variable(1.0, 1.0)
YV = Variable(2.0, 0.0)


@pytest.mark.parametrize("build", [
    lambda: np.array([XV, YV]), lambda: np.asarray([XV, YV]), lambda: np.mean([XV, YV]),
    lambda: np.r_[np.atleast_1d(XV), np.atleast_1d(YV)], lambda: np.int64(XV),
], ids=["array", "asarray", "mean-of-list", "r_", "int64"])
def test_arrays_of_variables_refuse_and_name_np_stack(build: Callable[[], Any]) -> None:
    """NumPy calls that never dispatch to a Variable raise a TypeError suggesting np.stack."""
    with pytest.raises(dg.DualgradTypeError, match=r"np\.stack\(\[x, y\]\)"):
        build()


@pytest.mark.parametrize("f", [dg.mean, dg.sum, dg.norm, dg.prod, numpy_api.sort,
                               numpy_api.cumsum],
                         ids=["mean", "sum", "norm", "prod", "sort", "cumsum"])
def test_dualgrad_functions_take_lists_of_variables(f: Callable[[Any], Any]) -> None:
    """dualgrad's NumPy-signature functions take a list holding Variables as np.array would."""
    out = f([XV, [YV, 3.0][0], 0.5])
    expected = f(np.array([1.0, 2.0, 0.5]))
    np.testing.assert_allclose(out.value, expected)
    stacked = f(np.stack([XV, YV, Variable(0.5)]))
    np.testing.assert_allclose(out.tangent, stacked.tangent)


def test_nested_lists_of_variables_become_matrices() -> None:
    """A nested list of Variables and numbers stacks row by row, as np.array reads it."""
    out = dg.sum([[XV, 2.0], [YV, XV]], axis=1)
    np.testing.assert_allclose(out.value, [3.0, 3.0])
    np.testing.assert_allclose(out.grad, [1.0, 1.0])


# ---- everyday elementwise functions -------------------------------------------------------------


def test_remainder_operator_differentiates_both_sides() -> None:
    """v % c has slope 1 in v, and c % v slope -floor(c / v), as np.remainder's rule says."""
    assert float((Variable(3.5, 1.0) % 2.0).grad) == 1.0
    assert float((7.0 % Variable(2.0, 1.0)).grad) == -3.0


def test_sinc_is_smooth_at_zero() -> None:
    """sinc has slope 0 and second derivative -pi^2 / 3 at 0, with no warning."""
    assert float(dg.grad(np.sinc)(0.0)) == 0.0
    np.testing.assert_allclose(float(dg.derivative(np.sinc, 2)(0.0)), -np.pi**2 / 3, rtol=1e-12)
    np.testing.assert_allclose(float(dg.derivative(np.sinc, 2)(1e-4)), -np.pi**2 / 3, rtol=1e-6)


def test_heaviside_passes_the_tangent_to_its_value_at_zero() -> None:
    """heaviside(x, h0) has slope 0 in x and slope 1 in h0 only where x is 0."""
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(np.heaviside(x, Variable(np.full(3, 0.5), np.ones(3))).grad,
                                  [0.0, 1.0, 0.0])
    assert np.heaviside(Variable(x, np.ones(3)), 0.5).tangent is None


def test_fmax_and_fmin_give_the_tangent_to_the_number_beside_a_nan() -> None:
    """fmax/fmin return the number where the other argument is NaN, and its tangent."""
    x = Variable(np.array([1.0, 2.0]), np.ones(2))
    other = np.array([np.nan, 0.0])
    np.testing.assert_array_equal(np.fmax(x, other).grad, [1.0, 1.0])
    np.testing.assert_array_equal(np.fmin(x, other).grad, [1.0, 0.0])


def test_nan_functions_have_slope_zero_at_nan_entries() -> None:
    """nansum and nanmean skip NaN entries: their slope there is 0, elsewhere 1 and 1/count."""
    x = np.array([1.0, np.nan, 3.0])
    np.testing.assert_array_equal(dg.grad(np.nansum)(x), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(dg.grad(np.nanmean)(x), [0.5, 0.0, 0.5])


# ---- functions that read values only ------------------------------------------------------------

V = Variable(np.array([[0.5, np.inf], [np.nan, -1.0]]), np.ones((2, 2)))
PLAIN = V.value


@pytest.mark.parametrize("f", [
    lambda v: np.allclose(v, v, equal_nan=True), lambda v: np.isclose(v, 0.5),
    np.isfinite, np.isnan, np.isinf, np.signbit, lambda v: np.greater(v, 0.0),
    lambda v: np.equal(v, PLAIN), lambda v: np.less_equal(0.0, v), np.argmax, np.argmin,
    lambda v: np.argsort(v, axis=0), np.nonzero, np.where, np.flatnonzero, np.count_nonzero,
    np.argwhere, np.shape, np.ndim, np.size, lambda v: np.size(v, 1), np.result_type,
    lambda v: np.logical_not(v), lambda v: np.array_equal(v, PLAIN, equal_nan=True),
], ids=["allclose", "isclose", "isfinite", "isnan", "isinf", "signbit", "greater", "equal",
        "less_equal", "argmax", "argmin", "argsort", "nonzero", "where", "flatnonzero",
        "count_nonzero", "argwhere", "shape", "ndim", "size", "size-axis", "result_type",
        "logical_not", "array_equal"])
def test_value_functions_return_numpys_plain_result(f: Callable[[Any], Any]) -> None:
    """Predicates, comparisons and indices of a Variable are NumPy's results on its value."""
    with np.errstate(invalid="ignore"):
        out, expected = f(V), f(PLAIN)
    assert not isinstance(out, Variable)
    for got, want in zip(np.atleast_1d(out), np.atleast_1d(expected)) if isinstance(
            out, tuple) else [(out, expected)]:
        np.testing.assert_array_equal(got, want)


def test_astype_to_a_float_type_casts_the_tangent_too() -> None:
    """Variable.astype(float32) casts value and tangent; astype(float64) keeps the derivative."""
    v = Variable(np.array([1.5, 2.5]), np.array([1.0, 2.0]))
    low = v.astype(np.float32)
    assert low.dtype == np.float32 and low.tangent.dtype == np.float32
    np.testing.assert_array_equal(dg.grad(lambda x: np.sum(x.astype("float64") ** 2))(
        np.array([1.0, 2.0])), [2.0, 4.0])


@pytest.mark.parametrize("convert", [lambda v: v.astype(np.int64), lambda v: v.astype(bool),
                                     int, np.int64],
                         ids=["astype-int", "astype-bool", "int", "np.int64"])
def test_integer_conversions_refuse_a_carried_tangent(convert: Callable[[Any], Any]) -> None:
    """astype to an integer type, int() and np.int64() refuse a Variable with a tangent."""
    with pytest.raises(dg.DualgradTypeError, match="tangent"):
        convert(Variable(2.0, 1.0))


def test_integer_conversions_of_constants_give_plain_numbers() -> None:
    """int() and astype(int) of a constant Variable give NumPy's and Python's plain results."""
    assert int(Variable(2.7)) == 2
    np.testing.assert_array_equal(Variable(np.array([1.5, -2.5])).astype(int), [1, -2])


# ---- linear algebra where derivatives do not exist ----------------------------------------------


def test_det_at_a_singular_matrix_raises_a_linalg_error() -> None:
    """det's slope at a singular matrix is refused with dualgrad's LinAlgError naming det."""
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match="det has no derivative") as info:
        dg.grad(np.linalg.det)(singular)
    assert isinstance(info.value, dg.DualgradError)


def test_eigenvectors_at_repeated_eigenvalues_raise_and_eigenvalues_do_not() -> None:
    """eigh's vectors have no derivative at a repeated eigenvalue (an error naming eigh); the
    eigenvalues alone still do."""
    a = np.diag([1.0, 1.0, 2.0])
    with pytest.raises(np.linalg.LinAlgError, match="eigh's eigenvectors"):
        dg.jacobian(lambda m: np.linalg.eigh(m)[1])(a)
    np.testing.assert_allclose(dg.grad(lambda m: np.sum(np.linalg.eigvalsh(m)))(a), np.eye(3))


def test_full_svd_of_a_wide_matrix_is_refused_with_the_way_out() -> None:
    """svd with full_matrices=True of a non-square Variable names full_matrices=False."""
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        np.linalg.svd(Variable(X, np.ones_like(X)))


def test_pad_refuses_odd_reflection_rather_than_copying_wrong_entries():
    """np.pad's reflect_type='odd' is no copy of entries (2 * edge - entry): refused with the
    way out, never a wrong gather; the default even reflection matches NumPy."""
    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    v = dg.Variable(x, np.ones(6))
    with pytest.raises(NotImplementedError, match="reflect_type"):
        np.pad(v, (2, 0), mode="reflect", reflect_type="odd")
    np.testing.assert_array_equal(np.pad(v, (2, 1), mode="symmetric").value,
                                  np.pad(x, (2, 1), mode="symmetric"))


def test_split_at_indices_that_do_not_increase_gives_numpys_pieces():
    """np.split with an index list that goes back gives NumPy's pieces, values and shapes."""
    x = np.arange(12.0).reshape(3, 4)
    v = dg.Variable(x, np.ones((1, 3, 4)))
    for got, want in zip(np.split(v, [3, 1], axis=1), np.split(x, [3, 1], axis=1)):
        np.testing.assert_array_equal(got.value, want)


def test_average_returned_without_weights_gives_the_count():
    """np.average(v, returned=True) without weights gives the mean and the count, as NumPy."""
    v = dg.Variable(np.array([1.0, 2.0, 3.0]), np.ones(3))
    mean, count = np.average(v, returned=True)
    assert float(mean.value) == 2.0 and float(count) == 3.0


def test_nanmean_keeps_float32():
    """np.nanmean of a float32 Variable stays float32, value and tangent, as NumPy's."""
    v = dg.Variable(np.array([1.0, np.nan, 3.0], dtype=np.float32), np.ones(3, np.float32))
    out = np.nanmean(v)
    assert out.value.dtype == np.float32 and out.tangent.dtype == np.float32
