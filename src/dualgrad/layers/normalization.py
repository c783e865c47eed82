"""The normalization layer: standardises each feature by a mean and variance learnt from data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from .. import primitives as p
from .._config import positive
from .._errors import ConfigError, ShapeError
from .base import Layer


def _floats(value: Any) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        return tuple(float(v) for v in np.asarray(value, dtype=np.float64).ravel())
    except (TypeError, ValueError):
        raise ConfigError(f"'normalization': mean and variance must be lists of numbers, got "
                          f"{value!r}") from None


def _statistics(instance: Normalization, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not all(np.isfinite(value)) or (attribute.name == "variance" and min(value) < 0):
        raise ConfigError(f"'normalization': {attribute.name} must be finite"
                          f"{' and >= 0' if attribute.name == 'variance' else ''}")
    if instance.mean is None or len(instance.mean) != len(value):
        raise ConfigError("'normalization': give mean and variance together, one of each per "
                          "feature, or neither (fit or adapt learns them)")


@attrs.define(frozen=True)
class Normalization(Layer):
    """``(x - mean) / sqrt(variance + epsilon)`` per feature, as Keras's ``Normalization``.

    The mean and variance are learnt from data, not trained: `Model.fit` adapts the layer to
    the training data reaching it the first time (or call `Model.adapt` / `adapt` yourself),
    and they are kept in the layer's config, so they are saved with the model.

    Args:
        mean, variance: per feature; None until adapted.
        epsilon: added to the variance, so a constant feature divides by sqrt(epsilon).

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> layer = dg.layer("normalization").adapt(np.array([[1.0], [3.0]]))
        >>> layer.mean, layer.variance
        ((2.0,), (1.0,))
    """

    name = "normalization"

    mean: tuple[float, ...] | None = attrs.field(default=None, converter=_floats)
    variance: tuple[float, ...] | None = attrs.field(default=None, converter=_floats,
                                                     validator=_statistics)
    epsilon: float = attrs.field(default=1e-7, validator=positive((int, float)))

    def __attrs_post_init__(self) -> None:
        if (self.mean is None) != (self.variance is None):
            raise ConfigError("'normalization': give mean and variance together, one of each "
                              "per feature, or neither (fit or adapt learns them)")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("mean", "variance"):  # lists, as JSON keeps them
            if config[key] is not None:
                config[key] = list(config[key])
        return config

    @property
    def adapted(self) -> bool:
        """Whether the layer knows its mean and variance."""
        return self.mean is not None

    def adapt(self, x: Any) -> Normalization:
        """This layer with the mean and variance of each feature of `x`, shape (N, features)."""
        data = np.asarray(x, dtype=np.float64)
        if data.ndim != 2 or data.shape[0] == 0:
            raise ShapeError(f"'normalization' adapts to samples that are vectors, shape (N, "
                             f"features); got shape {data.shape}")
        return attrs.evolve(self, mean=data.mean(axis=0), variance=data.var(axis=0))

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        if len(input_shape) != 1:
            raise ShapeError(f"'normalization' takes samples that are vectors; got per-sample "
                             f"shape {input_shape}")
        if self.mean is not None and len(self.mean) != input_shape[0]:
            raise ShapeError(f"'normalization' was adapted to {len(self.mean)} features; its "
                             f"inputs have {input_shape[0]}")
        return []

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __call__(self, params: Sequence[Any], x: Any) -> Any:
        if self.mean is None or self.variance is None:
            raise ConfigError("'normalization' has not learnt its mean and variance: fit the "
                              "model (which adapts it to the training data) or call "
                              "model.adapt(x) first")
        scale = 1.0 / np.sqrt(np.asarray(self.variance) + self.epsilon)
        return p.multiply(p.subtract(x, np.asarray(self.mean)), scale)
