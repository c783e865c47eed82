"""A model's weights: one flat float64 vector, and each layer's arrays as views of it.

The flat layout makes tangent seeds cheap (views of an identity block) and lets a flat-weights
optimizer update every weight in one array operation; the layers never see the flat vector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._errors import ConfigError, DataError, ShapeError
from .layers import Layer

__all__ = ["Weights"]

Cut = tuple[slice, tuple[int, ...]]


class Weights:
    """The weights of a stack of layers for samples of one shape, created by `Weights.create`.

    `flat` is the one buffer; `params` holds each layer's list of arrays, views of `flat`
    shaped as the layer declared them. Writing into `flat` keeps the views valid.
    """

    def __init__(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...],
                 layout: list[list[Cut]], flat: np.ndarray) -> None:
        self.input_shape = input_shape
        self.output_shape = output_shape
        self.layout = layout
        self.flat = flat
        self.size = int(flat.size)  # the number of scalar weights
        self.params = self.views(flat)

    def __getstate__(self) -> dict[str, Any]:
        """A copy (pickle, deepcopy) travels without the views: a copied view would be an
        array of its own, which writes into the copy's `flat` would no longer reach."""
        return {k: v for k, v in self.__dict__.items() if k != "params"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.params = self.views(self.flat)

    @classmethod
    def create(cls, layers: Sequence[Layer], input_shape: tuple[int, ...],
               rng: np.random.Generator) -> Weights:
        """Each layer's initial weights, drawn in order from `rng`, in one flat buffer."""
        arrays, shapes, shape = [], [], input_shape
        for i, layer in enumerate(layers):
            try:
                ws = [np.asarray(w, dtype=np.float64) for w in layer.init(shape, rng)]
            except (MemoryError, ValueError, OverflowError) as exc:
                # a size NumPy cannot allocate (units = 10**21): the config's fault, said so
                raise ConfigError(f"layer {i + 1} ({layer!r}) cannot create its weights for "
                                  f"inputs of shape {shape}: {type(exc).__name__}: {exc}; "
                                  "make the layer smaller") from None
            arrays.extend(ws)
            shapes.append([w.shape for w in ws])
            shape = layer.output_shape(shape)
        layout, start = [], 0
        for layer_shapes in shapes:
            cuts = []
            for w_shape in layer_shapes:
                cuts.append((slice(start, start + math.prod(w_shape)), w_shape))
                start += math.prod(w_shape)
            layout.append(cuts)
        flat = np.concatenate([w.ravel() for w in arrays]) if arrays else np.zeros(0)
        return cls(input_shape, tuple(shape), layout, flat)


    def views(self, rows: np.ndarray) -> list[list[Any]]:
        """Per-layer views of the last axis of `rows`, shaped like the weights."""
        lead = rows.shape[:-1]
        if not lead:
            return [[rows[cut].reshape(shape) for cut, shape in layer] for layer in self.layout]
        return [[rows[..., cut].reshape((*lead, *shape)) for cut, shape in layer]
                for layer in self.layout]

    def arrays(self, flat: np.ndarray | None = None) -> list[np.ndarray]:
        """The weights (or `flat`, in their layout) as one list of arrays, layer by layer;
        views, not copies."""
        views = self.params if flat is None else self.views(flat)
        return [w for ws in views for w in ws]

    def flatten(self, weights: Sequence[Any]) -> np.ndarray:
        """A new flat vector from arrays shaped and ordered as `arrays` gives them, checked."""
        current = self.arrays()
        weights = list(weights)
        if len(weights) != len(current):
            raise ShapeError(f"this model has {len(current)} weight arrays, got {len(weights)}")
        new = []
        for i, (old, w) in enumerate(zip(current, weights)):
            try:
                arr = np.array(w, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise DataError(f"weight {i} is not an array of numbers ({exc})") from exc
            if arr.shape != old.shape:
                raise ShapeError(f"weight {i} must have shape {old.shape}, got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise DataError(f"weight {i} has NaN or infinite values")
            new.append(arr.ravel())
        return np.concatenate(new) if new else np.zeros(0)

    def replace(self, flat: np.ndarray) -> None:
        """Make `flat` the buffer (new views); views taken before keep the old one."""
        self.flat = flat
        self.size = int(flat.size)
        self.params = self.views(flat)
