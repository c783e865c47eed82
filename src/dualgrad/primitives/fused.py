"""Fused primitives: compositions common enough in layers and losses to deserve one rule.

Each equals a composition of other primitives (the formula is beside it) and computes it in
fewer array passes, with fewer intermediate tangents.
"""

from __future__ import annotations

from typing import Any

from .._core import Primitive, Rows, Specialisations, Variable, align, call
from .._rows import SMALL_DENSE
from . import _numpy as np  # NumPy bound at import: see _numpy
from .elementwise import sigmoid
from .linalg import _align_batch

# ---- affine: x @ w + b, the dense layer's map ----------------------------------------------------

def _matmul(a: Any, w: Any) -> Any:
    """a @ w, through ndarray.dot where that is the same product: on small arrays the matmul
    ufunc's dispatch costs more than the arithmetic (1 us against 0.35 us for (100, 2) @ (2, 1)).
    """
    if type(a) is np.ndarray and type(w) is np.ndarray and w.ndim == 2:
        if a.ndim == 2:
            return a.dot(w)
        if a.ndim > 2 and a.flags.c_contiguous and a.shape[-1] == w.shape[0]:
            return a.reshape(-1, a.shape[-1]).dot(w).reshape((*a.shape[:-1], w.shape[1]))
    return a @ w


def _affine(x: Any, w: Any, b: Any) -> Any:
    out = _matmul(x, w)
    out += b  # `out` is a fresh array: adding in place saves an allocation
    return out


def _affine_tangent(tangents: Any, out: Any, x: Any, w: Any, b: Any) -> Any:
    # the contributions add up in place in the first fresh product
    tx, tw, tb = tangents
    acc = None if tx is None else _matmul(tx, w)
    if tw is not None:
        # the direction axis of tw must sit in front of every batch axis of x
        xtw = x @ _align_batch(tw, w, x)
        acc = xtw if acc is None else _accumulate(acc, xtw)
    if tb is not None:
        if acc is None:
            acc = np.broadcast_to(align(tb, out.ndim), (tb.shape[0], *out.shape))
        else:
            acc = _accumulate(acc, align(tb, out.ndim))
    return acc


def _accumulate(acc: Any, c: Any) -> Any:
    # `acc` is a fresh product, so the sum may land in it when `c` broadcasts to its shape
    if type(acc) is np.ndarray and type(c) is np.ndarray:
        try:
            acc += c
            return acc
        except ValueError:  # c is larger along some axis: a new array after all
            pass
    return acc + c


def _affine_jvp(tangents: Any, x: Any, w: Any, b: Any) -> tuple[Any, Any]:
    out = _affine(x, w, b)
    return out, _affine_tangent(tangents, out, x, w, b)


def _affine_units(tangents: Any, x: Any, w: Any, b: Any) -> tuple[Any, Any]:
    # A weight or bias carrying unit seeds (a Model's, or grad's) adds its columns of x (or
    # ones) straight into the tangent, without a product with the seeds' zeros. Only for the
    # dense layer's own shapes, x (N, d), w (d, u), b (u,); anything else takes the products.
    out = _affine(x, w, b)
    tx, tw, tb = tangents
    at_w = at_b = None
    if type(x) is not Variable and x.ndim == 2 and out.ndim == 2:
        if type(tw) is Rows and type(w) is not Variable \
                and w.shape == (x.shape[1], out.shape[1]):
            at_w, tw = tw.unit, None
        if type(tb) is Rows and type(b) is not Variable and b.shape == (out.shape[1],):
            at_b, tb = tb.unit, None
    rest = [t.dense() if type(t) is Rows else t for t in (tx, tw, tb)]
    if type(x) is not np.ndarray and (at_w is not None or at_b is not None):
        # x is being recorded: the seeds' part is one equation of x alone, folded when x is
        # a full batch of training data (see _trace); on few numbers in all, the products
        # with the seeds' zeros cost less than the scatter's bookkeeping
        total = next(t.total for t in tangents if type(t) is Rows)
        if total * out.size <= SMALL_DENSE:
            rest = [t.dense() if type(t) is Rows else t for t in tangents]
            return out, _affine_tangent(rest, out, x, w, b)
        seeded = call(_seeded, total, out.shape, x, at_w, at_b)
        if rest[0] is None and rest[1] is None and rest[2] is None:
            return out, seeded
        return out, _affine_tangent(rest, out, x, w, b) + seeded
    if rest[0] is None and rest[1] is None and rest[2] is None:
        t = next(t for t in tangents if t is not None)
        acc = np.zeros((t.total, *out.shape))
    else:
        acc = _affine_tangent(rest, out, x, w, b)
        if type(acc) is not np.ndarray or not acc.flags.writeable or acc.shape[1:] != out.shape:
            acc = np.array(np.broadcast_to(acc, (acc.shape[0], *out.shape)))
    if at_w is not None:
        _add_product(acc, x, at_w, out.shape[1])
    if at_b is not None:
        _add_bias(acc, at_b)
    return out, acc


