"""Optimizers: the `Optimizer` interface and the built-ins."""

from .base import Optimizer
from .builtin import (
    SGD,
    AccumulatorState,
    Adagrad,
    Adam,
    AdamState,
    AdamW,
    ForwardGradientDescent,
    RMSprop,
    SGDState,
)

__all__ = ["SGD", "AccumulatorState", "Adagrad", "Adam", "AdamState", "AdamW",
           "ForwardGradientDescent", "Optimizer", "RMSprop", "SGDState"]
