"""The `Loss` interface."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np

from .._config import Configurable


class Loss(Configurable, abc.ABC):
    """A scalar measure of error, averaged over the batch.

    Subclasses are attrs classes with a class attribute `name`, registered through the
    ``dualgrad_register_losses`` hook.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        """The loss of predictions `y_pred` (array or Variable) against targets `y_true`."""

    def check_targets(self, y_true: np.ndarray) -> None:
        """Raise `dualgrad.DataError` if `y_true` cannot be a target of this loss."""
