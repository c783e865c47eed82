"""What the layers above plug into the core, which names no primitive and no NumPy dispatch.

The primitives layer gives Variable its operators (`ops`); the numpy layer installs the
functions behind ``__array_ufunc__`` and ``__array_function__``; the trace layer installs the
recorders of its array-like types (`install_box`).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

__all__ = ["call", "install_box", "install_numpy_dispatch", "numpy_dispatch", "ops",
           "provide_operators"]

ops = types.SimpleNamespace()


def provide_operators(**primitives: Any) -> None:
    """Give Variable its operators and methods: ``add``, ``getitem``, ``reduce_sum``, ...,
    and ``broadcast_to``, which the apply path uses to widen a tangent."""
    vars(ops).update(primitives)


def _no_numpy(*args: Any) -> Any:
    raise NotImplementedError("NumPy's functions reach a Variable through dualgrad's numpy "
                              "layer, which `import dualgrad` installs")


numpy_dispatch = types.SimpleNamespace(ufunc=_no_numpy, function=_no_numpy)


def install_numpy_dispatch(ufunc: Callable[..., Any], function: Callable[..., Any]) -> None:
    """Route ``Variable.__array_ufunc__`` to ``ufunc(fn, method, inputs, kwargs)`` and
    ``__array_function__`` to ``function(fn, args, kwargs)``."""
    numpy_dispatch.ufunc, numpy_dispatch.function = ufunc, function


# Array-like types of the layers above that stand for arrays of a recorded program (the trace's
# `Tracer`), each with its recorder: a primitive applied to one of them (and to no Variable of a
# differentiation) hands the application to ``record(primitive, args, params)``. A Variable may
# hold them as value or tangent; the primitive then runs its joint kernel on them where that
# can be recorded, its reference rules otherwise.
_BOXES: dict[type, Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]] = {}


def install_box(cls: type, record: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]
                ) -> None:
    """Make primitives applied to instances of `cls` call ``record(primitive, args, params)``."""
    _BOXES[cls] = record


def call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``; when an argument is a recorded array, `fn` is recorded whole, as one
    equation (a kernel that writes into arrays of its own, which recording could not follow)."""
    for a in args:
        if type(a) in _BOXES:
            return _BOXES[type(a)](fn, args, {})
    return fn(*args)


# A tangent array its owner gives up to the primitive being applied (see `_trace`'s
# `Program.differentiate`, which knows when a value is read for the last time): the sum of the
# contributions may be written into it rather than into a new array. Only ever compared by
# identity, so an array of another thread's computation is never mistaken for one of this.
donated: Any = None


# While a recording runs (see `_trace`), the primitives being applied, innermost last, so that
# each recorded equation knows whose rule wrote it (named when reverse mode refuses one).
recording = 0
applying: list[Any] = []
