"""Reductions over value axes. A value axis ``a`` is tangent axis ``a + 1``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._core import Primitive


def tangent_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """The tangent axes that correspond to value axes `axis` (None: all of them)."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(int(a) % ndim + 1 for a in axis) if ndim else ()


reduce_sum = Primitive(
    "sum", np.sum,
    lambda t, out, x, axis=None, keepdims=False:
        np.sum(t, axis=tangent_axes(axis, x.ndim), keepdims=keepdims))

reduce_mean = Primitive(
    "mean", np.mean,
    lambda t, out, x, axis=None, keepdims=False:
        np.mean(t, axis=tangent_axes(axis, x.ndim), keepdims=keepdims))
