"""Losses: the `Loss` interface and the built-ins."""

from .base import Loss
from .builtin import LogLoss, MeanSquaredError, SoftmaxCrossEntropy

__all__ = ["LogLoss", "Loss", "MeanSquaredError", "SoftmaxCrossEntropy"]
