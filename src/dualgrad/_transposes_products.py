"""Transposes of the products a rule may apply to its tangent: matmul, dot, einsum, and a
linear solve in its right-hand side; and of np.diagonal (see `_transposes`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._core import call
from ._cotangents import nonlinear, refused, unbroadcast

__all__ = ["contract", "diagonal", "dot", "einsum", "matmul", "solve"]


def matmul(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
            params: dict[str, Any]) -> list[tuple[int, Any]]:
    if len(linear) > 1:
        raise nonlinear("multiplies its tangent by itself (a matrix product)")
    k = linear[0]
    a_shape, b_shape = shapes[0], shapes[1]
    other = args[1 - k]
    # BLAS takes strided arrays only: a broadcast cotangent (zero strides) would fall back to
    # NumPy's own loops, a hundred times slower
    c = _contiguous(c)
    # 1-D operands as matrices: a (n,) as (1, n), b (n,) as (n, 1); c gains the axes they lost
    if len(a_shape) == 1:
        c = np.expand_dims(c, -2)
    if len(b_shape) == 1:
        c = np.expand_dims(c, -1)
    if k == 0:
        b = other[:, None] if other.ndim == 1 else other
        g = c @ np.swapaxes(b, -1, -2)
        if len(a_shape) == 1:
            g = g[..., 0, :]
        return [(0, unbroadcast(g, a_shape))]
    a = other[None, :] if other.ndim == 1 else other
    g = np.swapaxes(a, -1, -2) @ c
    if len(b_shape) == 1:
        g = g[..., 0]
    return [(1, unbroadcast(g, b_shape))]


def _contiguous(a: Any) -> Any:
    return a if type(a) is not np.ndarray or a.flags.c_contiguous else np.ascontiguousarray(a)


def dot(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
         params: dict[str, Any]) -> list[tuple[int, Any]]:
    a_shape, b_shape = shapes[0], shapes[1]
    if len(linear) > 1:
        raise nonlinear("multiplies its tangent by itself (a dot product)")
    if len(a_shape) <= 2 and len(b_shape) <= 2 and len(a_shape) and len(b_shape):
        return matmul(c, args, linear, shapes, params)
    k = linear[0]
    c = _contiguous(c)
    if len(b_shape) == 1:  # a (..., n) . b (n,): a sum over a's last axis
        if k == 0:
            return [(0, np.multiply.outer(c, args[1]).reshape(a_shape))]
        a = args[0]
        return [(1, np.tensordot(a, c, axes=(list(range(a.ndim - 1)), list(range(c.ndim)))))]
    if not len(a_shape) or not len(b_shape):  # a scalar times an array
        return [(k, unbroadcast(c * args[1 - k], shapes[k]))]
    # a (i..., j) . b (k..., j, m) = out (i..., k..., m), summed over j
    n, m = len(a_shape), len(b_shape)
    if k == 0:
        b = args[1]
        kept = [*range(n - 1, n - 1 + m - 2), n - 1 + m - 2]
        return [(0, np.tensordot(c, b, axes=(kept, [*range(m - 2), m - 1])))]
    a = args[0]
    g = np.tensordot(a, c, axes=(list(range(n - 1)), list(range(n - 1))))  # (j, k..., m)
    return [(1, np.moveaxis(g, 0, m - 2))]


def _einsum_operands(subscripts: str, n: int) -> tuple[list[str], str]:
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        inputs, output = spec.split("->")
    else:
        inputs = spec
        letters = inputs.replace("...", "").replace(",", "")
        output = ("..." if "..." in inputs else "") + "".join(
            sorted(ch for ch in set(letters) if letters.count(ch) == 1))
    return inputs.split(","), output


def _contraction(c: Any, operands: list[Any], linear: list[int], shapes: list[Any],
                 subscripts: str) -> list[tuple[int, Any]]:
    if len(linear) > 1:
        raise nonlinear("multiplies its tangent by itself (an einsum)")
    k = linear[0]
    specs, output = _einsum_operands(subscripts, len(operands))
    if "..." in "".join(specs) + output:
        specs, output = _explicit(specs, output, shapes, c.ndim)
    target = specs[k]
    if len(set(target)) != len(target):  # a diagonal of operand k: onto its diagonal
        unique = "".join(dict.fromkeys(target))
        specs_u = [*specs[:k], unique, *specs[k + 1:]]
        shape = shapes[k]
        size = dict(zip(target, shape))
        (_, g), = _contraction(c, operands, linear, [*shapes[:k], tuple(size[ch] for ch in unique),
                                                     *shapes[k + 1:]],
                               ",".join(specs_u) + "->" + output)
        z = np.zeros(shape, dtype=g.dtype)
        np.einsum(target + "->" + unique, z)[...] = g
        return [(k, z)]
    others = [s for j, s in enumerate(specs) if j != k]
    present = set("".join(others) + output)
    kept = "".join(ch for ch in target if ch in present)
    g = np.einsum(",".join([*others, output]) + "->" + kept,
                  *[o for j, o in enumerate(operands) if j != k], c)
    if kept != target:  # letters of operand k alone, summed within it: broadcast back
        shape = shapes[k]
        g = np.broadcast_to(np.reshape(g, tuple(n if ch in present else 1
                                                 for ch, n in zip(target, shape))), shape)
    return [(k, g)]


def _explicit(specs: list[str], output: str, shapes: list[tuple[int, ...]], out_ndim: int
              ) -> tuple[list[str], str]:
    """Subscripts with each ``...`` spelled out in letters, right-aligned as broadcasting
    aligns them. An axis of length 1 stretched against a longer one gets a letter of its own,
    so that the transposed contraction sums over the stretch."""
    free = iter(ch for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                if ch not in "".join(specs) + output)
    ndims = [len(shape) - (len(spec) - 3) if "..." in spec else 0
             for spec, shape in zip(specs, shapes)]
    width = max([*ndims, out_ndim - (len(output) - 3) if "..." in output else 0])
    shared = [next(free) for _ in range(width)]
    longest = [1] * width  # the broadcast length at each position
    for spec, shape, n in zip(specs, shapes, ndims):
        if "..." in spec:
            start = spec.index("...")
            for j, size in enumerate(shape[start:start + n]):
                longest[width - n + j] = max(longest[width - n + j], size)
    spelled = []
    for spec, shape, n in zip(specs, shapes, ndims):
        if "..." not in spec:
            spelled.append(spec)
            continue
        start = spec.index("...")
        letters = "".join(next(free) if size == 1 and longest[width - n + j] > 1
                          else shared[width - n + j]
                          for j, size in enumerate(shape[start:start + n]))
        spelled.append(spec.replace("...", letters))
    return spelled, output.replace("...", "".join(shared))


def contract(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
              params: dict[str, Any]) -> list[tuple[int, Any]]:
    return _contraction(c, args, linear, shapes, params["subscripts"])


def einsum(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
            params: dict[str, Any]) -> list[tuple[int, Any]]:
    if 0 in linear or not isinstance(args[0], str):
        raise refused(np.einsum)
    got = _contraction(c, args[1:], [k - 1 for k in linear], shapes[1:], args[0])
    return [(k + 1, g) for k, g in got]


def solve(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
           params: dict[str, Any]) -> list[tuple[int, Any]]:
    # x = solve(a, b) is linear in b: b's cotangent is solve(a^T, c)
    if linear != [1]:
        raise nonlinear("solves a system whose matrix is its tangent")
    a = args[0]
    return [(1, unbroadcast(np.linalg.solve(np.swapaxes(a, -1, -2), c), shapes[1]))]


def diagonal(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
              params: dict[str, Any]) -> list[tuple[int, Any]]:
    names = ("offset", "axis1", "axis2")
    given = dict(zip(names, args[1:]))
    given.update((k, v) for k, v in params.items() if k in names)
    return [(0, call(_undiagonal, c, shapes[0], given.get("offset", 0), given.get("axis1", 0),
                     given.get("axis2", 1)))]


def _undiagonal(c: Any, shape: tuple[int, ...], offset: int, axis1: int, axis2: int) -> Any:
    """Zeros of `shape` with `c` on the diagonal np.diagonal(z, offset, axis1, axis2) reads."""
    z = np.zeros(shape, dtype=c.dtype)
    view = np.moveaxis(z, (axis1, axis2), (-2, -1))
    k = c.shape[-1]
    rows = np.arange(k) + max(-offset, 0)
    view[..., rows, rows + offset] = c
    return z
