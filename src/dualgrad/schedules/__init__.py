"""Learning-rate schedules: the `Schedule` interface and the built-ins."""

from .base import Schedule
from .builtin import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    PiecewiseConstant,
    WarmupCosineDecay,
)

__all__ = ["Constant", "CosineDecay", "ExponentialDecay", "PiecewiseConstant", "Schedule",
           "WarmupCosineDecay"]
