"""Layers: the `Layer` interface, the mode layers run in, and the built-ins."""

from .base import Layer, Mode, current_mode
from .dense import Dense
from .dropout import Dropout
from .normalization import Normalization

__all__ = ["Dense", "Dropout", "Layer", "Mode", "Normalization", "current_mode"]
