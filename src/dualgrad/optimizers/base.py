"""The `Optimizer` interface."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from .._config import Configurable


class Optimizer(Configurable, abc.ABC):
    """A pair of pure functions over immutable state, as in optax.

    ``state = opt.init(params)`` once, then ``params, state = opt.update(grads, state, params)``
    each step. Neither mutates its arguments. Subclasses are attrs classes with a class
    attribute `name`, registered through the ``dualgrad_register_optimizers`` hook.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def init(self, params: Sequence[np.ndarray]) -> Any:
        """The initial state for `params`."""

    @abc.abstractmethod
    def update(self, grads: Sequence[np.ndarray], state: Any,
               params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], Any]:
        """New parameters and state after one step along `grads`."""
