"""The built-in plugin: dualgrad's own primitives, layers, losses and optimizers.

It registers through the same hooks as any third-party plugin.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._core import Primitive
from .hookspecs import hookimpl
from .layers import Dense, Layer
from .losses import LogLoss, Loss, MeanSquaredError
from .optimizers import SGD, Adam, ForwardGradientDescent, Optimizer
from .primitives import BUILTIN_PRIMITIVES


@hookimpl
def dualgrad_register_primitives() -> Iterable[Primitive]:
    return BUILTIN_PRIMITIVES


@hookimpl
def dualgrad_register_layers() -> Iterable[type[Layer]]:
    return (Dense,)


@hookimpl
def dualgrad_register_losses() -> Iterable[type[Loss]]:
    return (MeanSquaredError, LogLoss)


@hookimpl
def dualgrad_register_optimizers() -> Iterable[type[Optimizer]]:
    return (SGD, Adam, ForwardGradientDescent)
