"""What every transpose rule shares: summing a cotangent back to a broadcast argument's shape,
and the errors that refuse a rule reverse mode cannot transpose (see `_transposes`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._core import Primitive
from ._errors import NotTransposableError
from ._tracer import Tracer

__all__ = ["Rule", "nonlinear", "refused", "shape_of", "unbroadcast"]

Rule = Callable[[Any, list[Any], list[int], list[tuple[int, ...]], dict[str, Any]],
                list[tuple[int, Any]]]



def shape_of(x: Any) -> Any:
    """A constant argument's shape, for arrays and numbers (None for other parameters)."""
    if type(x) is Tracer:  # an array of an enclosing recording
        return x.shape
    return np.shape(x) if isinstance(x, (np.ndarray, np.generic, float, int)) else None


def _name(op: Any) -> str:
    if isinstance(op, Primitive):
        return f"the primitive {op.name!r}"
    name = getattr(op, "__qualname__", None) or getattr(op, "__name__", None) or repr(op)
    return f"{getattr(op, '__module__', None) or 'numpy'}.{name}".replace("builtins.", "")


def refused(op: Any) -> NotTransposableError:
    return NotTransposableError(
        f"reverse mode cannot transpose {_name(op)} applied to a tangent: a rule may use its "
        "tangent only in operations linear in it (products with arrays that do not depend on "
        "it, sums, reshapes, transposes, indexing, matmul or einsum with a constant, "
        "concatenate, where with a constant mask, cumsum); use mode='forward', or write the "
        "rule with those")


def nonlinear(what: str) -> NotTransposableError:
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
