"""NumPy's products with NumPy's signatures, written with the product primitives: tensordot,
inner, outer, vdot, kron, cross and trace.

Each is one contraction (``einsum``) or an elementwise product of reshaped factors, so each has
the product rule of the primitives it is made of, and is exact.
"""

from __future__ import annotations

import operator
import string
from typing import Any

import numpy as np

from ._numpy_shapes import diagonal, moveaxis
from ._numpy_values import as_array
from .primitives import arithmetic, linalg, reductions, shaping

__all__ = ["cross", "inner", "kron", "outer", "tensordot", "trace", "vdot"]

_LETTERS = string.ascii_letters


def _ndim(a: Any) -> int:
    return len(np.shape(a))


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """numpy.tensordot: the sum over `axes` of a (its last ones, when an int) and of b (its
    first ones), the other axes of a then of b left in order."""
    a, b = as_array(a), as_array(b)
    na, nb = _ndim(a), _ndim(b)
    try:
        n = operator.index(axes)
    except TypeError:
        axes_a, axes_b = axes
        axes_a = [operator.index(x) % max(na, 1) for x in np.atleast_1d(axes_a)]
        axes_b = [operator.index(x) % max(nb, 1) for x in np.atleast_1d(axes_b)]
    else:
        axes_a, axes_b = list(range(na - n, na)), list(range(n))
    if len(axes_a) != len(axes_b) or any(
            np.shape(a)[i] != np.shape(b)[j] for i, j in zip(axes_a, axes_b)):
        raise ValueError(f"numpy.tensordot: shape-mismatch for sum over axes {axes_a} of a "
                         f"{np.shape(a)} and {axes_b} of b {np.shape(b)}")
    sa = list(_LETTERS[:na])
    sb = list(_LETTERS[na:na + nb])
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in axes_a] + \
          [c for k, c in enumerate(sb) if k not in axes_b]
    return linalg.contract(a, b, subscripts=f"{''.join(sa)},{''.join(sb)}->{''.join(out)}")


def inner(a: Any, b: Any) -> Any:
    """numpy.inner: sums over the last axes of a and b (a product, when one is a scalar)."""
    a, b = as_array(a), as_array(b)
    if _ndim(a) == 0 or _ndim(b) == 0:
        return arithmetic.multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def outer(a: Any, b: Any, out: Any = None) -> Any:
    """numpy.outer: every entry of flattened a times every entry of flattened b."""
    if out is not None:
        raise NotImplementedError("numpy.outer on a dualgrad Variable does not support out; "
                                  "call it without it")
    a, b = as_array(a), as_array(b)
    return arithmetic.multiply(shaping.reshape(a, shape=(-1, 1)), shaping.reshape(b, shape=(1, -1)))


def vdot(a: Any, b: Any) -> Any:
    """numpy.vdot: the sum of the products of flattened a and b (real: no conjugate)."""
    a, b = as_array(a), as_array(b)
    return linalg.dot(shaping.reshape(a, shape=(-1,)), shaping.reshape(b, shape=(-1,)))


def kron(a: Any, b: Any) -> Any:
    """numpy.kron: blocks a[i, j] * b, for arrays of any rank (the shorter shape padded with
    leading 1s)."""
    a, b = as_array(a), as_array(b)
    sa, sb = np.shape(a), np.shape(b)
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    # a's axes interleaved with b's: a[i, j] b[k, l] at (i, k, j, l), then merged pairwise
    wide_a = shaping.reshape(a, shape=tuple(x for d in sa for x in (d, 1)))
    wide_b = shaping.reshape(b, shape=tuple(x for d in sb for x in (1, d)))
    return shaping.reshape(arithmetic.multiply(wide_a, wide_b),
                           shape=tuple(x * y for x, y in zip(sa, sb)))


def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: Any = None) -> Any:
    """numpy.cross of vectors of 3 components along the given axes, broadcast over the
    others."""
    a, b = as_array(a), as_array(b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if np.shape(a)[-1] != 3 or np.shape(b)[-1] != 3:
        raise ValueError(f"numpy.cross on dualgrad Variables takes vectors of 3 components "
                         f"(NumPy 2 deprecates 2), got {np.shape(a)[-1]} and {np.shape(b)[-1]}")

    def part(v: Any, k: int) -> Any:
        return shaping.getitem(v, index=(Ellipsis, k))

    def det(i: int, j: int) -> Any:  # a_i b_j - a_j b_i
        return arithmetic.subtract(arithmetic.multiply(part(a, i), part(b, j)),
                                   arithmetic.multiply(part(a, j), part(b, i)))

    c = shaping.stack(*_broadcast(det(1, 2), det(2, 0), det(0, 1)), axis=-1)
    return moveaxis(c, -1, axisc)


def _broadcast(*parts: Any) -> list[Any]:
    shape = np.broadcast_shapes(*(np.shape(p) for p in parts))
    return [shaping.broadcast_to(p, shape=shape) for p in parts]


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
          out: Any = None) -> Any:
    """numpy.trace: the sum along diagonal `offset` of the planes (axis1, axis2)."""
    if dtype is not None or out is not None:
        raise NotImplementedError("numpy.trace on a dualgrad Variable does not support dtype "
                                  "or out; call it without them")
    return reductions.reduce_sum(diagonal(as_array(a), offset, axis1, axis2), axis=-1)
