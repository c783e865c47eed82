"""The transpose of each linear operation a rule may apply to its tangent: reverse mode's table.

`transposed` takes an equation ``out = fn(*args, **params)`` recorded while a rule ran on a
symbolic tangent (see `_linear`) and the cotangent of `out`, and gives the cotangent of each of
its linear arguments. One entry per NumPy function or built-in primitive; `unbroadcast(x,
shape)` sums `x` over the axes that broadcasting added or stretched. A symbolic zero never
reaches here: no equation is recorded for it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _transposes_products as products
from . import primitives as p
from ._core import call
from ._cotangents import Rule, nonlinear, refused, shape_of, unbroadcast
from ._nests import HOLE, Nested
from .primitives import matrices

__all__ = ["shape_of", "transposed", "unbroadcast"]


# ---- the transposes --------------------------------------------------------------------------

def transposed(fn: Any, op: Any, c: Any, args: list[Any], linear: list[int],
                shapes: list[tuple[int, ...]], params: dict[str, Any]
                ) -> list[tuple[int, Any]]:
    """For each linear argument k of the equation ``out = fn(*args, **params)``, (k, its
    cotangent) given the output's cotangent `c`."""
    if type(fn) is Nested:
        rule = _NESTED.get(fn.fn)
        if rule is None:
            raise refused(fn.fn)
        return rule(c, fn, args, linear, shapes)
    rule = _TABLE.get(op)
    if rule is None:
        rule = _TABLE.get(fn)
    if rule is None:
        raise refused(op)
    return rule(c, args, linear, shapes, params)


def _add(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
         params: dict[str, Any]) -> list[tuple[int, Any]]:
    return [(k, unbroadcast(c, shapes[k])) for k in linear]


def _subtract(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
              params: dict[str, Any]) -> list[tuple[int, Any]]:
    return [(k, unbroadcast(c if k == 0 else -c, shapes[k])) for k in linear]


def _negative(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
              params: dict[str, Any]) -> list[tuple[int, Any]]:
    return [(0, -c)]


def _identity(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
              params: dict[str, Any]) -> list[tuple[int, Any]]:
    return [(0, c.reshape(shapes[0]))]


def _multiply(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
              params: dict[str, Any]) -> list[tuple[int, Any]]:
    if len(linear) > 1:
        raise nonlinear("multiplies its tangent by itself")
    k = linear[0]
    return [(k, unbroadcast(c * args[1 - k], shapes[k]))]


def _divide(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
            params: dict[str, Any]) -> list[tuple[int, Any]]:
    if linear != [0]:
        raise nonlinear("divides by its tangent")
    return [(0, unbroadcast(c / args[1], shapes[0]))]


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(a % ndim for a in axis)
    return (axis % ndim,)


def _reduction(mean: bool) -> Rule:
    def rule(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
             params: dict[str, Any]) -> list[tuple[int, Any]]:
        shape = shapes[0]
        axis = args[1] if len(args) > 1 else params.get("axis")
        # NumPy's order: (a, axis, dtype, out, keepdims)
        keepdims = args[4] if len(args) > 4 else params.get("keepdims", False)
        axes = _axes(axis, len(shape))
        if not keepdims:
            c = np.reshape(c, tuple(1 if i in axes else n for i, n in enumerate(shape)))
        g = np.broadcast_to(c, shape)
        if mean:
            g = g * (1.0 / max(int(np.prod([shape[a] for a in axes])), 1))
        return [(0, g)]
    return rule


def _reshape(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
             params: dict[str, Any]) -> list[tuple[int, Any]]:
    return [(0, np.reshape(c, shapes[0]))]


def _transpose(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
               params: dict[str, Any]) -> list[tuple[int, Any]]:
    axes = args[1] if len(args) > 1 else params.get("axes")
    if axes is None:
        return [(0, np.transpose(c))]
    return [(0, np.transpose(c, np.argsort([a % len(shapes[0]) for a in axes])))]


def _broadcast_to(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
                  params: dict[str, Any]) -> list[tuple[int, Any]]:
    return [(0, unbroadcast(c, shapes[0]))]


def _basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(part is None or part is Ellipsis or isinstance(part, slice)
               or (isinstance(part, (int, np.integer)) and not isinstance(part, bool))
               for part in parts)


def _getitem(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
             params: dict[str, Any]) -> list[tuple[int, Any]]:
    if 1 in linear:
        raise nonlinear("indexes by its tangent")
    index = args[1] if len(args) > 1 else params["index"]
    # one equation when c is itself being recorded (a transposed training step)
    return [(0, call(_scatter, c, shapes[0], index))]


def _scatter(c: Any, shape: tuple[int, ...], index: Any) -> Any:
    """Zeros of `shape` with `c` added at `index`: the transpose of picking `index`."""
    if type(c) is not np.ndarray:  # a dual number (a gradient differentiated again)
        return _by_selection(c, shape, index)
    z = np.zeros(shape, dtype=c.dtype)
    if _basic(index):
        z[index] = c  # basic indices pick each element once
    else:
        np.add.at(z, index, c)  # repeated indices add up
    return z


def _by_selection(c: Any, shape: tuple[int, ...], index: Any) -> Any:
    """`_scatter` written as a product with the 0/1 matrix that picks `index`, so that it works
    on dual numbers: S[i, j] = 1 where flat position i of the array is entry j of x[index]."""
    size = int(np.prod(shape))
    positions = np.arange(size).reshape(shape)[index].reshape(-1)
    picks = np.zeros((size, positions.size))
    picks[positions, np.arange(positions.size)] = 1.0
    return np.reshape(picks @ np.reshape(c, -1), shape)


