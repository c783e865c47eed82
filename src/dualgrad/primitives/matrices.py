"""Dense linear algebra: inverse, solve, determinant, Cholesky, symmetric eigenproblems, SVD,
QR and the pseudo-inverse, each with the standard matrix-calculus rule, batched over leading
axes.

Every rule is linear in the tangent: products with matrices of the primal point, transposes,
triangular masks. Functions of several outputs (eigh, svd, qr) are primitives of one packed
array, which `numpy_api` unpacks.

Where a derivative does not exist the rule raises `dualgrad.LinAlgError` (a
``numpy.linalg.LinAlgError``): inv, solve, det and slogdet at a singular matrix; the vectors of
eigh at repeated eigenvalues; the vectors of svd at repeated or zero singular values; qr with
rank below the column count. Eigenvalues and singular values alone (eigvalsh, svd without
vectors) have the rule of the distinct case everywhere, as JAX's do. As NumPy does, eigh,
eigvalsh and cholesky read the lower triangle only: their derivatives in the entries above the
diagonal are 0, and the entries below count twice (once for their mirror).
"""

from __future__ import annotations

from typing import Any

from .._core import Primitive, Specialisations
from .._errors import LinAlgError
from . import _numpy as np  # NumPy bound at import: see _numpy
from .elementwise import _primal
from .linalg import _align_batch

# every rule here treats the direction axis as a batch axis: it may run on compact tangents
_ON_ROWS = Specialisations(rows=True)


def _mt(x: Any) -> Any:
    """The transpose of the last two axes (a stack of matrices transposed)."""
    return np.swapaxes(x, -1, -2)


def _invertible(a: Any, what: str) -> None:
    """Raise `LinAlgError` naming `what` unless every matrix of `a` is invertible."""
    a = _primal(a)
    if not np.all(np.isfinite(np.linalg.cond(a))) or np.any(
            np.linalg.cond(a) > 1.0 / np.finfo(a.dtype).eps):
        raise LinAlgError(f"{what} has no derivative at a singular matrix; perturb the matrix "
                          "or regularise it (a + eps * I)")


def _mirrored(t: Any, uplo: str = "L") -> Any:
    """The tangent as NumPy's symmetric solvers see it: its lower (or upper) triangle,
    mirrored."""
    n = np.shape(t)[-1]
    lower = np.tril(np.ones((n, n), dtype=np.bool_))
    if uplo == "U":
        lower = _mt(lower)
    below = lower & ~np.eye(n, dtype=np.bool_)
    return np.where(lower, t, 0.0) + _mt(np.where(below, t, 0.0))


def _diagonal(x: Any) -> Any:
    return np.diagonal(x, 0, -2, -1)


# ---- inverse, solve, determinant ----------------------------------------------------------------

def _inv_tangent(t: Any, out: Any, a: Any) -> Any:
    # d(A^-1) = -A^-1 dA A^-1
    return -(out @ t @ out)


inv = Primitive("inv", np.linalg.inv, _inv_tangent, implements=np.linalg.inv, special=_ON_ROWS)


def _by_columns(f: Any, v: Any) -> Any:
    """f of the tangent v (T, .., n) of a vector: its directions as the columns of a matrix."""
    return np.moveaxis(f(np.moveaxis(v, 0, -1)), -1, 0)


def _solve_a(t: Any, out: Any, a: Any, b: Any) -> Any:
    # x = A^-1 b, dx = -A^-1 dA x
    _invertible(a, "solve")
    if np.ndim(b) == 1:
        return -_by_columns(lambda m: solve(a, m), (t @ out[..., None])[..., 0])
    # b may have batch axes that a lacks: a's tangent goes behind them, as a is broadcast
    return -solve(a, _align_batch(t, a, out) @ out)


def _solve_b(t: Any, out: Any, a: Any, b: Any) -> Any:
    if np.ndim(b) == 1:  # NumPy reads a 1-D b as one vector
        return _by_columns(lambda m: solve(a, m), t)
    return solve(a, t)


solve: Primitive = Primitive("solve", np.linalg.solve, _solve_a, _solve_b,
                             implements=np.linalg.solve, special=_ON_ROWS)


def _det_tangent(t: Any, out: Any, a: Any) -> Any:
    # d det(A) = det(A) tr(A^-1 dA) = sum(det(A) A^-T * dA)
    _invertible(a, "det")
    cofactors = out[..., None, None] * _mt(inv(a))
    return np.sum(cofactors * t, axis=(-2, -1))


det = Primitive("det", np.linalg.det, _det_tangent, implements=np.linalg.det, special=_ON_ROWS)


