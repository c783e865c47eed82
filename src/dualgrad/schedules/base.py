"""The `Schedule` interface, and an optimizer's learning rate: a number or a schedule."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import attrs
import numpy as np

from .. import _registry
from .._config import Configurable
from .._errors import ConfigError


class Schedule(Configurable, abc.ABC):
    """A learning rate that changes with the optimizer's step count, as in optax.

    Subclasses are attrs classes with a class attribute `name`, registered through the
    ``dualgrad_register_schedules`` hook. Any optimizer's `lr` takes one (an object or a
    config dict with a ``"type"``), and the optimizer's config keeps it.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def __call__(self, step: int) -> float:
        """The learning rate of update number `step`, counted from 0."""


def as_learning_rate(value: Any) -> Any:
    """An attrs converter: a config dict with a ``"type"`` becomes the registered `Schedule`;
    anything else is left for the validator."""
    if isinstance(value, dict):
        config = dict(value)
        name = config.pop("type", None)
        if not isinstance(name, str):
            raise ConfigError(f"a learning-rate schedule needs a 'type' naming a registered "
                              f"schedule; got {value!r}")
        try:
            cls = _registry.registry().get("schedule", name)
        except KeyError as exc:
            raise ConfigError(str(exc)) from None
        return cls.from_config(config)
    return value


def learning_rate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: a finite positive number or a `Schedule`."""
    if isinstance(value, Schedule):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 < value < float("inf"):
        raise ConfigError(f"{getattr(instance, 'name', type(instance).__name__)!r}: "
                          f"{attribute.name} must be a finite positive number or a schedule "
                          f"(a Schedule or a config dict with a 'type'), got {value!r}")


def rate_at(lr: Any, step: int) -> float:
    """The learning rate `lr` (a number or a schedule) at update number `step`."""
    return float(lr(step)) if isinstance(lr, Schedule) else float(lr)


def describe(value: Any) -> Any:
    """`value` as configuration: a schedule as its config dict with its registered name."""
    if isinstance(value, Schedule):
        return {"type": _registry.registry().name_of("schedule", type(value)),
                **value.get_config()}
    return value
