"""Optimizers: the `Optimizer` interface and the built-ins."""

from .base import Optimizer
from .builtin import SGD, Adam, AdamState, ForwardGradientDescent, SGDState

__all__ = ["SGD", "Adam", "AdamState", "ForwardGradientDescent", "Optimizer", "SGDState"]
