"""Linear programs and their transposes: reverse mode from the forward-mode rules.

`linearize` runs a function on dual numbers whose tangents are recorded arrays (`Tracer`s):
the values are computed as usual, and every rule, applied to a symbolic tangent, writes down
linear equations (a product with a slope, a sum, a reshape, ...). The recorded equations are the
function's tangent map at that point, a `LinearMap`: `forward` runs it on new tangents without
the function, and `transpose` runs it backwards, from an output's cotangent to the inputs'
cotangents, which is reverse mode.

Each linear operation has one transpose, in the table below, written once for every rule that
uses the operation. A rule that is not linear in its tangent (``t * t``), or that uses an
operation with no transpose here, is refused by name when the map is transposed.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import primitives as p
from ._core import Primitive, Variable, call
from ._errors import NotTransposableError
from ._trace import _HOLE, Program, Tracer, _Nested, _Trace, recording
from ._tree import leaves, rebuild
from .primitives import matrices

__all__ = ["LinearMap", "NotTransposableError", "linearize"]


def linearize(f: Callable[..., Any], primals: Sequence[Any], tag: int
              ) -> tuple[Any, LinearMap]:
    """Run ``f`` on `primals` (arrays), each a dual number of differentiation `tag` whose
    tangent is recorded; return f's output (values) and its tangent map at the primals.

    The output may be an array or a (nested) tuple or list of arrays."""
    trace = _Trace()
    trace.silent = True
    tangents = []
    for x in primals:
        value = np.zeros((1, *np.shape(x)), dtype=_dtype(x))
        slot = trace.slot(value, False)
        trace.inputs.append(slot)
        tangents.append(Tracer(trace, slot, value))
    try:
        out = recording(f, *(Variable._make(x, t, tag) for x, t in zip(primals, tangents)))
    finally:
        trace.active = False
    values, outs = [], []
    for o in leaves(out):
        if type(o) is Variable and o.tag == tag:
            values.append(o.value)
            outs.append(o.tangent if type(o.tangent) is Tracer else None)
        else:
            values.append(o.value if type(o) is Variable else o)
            outs.append(None)
    for o in outs:
        if o is not None and type(o) is not Tracer:
            raise NotImplementedError(
                "reverse mode inside another differentiation is not supported yet: the "
                "tangent of an output carries an outer differentiation's tangents; use "
                "mode='forward' for the inner derivative")
    return rebuild(out, iter(values)), LinearMap(trace, [np.shape(x) for x in primals],
                                                 [np.shape(v) for v in values], outs)


def _dtype(x: Any) -> Any:
    while type(x) is Variable:
        x = x.value
    return x.dtype if hasattr(x, "dtype") else np.float64


class LinearMap:
    """The tangent map of a function at a point, recorded: input tangents to output tangents.

    Each input tangent has its primal's shape; `forward` maps them to the outputs' tangents,
    `transpose` maps the outputs' cotangents back to the inputs'. Memory: the arrays the rules
    multiply the tangents by (the residuals), kept until the map is dropped.
    """

    def __init__(self, trace: _Trace, in_shapes: list[tuple[int, ...]],
                 out_shapes: list[tuple[int, ...]], outs: list[Any]) -> None:
        self.in_shapes, self.out_shapes = in_shapes, out_shapes
        self._inputs = list(trace.inputs)
        self._outs = [None if o is None else trace.leaf(o) for o in outs]
        linear = [not f for f in trace.fixed]
        # the equations some output reads, walking back from the outputs
        needed = {o for o in self._outs if o is not None}
        live = []
        for fn, ins, params, out in reversed(trace.equations):
            if out in needed:
                live.append((fn, ins, params, out, trace.ops.get(out, fn)))
                needed.update(i for i in ins if linear[i])
        self._live = live  # last equation first
        self._linear = linear
        values = trace.values
        # constants read by the equations (the residuals); shapes and dtypes of the linear slots
        self._constants = {i: values[i] for fn, ins, params, out, op in live for i in ins
                           if not linear[i]}
        self._shapes = {i: (values[i].shape, values[i].dtype)
                        for fn, ins, params, out, op in live for i in (*ins, out) if linear[i]}
        self._rule_of = {out: trace.rule_of[out] for *_, out, op in live
                         if out in trace.rule_of}
        self._trace: _Trace | None = trace
        self._out_tracers = outs
        self._program: Program | None = None

    def forward(self, *tangents: Any) -> list[Any]:
        """The outputs' tangents for the inputs' `tangents` (each shaped like its primal)."""
        if self._program is None:
            if self._trace is None:
                raise RuntimeError("this linear map was made for transposing only")
            outs = [np.zeros((1, *shape)) if o is None else o
                    for o, shape in zip(self._out_tracers, self.out_shapes)]
            self._program = Program(self._trace, outs, 0)
        got = self._program.replay(*[np.asarray(t, dtype=np.result_type(t, 1.0))[None]
                                     for t in tangents])
        return [g[0] for g in got]

    def transposing_only(self) -> LinearMap:
        """Drop what only `forward` needs (the recorded run's tangents). Returns self."""
        self._trace = self._out_tracers = None  # type: ignore[assignment]
        return self

    def transpose(self, *cotangents: Any) -> list[Any]:
        """The inputs' cotangents for the outputs' `cotangents` (each shaped like its output):
        the vector-Jacobian product."""
        ct: dict[int, Any] = {}
        for slot, c, shape in zip(self._outs, cotangents, self.out_shapes):
            if slot is not None:
                c = np.broadcast_to(np.asarray(c, dtype=np.result_type(c, 1.0)), shape)[None]
                ct[slot] = c if slot not in ct else ct[slot] + c
        constants, shapes = self._constants, self._shapes
        for fn, ins, params, out, op in self._live:
            c = ct.pop(out, None)
            if c is None:
                continue
            linear = [k for k, i in enumerate(ins) if self._linear[i]]
            args = [constants.get(i) for i in ins]
            in_shapes = [shapes[i][0] if self._linear[i] else _shape(args[k])
                         for k, i in enumerate(ins)]
            try:
                transposed = _transposed(fn, op, c, args, linear, in_shapes, params)
            except NotTransposableError as exc:
                rule = self._rule_of.get(out)
                if rule is None:
                    raise
                raise NotTransposableError(f"the rule of primitive {rule.name!r}: {exc}") \
                    from None
            for k, contribution in transposed:
                i = ins[k]
                if contribution.dtype != shapes[i][1]:
                    contribution = contribution.astype(shapes[i][1])
                ct[i] = contribution if i not in ct else ct[i] + contribution
        out = []
        for slot, shape in zip(self._inputs, self.in_shapes):
            c = ct.get(slot)
            out.append(np.zeros(shape) if c is None else np.reshape(c, shape))
        return out


def _shape(x: Any) -> Any:
    """A constant argument's shape, for arrays and numbers (None for other parameters)."""
    if type(x) is Tracer:  # an array of an enclosing recording
        return x.shape
    return np.shape(x) if isinstance(x, (np.ndarray, np.generic, float, int)) else None


# ---- the transposes --------------------------------------------------------------------------

def _transposed(fn: Any, op: Any, c: Any, args: list[Any], linear: list[int],
                shapes: list[tuple[int, ...]], params: dict[str, Any]
                ) -> list[tuple[int, Any]]:
    """For each linear argument k of the equation ``out = fn(*args, **params)``, (k, its
    cotangent) given the output's cotangent `c`."""
    if type(fn) is _Nested:
        rule = _NESTED.get(fn.fn)
        if rule is None:
            raise _refused(fn.fn)
        return rule(c, fn, args, linear, shapes)
    rule = _TABLE.get(op)
    if rule is None:
        rule = _TABLE.get(fn)
    if rule is None:
        raise _refused(op)
    return rule(c, args, linear, shapes, params)


def _name(op: Any) -> str:
    if isinstance(op, Primitive):
        return f"the primitive {op.name!r}"
    name = getattr(op, "__qualname__", None) or getattr(op, "__name__", None) or repr(op)
    return f"{getattr(op, '__module__', None) or 'numpy'}.{name}".replace("builtins.", "")


def _refused(op: Any) -> NotTransposableError:
    return NotTransposableError(
        f"reverse mode cannot transpose {_name(op)} applied to a tangent: a rule may use its "
        "tangent only in operations linear in it (products with arrays that do not depend on "
        "it, sums, reshapes, transposes, indexing, matmul or einsum with a constant, "
        "concatenate, where with a constant mask, cumsum); use mode='forward', or write the "
        "rule with those")


def _nonlinear(what: str) -> NotTransposableError:
    return NotTransposableError(
        f"a rule {what}: it is not linear in its tangent, so reverse mode cannot transpose it; "
        "a rule must return the tangent times slopes that do not depend on it (use "
        "mode='forward' meanwhile)")


def unbroadcast(x: Any, shape: tuple[int, ...]) -> Any:
    """`x` summed over the axes that broadcasting added or stretched to reach it from `shape`."""
    if x.shape == shape:
        return x
    extra = x.ndim - len(shape)
    if extra > 0:
        x = x.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and x.shape[i] != 1)
    if axes:
        x = x.sum(axis=axes, keepdims=True)
    return x.reshape(shape) if x.shape != shape else x


