"""The hooks a dualgrad plugin implements.

A plugin is a module (or any object) with functions marked ``@dualgrad.hookimpl`` whose names
are the hook names below. Each hook returns an iterable of things that carry a ``name``.
Third-party plugins announce their module in the entry-point group ``dualgrad``::

    [project.entry-points.dualgrad]
    myplugin = "myplugin.hooks"

dualgrad loads each entry point on its own the first time a registry is used, calls each of its
hooks once, and from then on serves look-ups from plain dictionaries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ._core import Primitive
    from .layers import Layer
    from .losses import Loss
    from .optimizers import Optimizer

__all__ = ["hookimpl", "hookspec"]

PROJECT = "dualgrad"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def dualgrad_register_primitives() -> Iterable[Primitive]:
    """Return the `dualgrad.Primitive` objects this plugin provides.

    Each is found afterwards by ``dualgrad.primitive(name)``.
    """


@hookspec
def dualgrad_register_layers() -> Iterable[type[Layer]]:
    """Return `dualgrad.Layer` subclasses, each with a class attribute ``name``.

    ``dualgrad.layer(name, **config)`` builds one from keyword configuration.
    """


@hookspec
def dualgrad_register_losses() -> Iterable[type[Loss]]:
    """Return `dualgrad.Loss` subclasses, each with a class attribute ``name``."""


@hookspec
def dualgrad_register_optimizers() -> Iterable[type[Optimizer]]:
    """Return `dualgrad.Optimizer` subclasses, each with a class attribute ``name``."""
