"""The fully connected layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from .. import primitives as p
from .._config import positive
from .._core import Primitive
from .._errors import ConfigError, ShapeError
from .._primitive_kind import lookup
from .base import Layer

INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_normal", "normal", "zeros")


def _initial(name: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    fan_in, fan_out = shape
    if name == "glorot_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)
    if name == "glorot_normal":
        return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)
    if name == "he_normal":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    if name == "normal":
        return rng.normal(size=shape)
    return np.zeros(shape)


# activations that act on each sample's row as a whole rather than elementwise
_ROW_ACTIVATIONS = ("softmax", "log_softmax")


def _check_activation(instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ConfigError(f"'dense': activation must be a registered primitive's name or None, "
                          f"got {value!r}")
    try:
        prim = lookup(value)
    except KeyError as exc:
        raise ConfigError(f"'dense': unknown activation: {exc}") from None
    if not (prim.elementwise and len(prim.jvps) == 1) and value not in _ROW_ACTIVATIONS:
        raise ConfigError(f"'dense': activation {value!r} is not an elementwise function of "
                          "one argument; use one that is ('sigmoid', 'tanh', 'relu', ...), "
                          "or 'softmax' or 'log_softmax'")


def _plain_int(value: Any) -> Any:
    # NumPy ints validate like ints; store them as ints so the config stays JSON
    return int(value) if isinstance(value, np.integer) else value


def _check_initializer(instance: Any, attribute: Any, value: Any) -> None:
    if value not in INITIALIZERS:
        raise ConfigError(f"'dense': initializer must be one of {', '.join(INITIALIZERS)}; "
                          f"got {value!r}")


@attrs.define(frozen=True)
class Dense(Layer):
    """``activation(x @ kernel + bias)``.

    Args:
        units: the number of outputs.
        activation: the name of a registered elementwise primitive ("sigmoid", "tanh",
            "relu", ...), or None for none.
        use_bias: whether to add a bias.
        initializer: how to draw the kernel: "glorot_uniform", "glorot_normal", "he_normal",
            "normal" (standard normal, as the blog does) or "zeros". Biases start at zero.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> layer = dg.layer("dense", units=2, activation="tanh")
        >>> params = layer.init((3,), np.random.default_rng(0))
        >>> layer(params, np.ones((5, 3))).shape
        (5, 2)
    """

    name = "dense"

    units: int = attrs.field(validator=positive(int), converter=_plain_int)
    activation: str | None = attrs.field(default=None, validator=_check_activation)
    use_bias: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    initializer: str = attrs.field(default="glorot_uniform", validator=_check_initializer)
    # the activation's primitive, looked up once, when the layer is made
    _activate: Primitive | None = attrs.field(init=False, default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.activation is not None:
            object.__setattr__(self, "_activate", lookup(self.activation))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled and copied by its options: the activation is looked up again, by name
        return type(self), (self.units, self.activation, self.use_bias, self.initializer)

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        if len(input_shape) != 1:
            raise ShapeError(f"'dense' takes samples that are vectors; got per-sample shape "
                             f"{input_shape}; reshape the input to (N, features)")
        kernel = _initial(self.initializer, (input_shape[0], self.units), rng)
        return [kernel, np.zeros(self.units)] if self.use_bias else [kernel]

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self.units,)

    def __call__(self, params: Sequence[Any], x: Any) -> Any:
        z = p.affine(x, params[0], params[1]) if self.use_bias else p.matmul(x, params[0])
        if self._activate is None:
            return z
        return self._activate(z)
