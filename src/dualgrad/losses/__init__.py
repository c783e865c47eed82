"""Losses: the `Loss` interface and the built-ins."""

from .base import Loss
from .builtin import LogLoss, MeanSquaredError

__all__ = ["LogLoss", "Loss", "MeanSquaredError"]