Rule = Callable[[Any, list[Any], list[int], list[tuple[int, ...]], dict[str, Any]],
                list[tuple[int, Any]]]


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
        raise _nonlinear("multiplies its tangent by itself")
    k = linear[0]
    return [(k, unbroadcast(c * args[1 - k], shapes[k]))]


def _divide(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
            params: dict[str, Any]) -> list[tuple[int, Any]]:
    if linear != [0]:
        raise _nonlinear("divides by its tangent")
    return [(0, unbroadcast(c / args[1], shapes[0]))]


def _matmul(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
            params: dict[str, Any]) -> list[tuple[int, Any]]:
    if len(linear) > 1:
        raise _nonlinear("multiplies its tangent by itself (a matrix product)")
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


def _dot(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
         params: dict[str, Any]) -> list[tuple[int, Any]]:
    a_shape, b_shape = shapes[0], shapes[1]
    if len(linear) > 1:
        raise _nonlinear("multiplies its tangent by itself (a dot product)")
    if len(a_shape) <= 2 and len(b_shape) <= 2 and len(a_shape) and len(b_shape):
        return _matmul(c, args, linear, shapes, params)
    k = linear[0]
    c = _contiguous(c)
    if len(b_shape) == 1:  # a (..., n) . b (n,): a sum over a's last axis
        if k == 0:
            return [(0, np.multiply.outer(c, args[1]).reshape(a_shape))]
        a = args[0]
        return [(1, np.tensordot(a, c, axes=(list(range(a.ndim - 1)), list(range(c.ndim)))))]
    if not len(a_shape) or not len(b_shape):  # a scalar times an array
        return _multiply(c, args, linear, shapes, params)
    # a (i..., j) . b (k..., j, m) = out (i..., k..., m), summed over j
    n, m = len(a_shape), len(b_shape)
    if k == 0:
        b = args[1]
        kept = [*range(n - 1, n - 1 + m - 2), n - 1 + m - 2]
        return [(0, np.tensordot(c, b, axes=(kept, [*range(m - 2), m - 1])))]
    a = args[0]
    g = np.tensordot(a, c, axes=(list(range(n - 1)), list(range(n - 1))))  # (j, k..., m)
    return [(1, np.moveaxis(g, 0, m - 2))]


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
        keepdims = args[2] if len(args) > 2 else params.get("keepdims", False)
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
        raise _nonlinear("indexes by its tangent")
    index = args[1] if len(args) > 1 else params["index"]
    # one equation when c is itself being recorded (a transposed training step)
    return [(0, call(_scatter, c, shapes[0], index))]


