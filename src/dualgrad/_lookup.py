"""Look-ups by name: the public face of the registry."""

from __future__ import annotations

from typing import Any

from . import _registry
from ._core import Primitive
from ._parts import look_up  # declares the kinds of parts
from ._primitive_kind import lookup
from ._registry import registry
from .layers import Layer
from .losses import Loss
from .metrics import Metric
from .optimizers import Optimizer
from .schedules import Schedule

__all__ = ["layer", "loss", "metric", "optimizer", "plugins", "primitive", "register",
           "schedule"]


def primitive(name: str) -> Primitive:
    """The registered primitive called `name` (or ``"plugin/name"``).

    Example:
        >>> import dualgrad as dg
        >>> dg.primitive("exp")
        <dualgrad.Primitive exp>
    """
    return lookup(name)


def layer(name: str, **config: Any) -> Layer:
    """A new layer of the registered type `name`, configured by keyword.

    Example:
        >>> import dualgrad as dg
        >>> dg.layer("dense", units=2)
        Dense(units=2, activation=None, use_bias=True, initializer='glorot_uniform')
    """
    return look_up("layer", name).from_config(config)  # type: ignore[no-any-return]


def loss(name: str, **config: Any) -> Loss:
    """A new loss of the registered type `name`, configured by keyword."""
    return look_up("loss", name).from_config(config)  # type: ignore[no-any-return]


def metric(name: str, **config: Any) -> Metric:
    """A new metric of the registered type `name`, configured by keyword.

    Example:
        >>> import dualgrad as dg
        >>> dg.metric("accuracy")
        Accuracy()
    """
    return look_up("metric", name).from_config(config)  # type: ignore[no-any-return]


def optimizer(name: str, **config: Any) -> Optimizer:
    """A new optimizer of the registered type `name`, configured by keyword."""
    return look_up("optimizer", name).from_config(config)  # type: ignore[no-any-return]


def plugins() -> list[Any]:
    """Each plugin: name, distribution, version, status (active, disabled, failed) and what
    it registered."""
    return list(registry().plugins)


def schedule(name: str, **config: Any) -> Schedule:
    """A new learning-rate schedule of the registered type `name`, configured by keyword.

    Example:
        >>> import dualgrad as dg
        >>> opt = dg.optimizer("sgd", lr=dg.schedule("cosine_decay", initial=0.1,
        ...                                          decay_steps=100))
    """
    return look_up("schedule", name).from_config(config)  # type: ignore[no-any-return]


def register(obj: Any, kind: str, name: str | None = None) -> Any:
    """Register a layer, loss, metric, optimizer or schedule class defined in this process (a
    script, a notebook) under `name` (default: its ``name``), so that models using it can
    `get_config` and `save`; returns `obj`.

    A file saved with it loads in a process that registers it too; elsewhere loading says
    which name is missing. Registering a name again replaces the earlier one.

    For example, in a notebook::

        dg.register(HalfMSE, kind="loss")             # HalfMSE.name is "half_mse"
        model = dg.Model(layers, "half_mse", "adam")
        model.save("model.npz")                       # its config names "half_mse"
    """
    _registry.register(obj, kind, name)
    return obj
