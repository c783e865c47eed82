"""Optimizers: the `Optimizer` interface and the built-ins."""

from .base import Optimizer
from .builtin import SGD, Adam, AdamState, SGDState

__all__ = ["SGD", "Adam", "AdamState", "Optimizer", "SGDState"]
