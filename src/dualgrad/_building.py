"""A model's weights as its callers see them: built for a sample shape, adapted to data (the
layers that learn from it), read and replaced as arrays, and the data checked against them;
mixed into `Model` (`_weights` holds the flat buffer itself)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _data
from ._errors import ConfigError, ShapeError
from ._weights import Weights

if TYPE_CHECKING:
    from .layers import Layer
    from .losses import Loss

__all__ = ["_Building"]


class _Building:
    """`Model`'s build, adapt, get_weights, set_weights, built and num_params."""

    _weights: Weights | None
    _rng: np.random.Generator

    if TYPE_CHECKING:  # the model's own, defined in `Model`
        @property
        def layers(self) -> list[Layer]: ...

        @property
        def loss(self) -> Loss: ...

    def adapt(self, x: Any) -> None:
        """Adapt each layer that learns from data (a normalization) to the inputs `x` give
        it, in order; `fit` does this for layers not adapted yet."""
        x = _data.as_matrix(x, "x")
        self._adapt(x, only_new=False)

    def _adapt(self, x: np.ndarray, only_new: bool) -> None:
        layers = self.layers
        for i, layer in enumerate(layers):
            adapt = getattr(layer, "adapt", None)
            if adapt is None or (only_new and getattr(layer, "adapted", True)):
                continue
            inputs = x
            if i:  # the inputs reaching it: the layers before it, at their current weights
                self.build(x.shape[1:])
                weights = self._built_weights()
                for before, ws in zip(layers[:i], weights.params):
                    inputs = before(ws, inputs)
                inputs = np.asarray(inputs)
            layers[i] = adapt(inputs)

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create the weights for samples of shape `input_shape` (done by the first `fit`)."""
        if isinstance(input_shape, (int, np.integer)):
            input_shape = (input_shape,)
        if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                   for d in input_shape):
            raise ConfigError(f"input_shape must be positive ints, one per sample axis; got "
                              f"{tuple(input_shape)!r}")
        input_shape = tuple(int(d) for d in input_shape)
        if self._weights is not None:
            if input_shape != self._weights.input_shape:
                raise ShapeError(f"this model takes samples of shape "
                                 f"{self._weights.input_shape}, got {input_shape}")
            return
        self._weights = Weights.create(self.layers, input_shape, self._rng)

    @property
    def built(self) -> bool:
        return self._weights is not None

    def _built_weights(self) -> Weights:
        if self._weights is None:
            raise ConfigError("this model has no weights yet: call fit (or build with the "
                              "input shape) first, or pass input_shape")
        return self._weights

    @property
    def num_params(self) -> int:
        """The number of scalar parameters."""
        return self._built_weights().size

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, each layer's kernel then its bias."""
        return [w.copy() for w in self._built_weights().arrays()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Replace the weights by arrays shaped and ordered as `get_weights` gives them."""
        built = self._built_weights()
        built.replace(built.flatten(weights))

    def _data(self, x: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Validated float copies of x (N, *input) and y (N, outputs), y as the loss reads it
        (class labels one-hot for a softmax cross-entropy, say)."""
        weights = self._weights
        if weights is not None:
            return _data.checked(x, y, weights.input_shape, weights.output_shape, self.loss)
        x = _data.as_matrix(x, "x")
        return _data.checked(x, y, None, None if y is None else self._output_shape(x.shape[1:]),
                             self.loss)

    def _output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The per-sample output shape for samples of `input_shape`, from the layers."""
        shape = input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return tuple(shape)
