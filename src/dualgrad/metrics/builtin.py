"""The built-in metrics: accuracy, binary accuracy, mean absolute and squared error, ROC AUC."""

from __future__ import annotations

import attrs
import numpy as np

from .._config import in_range
from .._errors import ConfigError
from .base import Metric


@attrs.define(frozen=True)
class Accuracy(Metric):
    """The fraction of samples whose class is predicted: the argmax of K outputs, or for one
    output whether the probability is at least 0.5 (as `Model.predict_classes`)."""

    name = "accuracy"
    reads = "probabilities"

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        if y_pred.shape[-1] == 1:
            return float(np.mean((y_pred[..., 0] >= 0.5) == (y_true[..., 0] >= 0.5)))
        return float(np.mean(np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)))


@attrs.define(frozen=True)
class BinaryAccuracy(Metric):
    """The fraction of outputs on the right side of `threshold`, every output a yes/no."""

    name = "binary_accuracy"
    reads = "probabilities"

    threshold: float = attrs.field(default=0.5, validator=in_range(0.0, 1.0))

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.mean((y_pred >= self.threshold) == (y_true >= 0.5)))


@attrs.define(frozen=True)
class MeanAbsoluteError(Metric):
    """``mean(|y_pred - y_true|)`` over every sample and output."""

    name = "mae"
    mode = "min"

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.mean(np.abs(y_pred - y_true)))


@attrs.define(frozen=True)
class MeanSquaredError(Metric):
    """``mean((y_pred - y_true) ** 2)`` over every sample and output."""

    name = "mse"
    mode = "min"

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.mean((y_pred - y_true) ** 2))


@attrs.define(frozen=True)
class AUC(Metric):
    """The area under the ROC curve of a binary classifier (one output): the chance that a
    positive sample scores above a negative one, ties counting half (Mann-Whitney U).

    NaN when the targets hold one class only, where the area is not defined.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> auc = dg.metric("auc")
        >>> auc(np.array([[0.], [0.], [1.], [1.]]), np.array([[0.1], [0.6], [0.4], [0.9]]))
        0.75
    """

    name = "auc"
    reads = "probabilities"

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        if y_pred.shape[1:] != (1,):
            raise ConfigError(f"'auc' scores a binary classifier of one output; the model has "
                              f"{y_pred.shape[1:]} outputs per sample. Use 'accuracy' for "
                              "several classes")
        score, positive = y_pred[:, 0], y_true[:, 0] >= 0.5
        n_pos = int(positive.sum())
        n_neg = positive.size - n_pos
        if n_pos == 0 or n_neg == 0:
            return float("nan")
        _, where, counts = np.unique(score, return_inverse=True, return_counts=True)
        ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[where]  # ties share their mean rank
        return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
