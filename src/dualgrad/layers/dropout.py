"""The dropout layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from .. import primitives as p
from .._config import in_range
from .base import Layer, current_mode


@attrs.define(frozen=True)
class Dropout(Layer):
    """Zero each input with probability `rate` while training, scaling the others by
    ``1 / (1 - rate)`` so that their expected sum is unchanged; the identity at inference
    (`predict`, `evaluate`, validation).

    Its masks come from the model's seed (see `current_mode`), so a fit is reproducible; it
    is not recorded (``traceable = False``): each step draws a new mask.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> layer = dg.layer("dropout", rate=0.5)
        >>> layer([], np.ones((2, 3)))  # outside fit: the identity
        array([[1., 1., 1.],
               [1., 1., 1.]])
    """

    name = "dropout"
    traceable = False

    rate: float = attrs.field(default=0.5, validator=in_range(0.0, 1.0))

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        return []

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __call__(self, params: Sequence[Any], x: Any) -> Any:
        mode = current_mode()
        if not mode.training or self.rate == 0:
            return x
        keep = mode.rng(self).random(np.shape(getattr(x, "value", x))) >= self.rate
        return p.multiply(x, keep / (1.0 - self.rate))
