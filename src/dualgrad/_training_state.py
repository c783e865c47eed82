"""What training carries beyond the weights, as a model file keeps it: the optimizer's state
and the model's random generator (which shuffles the batches and draws dropout masks).

A state is a tree of attrs classes, tuples, lists and dicts whose leaves are arrays and plain
scalars (optax's shape). It is kept as its arrays and a JSON list of its scalars; it is rebuilt
on the tree a fresh ``optimizer.init`` gives, so no class is named in the file and nothing in
it is executed. A state of another shape is not saved; the loaded model's optimizer then starts
fresh.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import numpy as np

__all__ = ["flatten", "rebuild"]

_SCALARS = (bool, int, float, type(None))


class _UnsaveableError(Exception):
    """A state leaf that is neither an array nor a plain scalar."""


def flatten(tree: Any) -> tuple[list[np.ndarray], list[Any]] | None:
    """The arrays and the scalars of `tree`, in a fixed walk order; None when some leaf is
    neither (such a state is not saved)."""
    arrays: list[np.ndarray] = []
    scalars: list[Any] = []
    try:
        _walk(tree, arrays, scalars)
    except _UnsaveableError:
        return None
    return arrays, scalars


def _walk(tree: Any, arrays: list[np.ndarray], scalars: list[Any]) -> None:
    if isinstance(tree, np.ndarray):
        if tree.dtype.kind not in "biuf":
            raise _UnsaveableError
        arrays.append(tree)
    elif isinstance(tree, np.generic):
        scalars.append(tree.item())
    elif isinstance(tree, _SCALARS):
        scalars.append(tree)
    elif attrs.has(type(tree)):
        for field in attrs.fields(type(tree)):
            _walk(getattr(tree, field.name), arrays, scalars)
    elif isinstance(tree, (tuple, list)):
        for item in tree:
            _walk(item, arrays, scalars)
    elif isinstance(tree, Mapping):
        for key in sorted(tree, key=repr):
            _walk(tree[key], arrays, scalars)
    else:
        raise _UnsaveableError


def rebuild(template: Any, arrays: list[np.ndarray], scalars: list[Any]) -> Any:
    """`template` (a fresh state) with its leaves replaced by `arrays` and `scalars`, in the
    order `flatten` gives them; ValueError if they do not fit its shape."""
    array_leaves, scalar_leaves = iter(arrays), iter(scalars)
    state = _fill(template, array_leaves, scalar_leaves)
    if next(array_leaves, None) is not None or next(scalar_leaves, _END) is not _END:
        raise ValueError("it holds more optimizer state than the optimizer keeps")
    return state


_END = object()


def _fill(tree: Any, arrays: Iterator[np.ndarray], scalars: Iterator[Any]) -> Any:
    if isinstance(tree, np.ndarray):
        saved = next(arrays, None)
        if saved is None or saved.shape != tree.shape:
            raise ValueError(f"its optimizer state does not fit the optimizer's (an array of "
                             f"shape {tree.shape} is "
                             f"{'missing' if saved is None else f'of shape {saved.shape}'})")
        return saved.astype(tree.dtype, copy=True)
    if isinstance(tree, (np.generic, *_SCALARS)):
        number = next(scalars, _END)
        if number is _END or not isinstance(number, _SCALARS):
            raise ValueError("its optimizer state does not fit the optimizer's (a number is "
                             "missing)")
        return type(tree)(number) if tree is not None and number is not None else number
    if attrs.has(type(tree)):
        return attrs.evolve(tree, **{f.name.lstrip("_"): _fill(getattr(tree, f.name), arrays,
                                                               scalars)
                                     for f in attrs.fields(type(tree)) if f.init})
    if isinstance(tree, (tuple, list)):
        return type(tree)(_fill(item, arrays, scalars) for item in tree)
    if isinstance(tree, Mapping):
        return {key: _fill(tree[key], arrays, scalars) for key in sorted(tree, key=repr)}
    raise ValueError(f"its optimizer state holds a {type(tree).__name__}")
