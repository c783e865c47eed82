"""The `Metric` interface."""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from .._config import Configurable


class Metric(Configurable, abc.ABC):
    """A score of a model's predictions that training reports but does not follow.

    Subclasses are attrs classes with a class attribute `name`, registered through the
    ``dualgrad_register_metrics`` hook. `Model(..., metrics=[...])` reports each one after
    every epoch of `fit` (as ``name`` and ``val_name``) and in ``evaluate(x, y,
    return_dict=True)``.
    """

    name: ClassVar[str]

    #: Which way is better: "max" (accuracy) or "min" (an error); `EarlyStopping` with
    #: ``mode="auto"`` reads it.
    mode: ClassVar[str] = "max"

    #: What the metric reads: "probabilities" (the model's outputs as its loss reads them,
    #: the sigmoid or softmax of logits) or "outputs" (the outputs as `predict` gives them).
    reads: ClassVar[str] = "outputs"

    @abc.abstractmethod
    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """The score of predictions `y_pred` against targets `y_true`, both ``(N, *outputs)``
        (class labels already one-hot for a softmax loss)."""
