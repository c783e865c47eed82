"""A dualgrad primitive applied to recorded arrays (and to no dual number): recorded as its
function on plain arrays. This is the `Tracer`'s box, installed into the core (see
`_core.install_box`); `_trace` imports it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _core
from ._core import Primitive
from ._errors import ShapeError
from ._nests import find
from ._primitive import _checked
from ._tracer import Tracer, _innermost, _output, _record

__all__ = ["record_primitive"]


def record_primitive(prim: Primitive | Callable[..., Any], args: tuple[Any, ...],
                     params: dict[str, Any]) -> Any:
    """A primitive applied to Tracers (and no Variable of a differentiation): its function on
    plain arrays, recorded. A plain function (see `_core.call`) is recorded as it is."""
    if not isinstance(prim, Primitive):
        return _record(prim, args, params)
    if any(type(a) is np.ndarray and a.dtype.kind != "f" for a in args):
        args = _checked(prim.name, args)  # booleans and integers become floats, as eagerly
    found: list[Tracer] = []
    find(args, found, Tracer)
    trace = _innermost(found)
    values = [a.value if type(a) is Tracer and a._trace is trace else a for a in args]
    outer = any(type(v) is Tracer for v in values)
    try:
        with np.errstate(all="ignore") if trace.silent else contextlib.nullcontext():
            # with arrays of an enclosing recording, the primitive itself records there too
            out = prim(*values, **params) if outer else prim.fn(*values, **params)
    except ValueError as exc:
        raise ShapeError(f"{prim.name} cannot combine the shapes "
                         f"{[np.shape(v) for v in values]}: {exc}") from exc
    fn = prim.fn
    if type(out) is not np.ndarray and type(out) is not Tracer:
        out, fn = np.asarray(out), _as_array(fn)  # a NumPy scalar, on every replay too
    ins = tuple(trace.leaf(a) for a in args)
    return _output(trace, fn, ins, params, out, prim)


def _as_array(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` giving ndarrays, as a primitive's output always is (a reduction to a NumPy scalar
    becomes a 0-d array)."""
    def call(*args: Any, **params: Any) -> Any:
        out = fn(*args, **params)
        return out if type(out) is np.ndarray else np.asarray(out)
    return call


_core.install_box(Tracer, record_primitive)
