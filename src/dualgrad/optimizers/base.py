"""The `Optimizer` interface."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import numpy as np

from .._config import Configurable
from ..schedules.base import describe


class Optimizer(Configurable, abc.ABC):
    """A pair of pure functions over immutable state, as in optax.

    ``state = opt.init(params)`` once, then ``params, state = opt.update(grads, state, params)``
    each step. Neither mutates its arguments, and the state keeps no reference to `params`:
    a `Model` hands over its live weights and writes the returned ones into the same memory.
    Subclasses are attrs classes with a class attribute `name`, registered through the
    ``dualgrad_register_optimizers`` hook.
    """

    name: ClassVar[str]

    #: True when `update` takes every weight in one flat vector: optimizers that treat every
    #: scalar alike (SGD, Adam) or that work on a vector by nature (L-BFGS). The model then
    #: hands it ``[flat_weights]`` and ``[flat_gradient]``, one update for all arrays. Leave it
    #: False when the update needs each array on its own (a per-layer norm, say).
    flat_weights: ClassVar[bool] = False

    #: True when `update` needs the loss at other weights than the current ones (a line
    #: search, say). The model then calls ``update(grads, state, params, loss_and_grad=fn)``
    #: where ``fn(params) -> (loss, grads)`` evaluates the current batch, in the same form as
    #: `params` and `grads`.
    needs_loss: ClassVar[bool] = False

    #: "exact": `update` gets the gradient, every weight's tangent seeded. "forward": it gets
    #: a forward gradient instead (Baydin et al. 2022): ``(grad . v) v`` for one random normal
    #: direction v, an unbiased estimate that costs a single tangent direction per step.
    gradient_estimate: ClassVar[str] = "exact"

    def get_config(self) -> dict[str, Any]:
        """The keyword configuration; a learning-rate schedule as its config dict."""
        config = super().get_config()
        for field in attrs.fields(type(self)):  # type: ignore[arg-type]
            if field.name in config:
                config[field.name] = describe(getattr(self, field.name))
        return config

    @abc.abstractmethod
    def init(self, params: Sequence[np.ndarray]) -> Any:
        """The initial state for `params`."""

    @abc.abstractmethod
    def update(self, grads: Sequence[np.ndarray], state: Any,
               params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], Any]:
        """New parameters and state after one step along `grads`."""