def _seeded(directions: int, shape: tuple[int, ...], x: np.ndarray, at_w: int | None,
            at_b: int | None) -> np.ndarray:
    """The tangent of x @ w + b when w and b carry only unit seeds (either may be constant)."""
    acc = np.zeros((directions, *shape))
    if at_w is not None:
        _add_product(acc, x, at_w, shape[1])
    if at_b is not None:
        _add_bias(acc, at_b)
    return acc


def _add_product(acc: Any, x: Any, offset: int, units: int) -> None:
    """acc += x @ t for a unit-seeded weight tangent t of shape (T, d, units), x of shape (N, d):
    direction k puts column i of x into output unit j, where k - offset = i * units + j."""
    d = x.shape[1]
    # the directions lo..hi of this chunk that fall on the weight's elements
    lo = offset if offset > 0 else 0
    hi = min(acc.shape[0], offset + d * units)
    if lo >= hi:
        return
    if units == 1:
        acc[lo:hi, :, 0] += x[:, lo - offset:hi - offset].T
    elif lo == offset and hi == offset + d * units:
        # the whole weight: every units-th direction feeds output unit j, one slice per unit
        columns = x.T
        for j in range(units):
            acc[lo + j:hi:units, :, j] += columns
    else:
        flat = np.arange(lo - offset, hi - offset)
        acc[np.arange(lo, hi), :, flat % units] += x[:, flat // units].T


def _add_bias(acc: Any, offset: int) -> None:
    """acc += t for a unit-seeded bias tangent t of shape (T, units), broadcast over the rows
    of acc, shape (T, N, units): direction k adds 1 to output unit k - offset."""
    units = acc.shape[2]
    # the directions lo..hi of this chunk that fall on the bias's elements
    lo = offset if offset > 0 else 0
    hi = min(acc.shape[0], offset + units)
    if lo >= hi:
        return
    if units == 1:
        acc[lo:hi, :, 0] += 1.0
    elif hi - lo <= _FEW:
        for k in range(lo, hi):
            acc[k, :, k - offset] += 1.0
    else:
        acc[np.arange(lo, hi), :, np.arange(lo - offset, hi - offset)] += 1.0


# below this many directions a loop of slices beats one fancy-indexed update
_FEW = 16


# affine(x, w, b) = x @ w + b, the dense layer's map, for x (..., d), w (d, u), b (u,)
affine = Primitive("affine", _affine, joint=_affine_tangent,
                   special=Specialisations(jvp=_affine_jvp, unit_jvp=_affine_units))


# ---- losses: a mean over every element, whose tangent is one matrix-vector product -------------

def _contract(t: Any, slope: Any) -> Any:
    """sum over the value axes of t * slope, where t has shape (T, *s) and s broadcasts to
    slope's shape."""
    if t.shape[1:] == slope.shape and type(t) is not Variable and type(slope) is not Variable:
        # the common case, first: arrays, or arrays being recorded (see _trace)
        return t.reshape(t.shape[0], -1).dot(slope.reshape(-1))
    t = align(t, slope.ndim)
    if type(t) is np.ndarray and type(slope) is np.ndarray:
        if t.shape[1:] != slope.shape:
            t = np.broadcast_to(t, (t.shape[0], *slope.shape))
        return t.reshape(t.shape[0], -1) @ slope.reshape(-1)
    return (t * slope).sum(axis=tuple(range(1, slope.ndim + 1)))


def _mean_square(d: Any) -> Any:
    # one dot product (BLAS, blocked sums) rather than d * d and a reduction: a third the time
    # on small arrays; the terms are squares, so the sum's rounding error stays relative to it
    # (float64, 1e7 normal terms: 7e-16 relative, against 2e-16 for the pairwise sum)
    d = d.reshape(-1) if type(d) is np.ndarray else np.ravel(d)
    if d.dtype != np.float64:  # float32's shorter mantissa wants the pairwise sum
        return np.add.reduce(d * d) / d.size
    return d.dot(d) / d.size


def _scaled(d: Any, factor: float) -> Any:
    """d * factor, in place when d is a fresh array."""
    if type(d) is np.ndarray:
        d *= factor
        return d
    return d * factor


def _mse(p: Any, y: Any) -> Any:
    return _mean_square(p - y)


def _mse_slope(p: Any, y: Any) -> Any:
    d = p - y
    return d * (2.0 / d.size)


def _mse_jvp(tangents: Any, p: Any, y: Any) -> tuple[Any, Any]:
    # value and slope share the residual
    tp, ty = tangents
    d = p - y
    if type(d) is np.ndarray and type(tp) is np.ndarray and tp.shape[1:] == d.shape \
            and d.dtype == np.float64:
        # a training step's case, inline (two calls fewer, 0.5 us of a 14 us linear step):
        # _mean_square, the slope in place of d, then _contract's first branch
        flat = d.reshape(-1)
        out = flat.dot(flat) / flat.size
        flat *= 2.0 / flat.size
        tangent = tp.reshape(tp.shape[0], -1).dot(flat)
    else:
        out = _mean_square(d)
        d = _scaled(d, 2.0 / np.size(d))  # the slope
        tangent = None if tp is None else _contract(tp, d)
    if ty is not None:
        c = _contract(ty, d)
        tangent = -c if tangent is None else tangent - c
    return out, tangent


# mean_squared_error(p, y) = mean((p - y)**2); its slope in p is 2 (p - y) / n, in y the negative
mean_squared_error = Primitive(
    "mean_squared_error", _mse,
    lambda t, out, p, y: _contract(t, _mse_slope(p, y)),
    lambda t, out, p, y: -_contract(t, _mse_slope(p, y)),
    special=Specialisations(jvp=_mse_jvp))


def _sce_parts(z: Any, y: Any) -> tuple[Any, Any]:
    """The loss, and log(1 + e^-|z|) for the slope to reuse.

    softplus(z) - y z is summed as max(z, 0) - y z + log(1 + e^-|z|): for targets in [0, 1]
    the first two terms are never negative, so nothing cancels however large z is, and the
    last is exact even where it is tiny.
    """
    tail = np.log1p(np.exp(-np.absolute(z)))
    terms = np.maximum(z, 0.0) - y * z
    terms += tail
    return np.add.reduce(terms, axis=None) / terms.size, tail


def _sce(z: Any, y: Any) -> Any:
    return _sce_parts(z, y)[0]


def _sce_logits(t: Any, out: Any, z: Any, y: Any) -> Any:
    # sigmoid(z) - y, stable for any z; the primitive itself when z is an outer Variable
    slope = (sigmoid.fn(z) if type(z) is np.ndarray else sigmoid(z)) - y
    return _contract(t, slope * (1.0 / slope.size))


def _sce_targets(t: Any, out: Any, z: Any, y: Any) -> Any:
    slope = z * (y * 0.0 + 1.0)  # z broadcast against y
    return -_contract(t, slope * (1.0 / slope.size))


def _sce_jvp(tangents: Any, z: Any, y: Any) -> tuple[Any, Any]:
    # value and slope share log(1 + e^-|z|): sigmoid(z) = exp(min(z, 0) - log(1 + e^-|z|))
    tz, ty = tangents
    value, tail = _sce_parts(z, y)
    out = np.asarray(value)
    tangent = None
    if tz is not None:
        slope = np.exp(np.minimum(z, 0.0) - tail) - y
        tangent = _contract(tz, slope * (1.0 / slope.size))
    if ty is not None:
        c = _sce_targets(ty, out, z, y)
        tangent = c if tangent is None else tangent + c
    return out, tangent


# sigmoid_cross_entropy(z, y) = mean(softplus(z) - y z): log-loss of logits z against targets y,
# finite in value and slope for any z; its slope in z is (sigmoid(z) - y) / n, in y it is -z / n
sigmoid_cross_entropy = Primitive("sigmoid_cross_entropy", _sce, _sce_logits, _sce_targets,
                                  special=Specialisations(jvp=_sce_jvp))

PRIMITIVES = (affine, mean_squared_error, sigmoid_cross_entropy)