def _where(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
           params: dict[str, Any]) -> list[tuple[int, Any]]:
    if 0 in linear:
        raise nonlinear("chooses by its tangent")
    mask = args[0]
    out = []
    for k in linear:
        g = np.where(mask, c, 0.0) if k == 1 else np.where(mask, 0.0, c)
        out.append((k, unbroadcast(g, shapes[k])))
    return out


def _cumsum(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
            params: dict[str, Any]) -> list[tuple[int, Any]]:
    axis = args[1] if len(args) > 1 else params.get("axis")
    if axis is None:
        flat = c.reshape(-1)
        return [(0, np.cumsum(flat[::-1])[::-1].reshape(shapes[0]))]
    return [(0, np.flip(np.cumsum(np.flip(c, axis), axis=axis), axis))]


def _squeeze(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
             params: dict[str, Any]) -> list[tuple[int, Any]]:
    return [(0, np.reshape(c, shapes[0]))]


def _moveaxis(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
              params: dict[str, Any]) -> list[tuple[int, Any]]:
    source = args[1] if len(args) > 1 else params["source"]
    destination = args[2] if len(args) > 2 else params["destination"]
    return [(0, np.moveaxis(c, destination, source))]


def _swapaxes(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
              params: dict[str, Any]) -> list[tuple[int, Any]]:
    return [(0, np.swapaxes(c, args[1], args[2]))]


def _astype(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
            params: dict[str, Any]) -> list[tuple[int, Any]]:
    return [(0, c)]


_TABLE: dict[Any, Rule] = {
    np.add: _add, np.subtract: _subtract, np.negative: _negative, np.positive: _identity,
    np.multiply: _multiply, np.true_divide: _divide, np.matmul: products.matmul,
    np.dot: products.dot, np.ndarray.dot: products.dot,
    np.sum: _reduction(False), np.ndarray.sum: _reduction(False),
    np.mean: _reduction(True), np.ndarray.mean: _reduction(True),
    np.reshape: _reshape, np.ndarray.reshape: _reshape, np.ravel: _reshape,
    np.ndarray.ravel: _reshape, np.squeeze: _squeeze, np.expand_dims: _squeeze,
    np.transpose: _transpose, np.ndarray.transpose: _transpose,
    np.broadcast_to: _broadcast_to, operator.getitem: _getitem, np.where: _where,
    np.cumsum: _cumsum, np.moveaxis: _moveaxis, np.swapaxes: _swapaxes,
    np.copy: _identity, np.ndarray.copy: _identity, np.ascontiguousarray: _identity,
    np.ndarray.astype: _astype, np.einsum: products.einsum,
    # the built-in primitives a rule may apply to its tangent
    p.add: _add, p.subtract: _subtract, p.negative: _negative, p.multiply: _multiply,
    p.divide: _divide, p.matmul: products.matmul, p.dot: products.dot, p.reshape: _reshape,
    p.squeeze: _squeeze, p.expand_dims: _squeeze, p.transpose: _transpose,
    p.broadcast_to: _broadcast_to, p.getitem: _getitem, p.where: _where,
    p.reduce_sum: _reduction(False), p.reduce_mean: _reduction(True), p.cumsum: _cumsum,
    p.contract: products.contract, p.astype: _astype,
    matrices.solve: products.solve, np.diagonal: products.diagonal,
}




def _split_along(c: Any, parts: list[tuple[int, ...]], axis: int) -> list[Any]:
    sizes = np.cumsum([shape[axis] for shape in parts])[:-1]
    return np.split(c, sizes, axis=axis)


def _concatenate(c: Any, nested: Nested, args: list[Any], linear: list[int],
                 shapes: list[tuple[int, ...]]) -> list[tuple[int, Any]]:
    seq = nested.args[0]
    axis = nested.args[1] if len(nested.args) > 1 else nested.kwargs.get("axis", 0)
    # the shape of each element of the sequence; holes are the recorded arrays, in order
    at = 0
    shape_of: list[tuple[int, ...]] = []
    where: list[int | None] = []
    for item in seq:
        if item is HOLE:
            shape_of.append(shapes[at])
            where.append(at)
            at += 1
        else:
            shape_of.append(np.shape(item))
            where.append(None)
    if axis is None:
        pieces = np.split(c.reshape(-1), np.cumsum([int(np.prod(s)) for s in shape_of])[:-1])
        pieces = [piece.reshape(s) for piece, s in zip(pieces, shape_of)]
    else:
        pieces = _split_along(c, shape_of, axis % c.ndim)
    return [(k, piece) for k, piece in zip(where, pieces) if k is not None and k in linear]


def _stack(c: Any, nested: Nested, args: list[Any], linear: list[int],
           shapes: list[tuple[int, ...]]) -> list[tuple[int, Any]]:
    seq = nested.args[0]
    axis = nested.args[1] if len(nested.args) > 1 else nested.kwargs.get("axis", 0)
    out, at = [], 0
    for i, item in enumerate(seq):
        if item is HOLE:
            if at in linear:
                out.append((at, np.take(c, i, axis=axis % c.ndim)))
            at += 1
    return out


def _nested_getitem(c: Any, nested: Nested, args: list[Any], linear: list[int],
                    shapes: list[tuple[int, ...]]) -> list[tuple[int, Any]]:
    if linear != [0] or nested.args[0] is not HOLE:
        raise nonlinear("indexes by its tangent")
    index = nested.args[1]
    return _getitem(c, [None, index], [0], [shapes[0]], {})


_NESTED: dict[Any, Callable[..., list[tuple[int, Any]]]] = {
    np.concatenate: _concatenate, np.stack: _stack, operator.getitem: _nested_getitem,
}
