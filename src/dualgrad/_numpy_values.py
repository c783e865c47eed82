"""NumPy functions that read values only, and the lists of Variables that stand for arrays.

A predicate (``np.isfinite``, ``np.allclose``), a comparison or an index (``np.argmax``,
``np.nonzero``) is piecewise constant: it runs on the values of its Variables and returns
NumPy's plain result, never a Variable. A list (or tuple, nested) holding Variables, given to a
dualgrad function where NumPy takes an array, is stacked into one Variable first: `as_array`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._core import Variable
from .primitives import shaping

__all__ = ["VALUE_FUNCTIONS", "VALUE_UFUNCS", "as_array", "by_value", "holds_variable"]


def holds_variable(x: Any) -> bool:
    """Whether `x` is a Variable, or a list or tuple with one somewhere inside."""
    if isinstance(x, Variable):
        return True
    return isinstance(x, (list, tuple)) and any(holds_variable(e) for e in x)


def as_array(a: Any) -> Any:
    """`a`, with a list or tuple holding Variables stacked into one Variable, as np.array
    would build the array: ``as_array([x, [y, 1.0]])`` is ``stack(x, stack(y, 1.0))``."""
    if isinstance(a, (list, tuple)) and holds_variable(a):
        return shaping.stack(*(as_array(e) for e in a), axis=0)
    return a


def _values(x: Any) -> Any:
    if isinstance(x, Variable):
        return x.primal()
    if isinstance(x, (list, tuple)) and holds_variable(x):
        return type(x)(_values(e) for e in x)
    return x


def by_value(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` run on the values of its Variables: for functions whose result is piecewise
    constant (a predicate, an index, a shape), which has derivative 0 and is returned plain."""
    def on_values(*args: Any, **kwargs: Any) -> Any:
        return fn(*map(_values, args), **{k: _values(v) for k, v in kwargs.items()})
    on_values.__name__ = getattr(fn, "__name__", "by_value")
    return on_values


# NumPy functions that read values only
VALUE_FUNCTIONS: tuple[Callable[..., Any], ...] = (
    np.allclose, np.isclose, np.array_equal, np.array_equiv, np.isreal, np.iscomplex,
    np.isrealobj, np.iscomplexobj, np.isneginf, np.isposinf,
    np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero, np.flatnonzero,
    np.count_nonzero, np.searchsorted, np.result_type, np.shape, np.ndim, np.size,
    np.linalg.matrix_rank,
)

# ufuncs whose result is a boolean (or an integer) of the values: predicates and logic
VALUE_UFUNCS: tuple[np.ufunc, ...] = (
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.signbit, np.logical_not, np.logical_and,
    np.logical_or, np.logical_xor,
)