def _logabsdet_tangent(t: Any, out: Any, a: Any) -> Any:
    # d log|det(A)| = tr(A^-1 dA)
    _invertible(a, "slogdet")
    return np.sum(_mt(inv(a)) * t, axis=(-2, -1))


# log|det(a)|: the differentiable half of slogdet (the sign is piecewise constant)
logabsdet = Primitive("logabsdet", lambda a: np.linalg.slogdet(a)[1], _logabsdet_tangent,
                      special=_ON_ROWS)


# ---- Cholesky -----------------------------------------------------------------------------------

def _cholesky_tangent(t: Any, out: Any, a: Any) -> Any:
    # A = L L^T: dL = L phi(L^-1 dA L^-T), phi the lower triangle with its diagonal halved
    n = np.shape(out)[-1]
    s = _mirrored(t)
    y = solve(out, s)                      # L^-1 dA
    x = _mt(solve(out, _mt(y)))            # L^-1 dA L^-T
    phi = np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)
    return out @ (x * phi)


# the lower factor, read from the lower triangle (numpy.linalg.cholesky's default)
cholesky = Primitive("cholesky", np.linalg.cholesky, _cholesky_tangent, special=_ON_ROWS)


# ---- symmetric eigenproblems: eigh packs w as row 0 above the eigenvectors --------------------

def _eigvalsh_tangent(t: Any, out: Any, a: Any, UPLO: str = "L") -> Any:  # noqa: N803
    # dw_i = v_i^T dA v_i, v_i the eigenvectors of the triangle NumPy reads, mirrored
    v = eigh(a, UPLO=UPLO)[..., 1:, :]
    return _diagonal(_mt(v) @ _mirrored(t, UPLO) @ v)


def _eigvalsh(a: Any, UPLO: Any = "L") -> Any:  # noqa: N803 - NumPy's name
    return np.linalg.eigvalsh(a, UPLO)


eigvalsh = Primitive("eigvalsh", _eigvalsh, _eigvalsh_tangent, special=_ON_ROWS)


def _eigh(a: Any, UPLO: Any = "L") -> Any:  # noqa: N803 - NumPy's name
    w, v = np.linalg.eigh(a, UPLO)
    return np.concatenate([w[..., None, :], v], axis=-2)


def _inverse_gaps(values: Any, what: str) -> Any:
    """F with F[i, j] = 1 / (values_j - values_i) off the diagonal and 0 on it; a
    `LinAlgError` naming `what` where two values repeat (F is infinite there)."""
    n = np.shape(values)[-1]
    gaps = values[..., None, :] - values[..., :, None]
    eye = np.eye(n, dtype=np.bool_)
    plain = np.absolute(_primal(gaps))
    scale = np.max(np.absolute(_primal(values)), axis=-1, keepdims=True)[..., None]
    if np.any((plain <= 1e-12 * np.maximum(scale, 1e-300)) & ~eye):
        raise LinAlgError(f"{what} has no derivative where two eigenvalues (or singular values) "
                          "are equal: its vectors are not unique there")
    return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, gaps))


def _eigh_tangent(t: Any, out: Any, a: Any, UPLO: str = "L") -> Any:  # noqa: N803
    w, v = out[..., 0, :], out[..., 1:, :]
    m = _mt(v) @ _mirrored(t, UPLO) @ v
    dw = _diagonal(m)
    dv = v @ (_inverse_gaps(w, "eigh's eigenvectors") * m)
    return np.concatenate([dw[..., None, :], dv], axis=-2)


eigh: Primitive = Primitive("eigh", _eigh, _eigh_tangent, special=_ON_ROWS)


# ---- singular values: svd packs U, s and Vh, flattened, along the last axis --------------------

def _svd(a: Any) -> Any:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    batch = np.shape(s)[:-1]
    return np.concatenate([u.reshape((*batch, -1)), s, vh.reshape((*batch, -1))], axis=-1)


def svd_parts(packed: Any, m: int, n: int) -> tuple[Any, Any, Any]:
    """U (.., m, k), s (.., k) and Vh (.., k, n) from svd's packed output (or tangent)."""
    k = min(m, n)
    lead = np.shape(packed)[:-1]
    u = np.reshape(packed[..., :m * k], (*lead, m, k))
    s = packed[..., m * k:m * k + k]
    vh = np.reshape(packed[..., m * k + k:], (*lead, k, n))
    return u, s, vh


