"""The hooks a dualgrad plugin implements.

A plugin is a module (or any object) with functions marked ``@dualgrad.hookimpl`` whose names
are the hook names below. Each hook returns an iterable of things that carry a ``name``.
Third-party plugins announce their module in the entry-point group ``dualgrad``::

    [project.entry-points.dualgrad]
    myplugin = "myplugin.hooks"

dualgrad loads each entry point on its own the first time a registry is used, calls each of its
hooks once per process (also when several threads use the registry first at the same time), and
from then on serves look-ups from plain dictionaries. A hook, or the plugin's import, must not
look names up itself (``dualgrad.primitive(...)`` and the like): the registry is still loading,
and the plugin is skipped with a `PluginWarning` saying so.

A plugin that raises anything while it is imported or its hooks run, ``SystemExit`` included, is
skipped with a `PluginWarning` that names it (a `PluginLoadError` under
``DUALGRAD_STRICT_PLUGINS=1``); everything else keeps working. A ``KeyboardInterrupt`` is the
user's and ends the load; nothing of it is kept, and the next use loads again.

A plugin never displaces a built-in: a name a built-in has keeps the built-in, and the plugin's
is reachable as ``"plugin/name"``; a NumPy function a built-in primitive implements keeps the
built-in's rule.

The primitive hook is declared by the registry's primitive kind (`dualgrad._primitive_kind`),
the others by the model's parts (`dualgrad._parts`); all are gathered here.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._primitive_kind import dualgrad_register_primitives
from ._registry import PROJECT, hookimpl, hookspec
from .layers import Layer
from .losses import Loss
from .metrics import Metric
from .optimizers import Optimizer
from .schedules import Schedule

__all__ = [
    "PROJECT",
    "dualgrad_register_layers",
    "dualgrad_register_losses",
    "dualgrad_register_metrics",
    "dualgrad_register_optimizers",
    "dualgrad_register_primitives",
    "dualgrad_register_schedules",
    "hookimpl",
    "hookspec",
]


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


@hookspec
def dualgrad_register_metrics() -> Iterable[type[Metric]]:
    """Return `dualgrad.Metric` subclasses, each with a class attribute ``name``.

    ``Model(..., metrics=[name])`` reports each after every epoch of ``fit``.
    """


@hookspec
def dualgrad_register_schedules() -> Iterable[type[Schedule]]:
    """Return `dualgrad.Schedule` subclasses, each with a class attribute ``name``.

    Any optimizer's ``lr`` takes one, as an object or a config dict with a ``"type"``.
    """
