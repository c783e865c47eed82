"""A model's configuration in and out: `from_config`, `from_toml` and `get_config`, mixed into
`Model`; the dict they exchange rebuilds the model untrained."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError
from ._parts import describe
from ._toml import read_toml

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._gradients import GradientEngine
    from ._weights import Weights
    from .layers import Layer
    from .losses import Loss
    from .metrics import Metric
    from .optimizers import Optimizer

__all__ = ["MODEL_KEYS", "_Configuring"]

MODEL_KEYS = ("layers", "loss", "optimizer", "metrics", "seed", "input_shape", "memory_budget",
              "gradient")


class _Configuring:
    """`Model`'s from_config, from_toml and get_config."""

    seed: int
    metrics: list[Metric]
    _weights: Weights | None
    _gradients: GradientEngine

    if TYPE_CHECKING:  # the model's own, defined in `Model`
        def __init__(self, layers: Any, loss: Any, optimizer: Any, **options: Any) -> None: ...

        @property
        def layers(self) -> list[Layer]: ...

        @property
        def loss(self) -> Loss: ...

        @property
        def optimizer(self) -> Optimizer: ...

        @property
        def memory_budget(self) -> int: ...

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Build a model from the dict `get_config` returns (or one written by hand)."""
        if not isinstance(config, dict):
            raise ConfigError(f"a model config must be a dict, got {type(config).__name__}")
        unknown = sorted(set(config) - set(MODEL_KEYS))
        if unknown:
            raise ConfigError(f"a model config has no key {', '.join(map(repr, unknown))}; "
                              f"its keys are {', '.join(MODEL_KEYS)}")
        missing = [k for k in ("layers", "loss", "optimizer") if k not in config]
        layers = config.get("layers")
        for key in missing:
            # in TOML, a key written after a [[layers]] table belongs to that layer
            holders = [i for i, layer in enumerate(layers, start=1)
                       if isinstance(layer, dict) and key in layer] \
                if isinstance(layers, list) else []
            if holders:
                raise ConfigError(f"layer {holders[0]} has no option {key!r}; the model's "
                                  f"{key} goes before the first [[layers]] table (in TOML a "
                                  "key after a table header belongs to that table)")
        if missing:
            raise ConfigError(f"a model config needs {', '.join(map(repr, missing))}")
        return cls(**config)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Self:
        """Build a model from a TOML file holding the `from_config` keys.

        A ``[fit]`` table, read by ``dualgrad train``, is ignored here.
        """
        config = read_toml(path)
        config.pop("fit", None)
        return cls.from_config(config)

    def get_config(self) -> dict[str, Any]:
        """Everything needed to rebuild this model untrained: parts, seed, input shape."""
        config: dict[str, Any] = {
            "layers": [describe("layer", layer) for layer in self.layers],
            "loss": describe("loss", self.loss),
            "optimizer": describe("optimizer", self.optimizer),
            "seed": self.seed,
            "memory_budget": self.memory_budget,
            "gradient": self._gradients.mode,
        }
        if self.metrics:
            config["metrics"] = [describe("metric", m) for m in self.metrics]
        if self._weights is not None:
            config["input_shape"] = list(self._weights.input_shape)
        return config