def _svd_tangent(t: Any, out: Any, a: Any) -> Any:
    # the real case of JAX's svd_jvp_rule (Townsend, "Differentiating the SVD")
    m, n = np.shape(a)[-2:]
    u, s, vh = svd_parts(out, m, n)
    v = _mt(vh)
    ds_mat = _mt(u) @ t @ v
    ds = _diagonal(ds_mat)
    if np.any(_primal(s) <= 1e-12 * np.max(_primal(s))) and m != n:
        raise LinAlgError("svd's vectors have no derivative at a matrix of lower rank; use "
                          "svd(a, compute_uv=False) for the singular values alone")
    f = _inverse_gaps(s * s, "svd's singular vectors")
    row, col = s[..., None, :], s[..., :, None]  # [i, j] = s_j, and s_i
    ds_s, s_ds = ds_mat * row, col * ds_mat
    du = u @ (f * (ds_s + _mt(ds_s)))
    dv = v @ (f * (s_ds + _mt(s_ds)))
    if m > n:
        dav = t @ v
        du = du + (dav - u @ (_mt(u) @ dav)) / row
    if n > m:
        dau = _mt(t) @ u
        dv = dv + (dau - v @ (_mt(v) @ dau)) / row
    lead = np.shape(ds)[:-1]
    return np.concatenate([np.reshape(du, (*lead, -1)), ds, np.reshape(_mt(dv), (*lead, -1))],
                          axis=-1)


svd: Primitive = Primitive("svd", _svd, _svd_tangent, special=_ON_ROWS)


def _svdvals_tangent(t: Any, out: Any, a: Any) -> Any:
    # ds_i = u_i^T dA v_i
    m, n = np.shape(a)[-2:]
    u, _, vh = svd_parts(svd(a), m, n)
    return _diagonal(_mt(u) @ t @ _mt(vh))


svdvals = Primitive("svdvals", lambda a: np.linalg.svd(a, compute_uv=False), _svdvals_tangent,
                    special=_ON_ROWS)


# ---- QR: qr packs Q and R, flattened, along the last axis (m >= n) ------------------------------

def _qr(a: Any) -> Any:
    q, r = np.linalg.qr(a)
    lead = np.shape(a)[:-2]
    return np.concatenate([q.reshape((*lead, -1)), r.reshape((*lead, -1))], axis=-1)


def qr_parts(packed: Any, m: int, n: int) -> tuple[Any, Any]:
    """Q (.., m, n) and R (.., n, n) from qr's packed output (or tangent), m >= n."""
    lead = np.shape(packed)[:-1]
    return (np.reshape(packed[..., :m * n], (*lead, m, n)),
            np.reshape(packed[..., m * n:], (*lead, n, n)))


def _qr_tangent(t: Any, out: Any, a: Any) -> Any:
    # JAX's qr_jvp_rule, real case: with C = Q^T dA R^-1, dQ = Q (W - C) + dA R^-1 and
    # dR = (C - W) R, W the skew part of C's strict lower triangle
    m, n = np.shape(a)[-2:]
    q, r = qr_parts(out, m, n)
    _invertible(r, "qr (a matrix of rank below its column count)")
    da_rinv = _mt(solve(_mt(r), _mt(t)))  # dA R^-1
    c = _mt(q) @ da_rinv
    lower = np.where(np.tril(np.ones((n, n), dtype=np.bool_), -1), c, 0.0)
    w = lower - _mt(lower)
    dq = q @ (w - c) + da_rinv
    dr = (c - w) @ r
    lead = np.shape(dq)[:-2]
    return np.concatenate([np.reshape(dq, (*lead, -1)), np.reshape(dr, (*lead, -1))], axis=-1)


qr: Primitive = Primitive("qr", _qr, _qr_tangent, special=_ON_ROWS)


# ---- pseudo-inverse -----------------------------------------------------------------------------

def _pinv_tangent(t: Any, out: Any, a: Any, rcond: Any = None) -> Any:
    # Golub & Pereyra, for a matrix of locally constant rank: dA+ = -A+ dA A+
    #   + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+
    m, n = np.shape(a)[-2:]
    p, dat = out, _mt(t)
    left = np.eye(m) - a @ p
    right = np.eye(n) - p @ a
    return -(p @ t @ p) + p @ _mt(p) @ dat @ left + right @ dat @ _mt(p) @ p


def _pinv(a: Any, rcond: Any = None) -> Any:
    return np.linalg.pinv(a) if rcond is None else np.linalg.pinv(a, rcond)


pinv = Primitive("pinv", _pinv, _pinv_tangent, special=_ON_ROWS)

PRIMITIVES = (inv, solve, det, logabsdet, cholesky, eigvalsh, eigh, svd, svdvals, qr, pinv)
