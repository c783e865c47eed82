"""The `Loss` interface."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .._config import Configurable
from .._errors import ConfigError

if TYPE_CHECKING:
    from ..layers import Layer


class Loss(Configurable, abc.ABC):
    """A scalar measure of error, averaged over the batch.

    Subclasses are attrs classes with a class attribute `name`, registered through the
    ``dualgrad_register_losses`` hook.
    """

    name: ClassVar[str]

    #: Whether a training step may record this loss's computation once and replay it (see
    #: `dualgrad._trace`). Set False when its Python draws random numbers or otherwise gives
    #: different equations from call to call; Python that reads values (``if x.sum() > 0``) is
    #: found out while recording, and then the step runs eagerly too.
    traceable: ClassVar[bool] = True

    @abc.abstractmethod
    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        """The loss of predictions `y_pred` (array or Variable) against targets `y_true`."""

    def check_targets(self, y_true: np.ndarray) -> None:
        """Raise `dualgrad.DataError` if `y_true` cannot be a target of this loss."""

    def per_sample(self, y_true: Any, y_pred: Any) -> Any:
        """The loss of each sample, shape ``(N,)``, whose mean is the loss: what
        ``fit(sample_weight=..., class_weight=...)`` weighs. A loss without it cannot weigh
        samples (the default raises `dualgrad.ConfigError`)."""
        raise ConfigError(f"the loss {getattr(self, 'name', type(self).__name__)!r} gives no "
                          "per-sample values, so fit cannot weigh samples with it; implement "
                          "its per_sample method, or train without sample_weight and "
                          "class_weight")

    def targets(self, y_true: np.ndarray, outputs: tuple[int, ...]) -> np.ndarray:
        """`y_true` as this loss reads it from a model of `outputs` per sample (the default:
        unchanged). A loss may encode targets here: class labels as one-hot rows, say."""
        return y_true

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray:
        """The probabilities a model's outputs `y_pred` stand for under this loss (the
        default: the outputs themselves). A loss on logits returns their sigmoid or softmax;
        a loss that is no classifier's raises `dualgrad.ConfigError`."""
        return y_pred

    def fuse_with(self, layer: Layer) -> tuple[Layer, Loss] | None:
        """A better way to compute this loss of `layer`'s output, or None (the default).

        A loss that knows the layer before it may return ``(head, loss)`` such that
        ``loss(y, head(params, x))`` is this loss of ``layer(params, x)``, the same function
        with the same weights, but cheaper or finite where the plain composition is not (a
        log-loss reads a sigmoid layer's logits). A `Model` trains and scores through it.
        """
        return None
