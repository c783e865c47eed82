"""Linear maps: reverse mode from the forward-mode rules.

`linearize` runs a function on dual numbers whose tangents are recorded arrays (`Tracer`s):
the values are computed as usual, and every rule, applied to a symbolic tangent, writes down
linear equations (a product with a slope, a sum, a reshape, ...). The recorded equations are the
function's tangent map at that point, a `LinearMap`: `forward` runs it on new tangents without
the function, and `transpose` runs it backwards, from an output's cotangent to the inputs'
cotangents, which is reverse mode.

Each linear operation has one transpose, in `_transposes`, written once for every rule that
uses the operation. A rule that is not linear in its tangent (``t * t``), or that uses an
operation with no transpose here, is refused by name when the map is transposed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._core import Variable
from ._errors import NotTransposableError
from ._trace import Program, recording
from ._tracer import Tracer, _Trace
from ._transposes import shape_of
from ._transposes import transposed as transposed_rule
from ._tree import leaves, rebuild

__all__ = ["LinearMap", "linearize"]


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
            if (o._tangent is not None and type(o._tangent) is not Tracer) \
                    or type(o.value) is Variable:
                raise NotImplementedError(
                    "the output's tangent carries another differentiation's tangents: f uses "
                    "a Variable of an outer differentiation that is not among its arguments (a "
                    "closure); pass it to f as an argument, or use mode='forward'")
            values.append(o.value)
            outs.append(o.tangent)
        else:
            values.append(o.value if type(o) is Variable else o)
            outs.append(None)
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
            in_shapes = [shapes[i][0] if self._linear[i] else shape_of(args[k])
                         for k, i in enumerate(ins)]
            try:
                transposed = transposed_rule(fn, op, c, args, linear, in_shapes, params)
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
