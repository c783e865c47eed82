"""The `Layer` interface."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .._config import Configurable


class Layer(Configurable, abc.ABC):
    """A map from a batch of inputs to a batch of outputs, with parameters it declares itself.

    A layer holds configuration only; its parameters live in the `Model`, as a list of arrays,
    so the model can seed their tangents. Subclasses are attrs classes with a class attribute
    `name`, registered through the ``dualgrad_register_layers`` hook.
    """

    name: ClassVar[str]

    #: Whether a training step may record this layer's computation once and replay it (see
    #: `dualgrad._trace`). Set False when its Python draws random numbers or otherwise gives
    #: different equations from call to call; Python that reads values (``if x.sum() > 0``) is
    #: found out while recording, and then the step runs eagerly too.
    traceable: ClassVar[bool] = True

    @abc.abstractmethod
    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        """Initial parameters for inputs whose per-sample shape is `input_shape`."""

    @abc.abstractmethod
    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The per-sample output shape for a per-sample input shape."""

    @abc.abstractmethod
    def __call__(self, params: Sequence[Any], x: Any) -> Any:
        """Map a batch `x`, shape ``(N, *input_shape)``, with `params` (arrays or Variables)."""