def _scatter(c: Any, shape: tuple[int, ...], index: Any) -> Any:
    """Zeros of `shape` with `c` added at `index`: the transpose of picking `index`."""
    z = np.zeros(shape, dtype=c.dtype)
    if _basic(index):
        z[index] = c  # basic indices pick each element once
    else:
        np.add.at(z, index, c)  # repeated indices add up
    return z


def _where(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
           params: dict[str, Any]) -> list[tuple[int, Any]]:
    if 0 in linear:
        raise _nonlinear("chooses by its tangent")
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
        raise _nonlinear("multiplies its tangent by itself (an einsum)")
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


def _contract(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
              params: dict[str, Any]) -> list[tuple[int, Any]]:
    return _contraction(c, args, linear, shapes, params["subscripts"])


def _einsum(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
            params: dict[str, Any]) -> list[tuple[int, Any]]:
    if 0 in linear or not isinstance(args[0], str):
        raise _refused(np.einsum)
    got = _contraction(c, args[1:], [k - 1 for k in linear], shapes[1:], args[0])
    return [(k + 1, g) for k, g in got]


_TABLE: dict[Any, Rule] = {
    np.add: _add, np.subtract: _subtract, np.negative: _negative, np.positive: _identity,
    np.multiply: _multiply, np.true_divide: _divide, np.matmul: _matmul,
    np.dot: _dot, np.ndarray.dot: _dot,
    np.sum: _reduction(False), np.ndarray.sum: _reduction(False),
    np.mean: _reduction(True), np.ndarray.mean: _reduction(True),
    np.reshape: _reshape, np.ndarray.reshape: _reshape, np.ravel: _reshape,
    np.ndarray.ravel: _reshape, np.squeeze: _squeeze, np.expand_dims: _squeeze,
    np.transpose: _transpose, np.ndarray.transpose: _transpose,
    np.broadcast_to: _broadcast_to, operator.getitem: _getitem, np.where: _where,
    np.cumsum: _cumsum, np.moveaxis: _moveaxis, np.swapaxes: _swapaxes,
    np.copy: _identity, np.ndarray.copy: _identity, np.ascontiguousarray: _identity,
    np.ndarray.astype: _astype, np.einsum: _einsum,
    # the built-in primitives a rule may apply to its tangent
    p.add: _add, p.subtract: _subtract, p.negative: _negative, p.multiply: _multiply,
    p.divide: _divide, p.matmul: _matmul, p.dot: _dot, p.reshape: _reshape,
    p.squeeze: _squeeze, p.expand_dims: _squeeze, p.transpose: _transpose,
    p.broadcast_to: _broadcast_to, p.getitem: _getitem, p.where: _where,
    p.reduce_sum: _reduction(False), p.reduce_mean: _reduction(True), p.cumsum: _cumsum,
    p.contract: _contract, p.astype: _astype,
}


