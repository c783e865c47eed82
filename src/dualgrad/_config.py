"""Configuration in and out for layers, losses and optimizers (the attrs classes behind them)."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import attrs
import numpy as np

from ._errors import ConfigError

T = TypeVar("T")


class Configurable:
    """Mixin for attrs classes built from, and saved as, plain keyword configuration."""

    name: ClassVar[str]

    def get_config(self) -> dict[str, Any]:
        """The keyword configuration that rebuilds this object with `from_config`."""
        return attrs.asdict(self, filter=_configured)  # type: ignore[arg-type]

    @classmethod
    def from_config(cls: type[T], config: dict[str, Any]) -> T:
        """Build from keyword configuration; an unknown key is a `ConfigError`."""
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__} config must be a dict, got "
                              f"{type(config).__name__}")
        known = [f.name for f in attrs.fields(cls) if f.init]  # type: ignore[arg-type]
        unknown = sorted(set(config) - set(known))
        if unknown:
            kind = getattr(cls, "name", cls.__name__)
            raise ConfigError(f"{kind!r} has no option {', '.join(map(repr, unknown))}; "
                              f"its options are {', '.join(known) or '(none)'}")
        try:
            return cls(**config)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"{getattr(cls, 'name', cls.__name__)!r}: {exc}") from exc


def _configured(attribute: attrs.Attribute[Any], value: Any) -> bool:
    # a field the constructor does not take (one derived from the others) is not configuration
    return attribute.init


def _finite_positive(value: Any) -> bool:
    return bool(0 < value < float("inf"))


def positive(kind: type | tuple[type, ...]) -> Any:
    """An attrs validator: a finite positive number of the given type(s) (NumPy's ints and
    floats count as ints and floats), bools refused."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if int in kinds:
        kinds = (*kinds, np.integer)
    if float in kinds:
        kinds = (*kinds, np.floating)
    noun = "a positive int" if kinds == (int, np.integer) else "a finite positive number"

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, kinds) \
                or not _finite_positive(value):
            raise ConfigError(f"{getattr(instance, 'name', type(instance).__name__)!r}: "
                              f"{attribute.name} must be {noun}, got {value!r}")
    return check


def in_range(lo: float, hi: float) -> Any:
    """An attrs validator: a real number with lo <= value < hi."""
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not lo <= value < hi:
            raise ConfigError(f"{getattr(instance, 'name', type(instance).__name__)!r}: "
                              f"{attribute.name} must be in [{lo}, {hi}), got {value!r}")
    return check
