"""The built-in schedules: constant, exponential decay, cosine decay (with a warm-up), and
piecewise constant."""

from __future__ import annotations

import math
from typing import Any

import attrs

from .._config import in_range, positive
from .._errors import ConfigError
from .base import Schedule

_RATE = positive((int, float))
_STEPS = positive(int)


def _non_negative(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < float("inf"):
        raise ConfigError(f"{instance.name!r}: {attribute.name} must be a finite number >= 0, "
                          f"got {value!r}")


@attrs.define(frozen=True)
class Constant(Schedule):
    """``value`` at every step."""

    name = "constant"

    value: float = attrs.field(validator=_RATE)

    def __call__(self, step: int) -> float:
        return float(self.value)


@attrs.define(frozen=True)
class ExponentialDecay(Schedule):
    """``initial * decay_rate ** (step / decay_steps)``; with `staircase` the exponent is
    rounded down, so the rate drops every `decay_steps` steps.

    Examples:
        >>> import dualgrad as dg
        >>> s = dg.schedule("exponential_decay", initial=0.1, decay_rate=0.5, decay_steps=10)
        >>> [round(s(step), 4) for step in (0, 10, 20)]
        [0.1, 0.05, 0.025]
    """

    name = "exponential_decay"

    initial: float = attrs.field(validator=_RATE)
    decay_rate: float = attrs.field(validator=_RATE)
    decay_steps: int = attrs.field(validator=_STEPS)
    staircase: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    def __call__(self, step: int) -> float:
        power = step / self.decay_steps
        return float(self.initial * self.decay_rate ** (math.floor(power) if self.staircase
                                                        else power))


def _cosine(step: int, steps: int, start: float, end: float) -> float:
    """From `start` at step 0 to `end` at step `steps` along half a cosine, `end` after."""
    done = min(step, steps) / steps
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * done))


@attrs.define(frozen=True)
class CosineDecay(Schedule):
    """From `initial` down to ``alpha * initial`` over `decay_steps` steps along half a
    cosine (Loshchilov and Hutter, SGDR), then flat."""

    name = "cosine_decay"

    initial: float = attrs.field(validator=_RATE)
    decay_steps: int = attrs.field(validator=_STEPS)
    alpha: float = attrs.field(default=0.0, validator=in_range(0.0, 1.0))

    def __call__(self, step: int) -> float:
        return _cosine(step, self.decay_steps, self.initial, self.alpha * self.initial)


@attrs.define(frozen=True)
class WarmupCosineDecay(Schedule):
    """A linear warm-up from `initial` to `peak` over `warmup_steps`, then a cosine decay to
    `end` over the following `decay_steps`, then flat (optax's ``warmup_cosine_decay``, whose
    `decay_steps` counts the warm-up too; here it does not)."""

    name = "warmup_cosine_decay"

    peak: float = attrs.field(validator=_RATE)
    warmup_steps: int = attrs.field(validator=_STEPS)
    decay_steps: int = attrs.field(validator=_STEPS)
    initial: float = attrs.field(default=0.0, validator=_non_negative)
    end: float = attrs.field(default=0.0, validator=_non_negative)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.initial + (self.peak - self.initial) * step / self.warmup_steps
        return _cosine(step - self.warmup_steps, self.decay_steps, self.peak, self.end)


def _boundaries(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, list) or not all(
            isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in value) \
            or value != sorted(set(value)):
        raise ConfigError(f"'piecewise_constant': boundaries must be a list of increasing "
                          f"positive int steps, got {value!r}")


def _values(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < float("inf")
            for v in value):
        raise ConfigError(f"'piecewise_constant': values must be a list of finite positive "
                          f"numbers, got {value!r}")
    if len(value) != len(instance.boundaries) + 1:
        raise ConfigError(f"'piecewise_constant': {len(instance.boundaries)} boundaries need "
                          f"{len(instance.boundaries) + 1} values, one before, between and "
                          f"after them; got {len(value)}")


@attrs.define(frozen=True)
class PiecewiseConstant(Schedule):
    """``values[i]`` from step ``boundaries[i - 1]`` (0 for the first) until
    ``boundaries[i]``.

    Example:
        >>> import dualgrad as dg
        >>> s = dg.schedule("piecewise_constant", boundaries=[100], values=[0.1, 0.01])
        >>> s(99), s(100)
        (0.1, 0.01)
    """

    name = "piecewise_constant"

    boundaries: list[int] = attrs.field(converter=list, validator=_boundaries)
    values: list[float] = attrs.field(converter=list, validator=_values)

    def __call__(self, step: int) -> float:
        passed = sum(1 for b in self.boundaries if step >= b)
        return float(self.values[passed])
