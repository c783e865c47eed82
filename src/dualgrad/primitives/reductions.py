"""Reductions over value axes. A value axis ``a`` is tangent axis ``a + 1``."""

from __future__ import annotations

import math
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


def _count(shape: tuple[int, ...], axis: Any) -> int:
    """How many elements each output of a reduction over `axis` sums."""
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    return math.prod(shape[int(a)] for a in axes)


def _add_up(t: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    # np.add.reduce skips np.sum's Python wrapper; a nested Variable goes through np.sum
    if type(t) is np.ndarray:
        return np.add.reduce(t, axis=axes, keepdims=keepdims)
    return np.sum(t, axis=axes, keepdims=keepdims)


def _sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.add.reduce(x, axis=axis, keepdims=keepdims)


def _mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.mean(x, axis=axis, keepdims=keepdims) if x.size == 0 else \
        np.add.reduce(x, axis=axis, keepdims=keepdims) / _count(x.shape, axis)


reduce_sum = Primitive(
    "sum", _sum,
    lambda t, out, x, axis=None, keepdims=False:
        _add_up(t, tangent_axes(axis, x.ndim), keepdims))

reduce_mean = Primitive(
    "mean", _mean,
    lambda t, out, x, axis=None, keepdims=False:
        _add_up(t, tangent_axes(axis, x.ndim), keepdims) * (1.0 / max(_count(x.shape, axis), 1)))
