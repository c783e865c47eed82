"""Fused primitives: compositions common enough in layers and losses to deserve one rule.

Each equals a composition of other primitives (the formula is beside it) and computes it in
fewer array passes, with fewer intermediate tangents.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _seeds
from .._core import Primitive, align
from .arithmetic import _align_batch
from .elementwise import sigmoid


# ---- affine: x @ w + b, the dense layer's map ----------------------------------------------------

# work (directions x rows x inputs x units) above which unit seeds are scattered, not multiplied
_SCATTER_ABOVE = 200_000


def _affine(x: Any, w: Any, b: Any) -> Any:
    out = x @ w
    out += b  # `out` is a fresh array: adding in place saves an allocation
    return out


def _affine_tangent(tangents: Any, out: Any, x: Any, w: Any, b: Any) -> Any:
    # One joint rule: the contributions add up in place in the first fresh product, and a
    # weight or bias carrying unit seeds adds its columns of x (or ones) without a product.
    tx, tw, tb = tangents
    acc = None if tx is None else tx @ w
    # the scatter only beats the product (and its broadcast bias) on larger arrays
    directions = next(t.shape[0] for t in tangents if t is not None)
    plain = type(x) is np.ndarray and x.ndim == 2 and out.ndim == 2 and \
        out.size * x.shape[1] * directions > _SCATTER_ABOVE
    if tw is not None:
        at = _seeds.offset(tw) if plain else None
        if at is None:
            # the direction axis of tw must sit in front of every batch axis of x
            xtw = x @ _align_batch(tw, w, x)
            acc = xtw if acc is None else _accumulate(acc, xtw)
        else:
            if acc is None:
                acc = np.zeros((tw.shape[0], *out.shape))
            _seeds.add_product(acc, x, at, out.shape[1])
    if tb is not None:
        at = _seeds.offset(tb) if plain and type(acc) is np.ndarray else None
        if at is not None:
            _seeds.add_bias(acc, at)
        elif acc is None:
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


# affine(x, w, b) = x @ w + b, the dense layer's map, for x (..., d), w (d, u), b (u,)
affine = Primitive("affine", _affine, joint=_affine_tangent)


# ---- losses: a mean over every element, whose tangent is one matrix-vector product -------------

def _contract(t: Any, slope: Any) -> Any:
    """sum over the value axes of t * slope, where t has shape (T, *s) and s broadcasts to
    slope's shape."""
    t = align(t, slope.ndim)
    if type(t) is np.ndarray and type(slope) is np.ndarray:
        if t.shape[1:] != slope.shape:
            t = np.broadcast_to(t, (t.shape[0], *slope.shape))
        return t.reshape(t.shape[0], -1) @ slope.reshape(-1)
    return (t * slope).sum(axis=tuple(range(1, slope.ndim + 1)))


def _mse(p: Any, y: Any) -> Any:
    d = p - y
    return np.add.reduce(d * d, axis=None) / d.size


def _mse_slope(p: Any, y: Any) -> Any:
    d = p - y
    return d * (2.0 / d.size)


# mean_squared_error(p, y) = mean((p - y)**2); its slope in p is 2 (p - y) / n, in y the negative
mean_squared_error = Primitive(
    "mean_squared_error", _mse,
    lambda t, out, p, y: _contract(t, _mse_slope(p, y)),
    lambda t, out, p, y: -_contract(t, _mse_slope(p, y)))


def _sce(z: Any, y: Any) -> Any:
    terms = np.logaddexp(0.0, z) - y * z
    return np.add.reduce(terms, axis=None) / terms.size


def _sce_logits(t: Any, out: Any, z: Any, y: Any) -> Any:
    slope = sigmoid(z) - y  # stable for any z; a primitive, so it also runs on Variables
    return _contract(t, slope * (1.0 / slope.size))


def _sce_targets(t: Any, out: Any, z: Any, y: Any) -> Any:
    slope = z * (y * 0.0 + 1.0)  # z broadcast against y
    return -_contract(t, slope * (1.0 / slope.size))


# sigmoid_cross_entropy(z, y) = mean(softplus(z) - y z): log-loss of logits z against targets y,
# finite in value and slope for any z; its slope in z is (sigmoid(z) - y) / n, in y it is -z / n
sigmoid_cross_entropy = Primitive("sigmoid_cross_entropy", _sce, _sce_logits, _sce_targets)