def _solve(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
           params: dict[str, Any]) -> list[tuple[int, Any]]:
    # x = solve(a, b) is linear in b: b's cotangent is solve(a^T, c)
    if linear != [1]:
        raise _nonlinear("solves a system whose matrix is its tangent")
    a = args[0]
    return [(1, unbroadcast(np.linalg.solve(np.swapaxes(a, -1, -2), c), shapes[1]))]


def _diagonal(c: Any, args: list[Any], linear: list[int], shapes: list[Any],
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


_TABLE.update({matrices.solve: _solve, np.diagonal: _diagonal})


def _split_along(c: Any, parts: list[tuple[int, ...]], axis: int) -> list[Any]:
    sizes = np.cumsum([shape[axis] for shape in parts])[:-1]
    return np.split(c, sizes, axis=axis)


def _concatenate(c: Any, nested: _Nested, args: list[Any], linear: list[int],
                 shapes: list[tuple[int, ...]]) -> list[tuple[int, Any]]:
    seq = nested.args[0]
    axis = nested.args[1] if len(nested.args) > 1 else nested.kwargs.get("axis", 0)
    # the shape of each element of the sequence; holes are the recorded arrays, in order
    at = 0
    shape_of: list[tuple[int, ...]] = []
    where: list[int | None] = []
    for item in seq:
        if item is _HOLE:
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


def _stack(c: Any, nested: _Nested, args: list[Any], linear: list[int],
           shapes: list[tuple[int, ...]]) -> list[tuple[int, Any]]:
    seq = nested.args[0]
    axis = nested.args[1] if len(nested.args) > 1 else nested.kwargs.get("axis", 0)
    out, at = [], 0
    for i, item in enumerate(seq):
        if item is _HOLE:
            if at in linear:
                out.append((at, np.take(c, i, axis=axis % c.ndim)))
            at += 1
    return out


def _nested_getitem(c: Any, nested: _Nested, args: list[Any], linear: list[int],
                    shapes: list[tuple[int, ...]]) -> list[tuple[int, Any]]:
    if linear != [0] or nested.args[0] is not _HOLE:
        raise _nonlinear("indexes by its tangent")
    index = nested.args[1]
    return _getitem(c, [None, index], [0], [shapes[0]], {})


_NESTED: dict[Any, Callable[..., list[tuple[int, Any]]]] = {
    np.concatenate: _concatenate, np.stack: _stack, operator.getitem: _nested_getitem,
}
