"""Metrics: the `Metric` interface and the built-ins."""

from .base import Metric
from .builtin import AUC, Accuracy, BinaryAccuracy, MeanAbsoluteError, MeanSquaredError

__all__ = ["AUC", "Accuracy", "BinaryAccuracy", "MeanAbsoluteError", "MeanSquaredError",
           "Metric"]
