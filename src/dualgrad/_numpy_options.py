"""What the NumPy-signature functions share: refusing options dualgrad does not differentiate
through, and reading axis and shape arguments."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

__all__ = ["axes", "refuse", "shape"]


def refuse(name: str, *args: Any, **kwargs: Any) -> None:
    """Raise `NotImplementedError` for NumPy options that dualgrad does not differentiate
    through: extra positional arguments, and keyword arguments given a value."""
    given = [f"argument {i + 2}" for i, _ in enumerate(args)]
    given += [k for k, v in kwargs.items() if v is not None]
    if given:
        raise NotImplementedError(
            f"numpy.{name} on a dualgrad Variable does not support {', '.join(given)}; "
            "call it without them"
        )


def axes(axis: Any) -> Any:
    """An axis argument as the primitives take it: an int, a tuple of ints, or None."""
    if axis is None or isinstance(axis, (int, np.integer)):
        return axis
    return tuple(operator.index(a) for a in axis)


def shape(shape: Any) -> tuple[int, ...]:
    return (operator.index(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
