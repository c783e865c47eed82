"""The `Layer` interface, and the mode a layer runs in (training or not)."""

from __future__ import annotations

import abc
import contextlib
import contextvars
from collections.abc import Iterator, Sequence
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


class Mode:
    """What a layer may ask of the call it runs in: `current_mode()` gives it.

    `training` is True during the steps of `Model.fit` only (not in `predict`, `evaluate`, or
    fit's validation). `rng(layer)` is then a random generator for that layer in that step:
    the same for every pass of one step (a gradient in several chunks sees one dropout mask),
    new from step to step, and drawn from the model's seed, so a fit is reproducible.
    """

    def __init__(self, training: bool = False, source: np.random.Generator | None = None,
                 layers: Sequence[Layer] = ()) -> None:
        self.training = training
        self._source = source
        self._layers = layers
        self._seed: int | None = None

    def renew(self) -> Mode:
        """This mode for the next step: the layers' generators drawn anew. Returns self."""
        self._seed = None
        return self

    def rng(self, layer: Layer) -> np.random.Generator:
        """The random generator of `layer` in this step (a fresh unseeded one outside fit)."""
        if self._source is None:
            return np.random.default_rng()
        if self._seed is None:  # drawn only when a layer asks: other models' fits are unchanged
            self._seed = int(self._source.integers(2**63))
        index = next((i for i, other in enumerate(self._layers) if other is layer), -1)
        return np.random.default_rng([self._seed, index + 1])


_INFERENCE = Mode()
_MODE: contextvars.ContextVar[Mode] = contextvars.ContextVar("dualgrad_layer_mode",
                                                             default=_INFERENCE)


def current_mode() -> Mode:
    """The mode layers run in now: training (with a random generator) during fit's steps,
    inference otherwise.

    Example:
        >>> import dualgrad as dg
        >>> dg.layers.current_mode().training
        False
    """
    return _MODE.get()


def enter(mode: Mode) -> contextvars.Token[Mode]:
    """Make `mode` the current one until `leave` with the token returned: `running_in` without
    a context manager's cost, for the training loop's every step."""
    return _MODE.set(mode)


def leave(token: contextvars.Token[Mode]) -> None:
    """Restore the mode `enter` replaced."""
    _MODE.reset(token)


@contextlib.contextmanager
def running_in(mode: Mode) -> Iterator[None]:
    """Run the layers called inside in `mode` (the training loop does, for each step)."""
    token = _MODE.set(mode)
    try:
        yield
    finally:
        _MODE.reset(token)
