"""Layers: the `Layer` interface and the built-in `Dense`."""

from .base import Layer
from .dense import Dense

__all__ = ["Dense", "Layer"]
