"""numpy.linalg's functions of several outputs, and those built from others, with NumPy's
signatures: slogdet, eigh, svd, qr, pinv, matrix_power, and the singular-value norms.

The primitives of `primitives.matrices` return eigh's, svd's and qr's outputs packed in one
array; here they are unpacked into NumPy's named tuples. inv, solve and det are primitives
that implement NumPy's functions directly.
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

import numpy as np

from ._numpy_shapes import moveaxis
from ._numpy_values import as_array
from .primitives import elementwise, linalg, matrices, reductions, shaping

__all__ = ["EighResult", "QRResult", "SVDResult", "SlogdetResult", "cholesky", "eigh",
           "eigvalsh", "matrix_power",
           "pinv", "qr", "singular_value_norm", "slogdet", "svd"]


class SlogdetResult(NamedTuple):
    """numpy.linalg.slogdet's result: the sign (a constant) and log|det| (differentiable)."""

    sign: Any
    logabsdet: Any


class EighResult(NamedTuple):
    """numpy.linalg.eigh's result: eigenvalues in ascending order, eigenvectors as columns."""

    eigenvalues: Any
    eigenvectors: Any


class SVDResult(NamedTuple):
    """numpy.linalg.svd's result: U, the singular values (descending) and V^T."""

    U: Any
    S: Any
    Vh: Any


class QRResult(NamedTuple):
    """numpy.linalg.qr's result: Q with orthonormal columns and upper-triangular R."""

    Q: Any
    R: Any


def _matrix_shape(a: Any, name: str) -> tuple[int, int]:
    shape = np.shape(a)
    if len(shape) < 2:
        raise np.linalg.LinAlgError(f"numpy.linalg.{name}: {len(shape)}-dimensional array "
                                    "given. Array must be at least two-dimensional")
    return shape[-2], shape[-1]


def slogdet(a: Any) -> SlogdetResult:
    """numpy.linalg.slogdet: the sign of det(a), a constant, and log|det(a)|, whose slope is
    tr(a^-1 da)."""
    a = as_array(a)
    sign = np.linalg.slogdet(elementwise._primal(a))[0]
    return SlogdetResult(sign, matrices.logabsdet(a))


def eigh(a: Any, UPLO: str = "L") -> EighResult:  # noqa: N803 - NumPy's name
    """numpy.linalg.eigh of the lower triangle (mirrored); the eigenvectors' derivative needs
    distinct eigenvalues."""
    packed = matrices.eigh(as_array(a), UPLO=_triangle("eigh", UPLO))
    return EighResult(shaping.getitem(packed, index=(Ellipsis, 0, slice(None))),
                      shaping.getitem(packed, index=(Ellipsis, slice(1, None), slice(None))))


def _triangle(name: str, uplo: Any) -> str:
    if uplo not in ("L", "U"):
        raise ValueError(f"numpy.linalg.{name}: UPLO must be 'L' or 'U', got {uplo!r}")
    return str(uplo)


def eigvalsh(a: Any, UPLO: str = "L") -> Any:  # noqa: N803 - NumPy's name
    """numpy.linalg.eigvalsh of the lower (or upper) triangle, mirrored."""
    return matrices.eigvalsh(as_array(a), UPLO=_triangle("eigvalsh", UPLO))


def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """numpy.linalg.cholesky: the lower factor L of a = L L^T, read from the lower triangle."""
    if upper:
        raise NotImplementedError("numpy.linalg.cholesky(upper=True) on a dualgrad Variable "
                                  "is not supported; take the transpose of the lower factor")
    return matrices.cholesky(as_array(a))


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Any:
    """numpy.linalg.svd; with vectors, of square matrices or with full_matrices=False (the
    extra columns of a full U or V are not unique, so have no derivative)."""
    a = as_array(a)
    m, n = _matrix_shape(a, "svd")
    if not compute_uv:
        return matrices.svdvals(a)
    if full_matrices and m != n:
        raise NotImplementedError(
            "numpy.linalg.svd(a, full_matrices=True) of a non-square matrix has columns of U "
            "or V that are not unique, with no derivative; pass full_matrices=False")
    u, s, vh = matrices.svd_parts(matrices.svd(a), m, n)
    return SVDResult(u, s, vh)


def qr(a: Any, mode: str = "reduced") -> Any:
    """numpy.linalg.qr in modes 'reduced' (and 'complete' for square matrices) and 'r', of
    matrices with at least as many rows as columns and full column rank."""
    a = as_array(a)
    m, n = _matrix_shape(a, "qr")
    if mode not in ("reduced", "complete", "r") or m < n or (mode == "complete" and m != n):
        raise NotImplementedError(
            f"numpy.linalg.qr on a dualgrad Variable takes a matrix with at least as many rows "
            f"as columns in mode 'reduced' or 'r' ('complete' when square); got shape "
            f"{(m, n)} and mode={mode!r}. Differentiate qr of the transpose for wide matrices")
    q, r = matrices.qr_parts(matrices.qr(a), m, n)
    return r if mode == "r" else QRResult(q, r)


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, **unsupported: Any) -> Any:
    """numpy.linalg.pinv, for matrices whose rank does not change nearby (the pseudo-inverse
    jumps where it does)."""
    if unsupported:
        raise NotImplementedError(f"numpy.linalg.pinv on a dualgrad Variable does not support "
                                  f"{', '.join(unsupported)}; call it without them")
    return matrices.pinv(as_array(a), rcond=rcond)


def matrix_power(a: Any, n: Any) -> Any:
    """numpy.linalg.matrix_power: a multiplied by itself n times, by repeated squaring (the
    inverse's powers for n < 0; the identity for n = 0)."""
    a = as_array(a)
    n = operator.index(n)
    size = _matrix_shape(a, "matrix_power")[1]
    if n == 0:
        return np.broadcast_to(np.eye(size), np.shape(a)).copy()
    if n < 0:
        a, n = matrices.inv(a), -n
    result, square = None, a
    while n:
        if n & 1:
            result = square if result is None else linalg.matmul(result, square)
        n >>= 1
        if n:
            square = linalg.matmul(square, square)
    return result


def singular_value_norm(x: Any, p: Any, row: int, col: int, keepdims: bool) -> Any:
    """The matrix norms of numpy.linalg.norm made of singular values: 2 (the largest), -2 (the
    smallest) and 'nuc' (their sum), over the axes (row, col)."""
    s = matrices.svdvals(moveaxis(x, (row, col), (-2, -1)))
    if p == "nuc":
        result = reductions.reduce_sum(s, axis=-1)
    else:
        result = shaping.getitem(s, index=(Ellipsis, 0 if p == 2 else -1))
    if keepdims:
        for axis in sorted((row, col)):
            result = shaping.expand_dims(result, axis=axis)
    return result
