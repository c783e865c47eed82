"""A model's parts: the kinds layer, loss, metric, optimizer and schedule, declared to the
registry with their built-ins, and each part made from an object, a registered name or a config
dict."""

from __future__ import annotations

from typing import Any

from . import _registry
from ._errors import ConfigError, UnknownNameError
from .hookspecs import (
    dualgrad_register_layers,
    dualgrad_register_losses,
    dualgrad_register_metrics,
    dualgrad_register_optimizers,
    dualgrad_register_schedules,
)
from .layers import Dense, Dropout, Layer, Normalization
from .losses import LogLoss, Loss, MeanSquaredError, SoftmaxCrossEntropy
from .metrics import AUC, Accuracy, BinaryAccuracy, MeanAbsoluteError, Metric
from .metrics import MeanSquaredError as MeanSquaredErrorMetric
from .optimizers import SGD, Adagrad, Adam, AdamW, ForwardGradientDescent, Optimizer, RMSprop
from .schedules import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    PiecewiseConstant,
    Schedule,
    WarmupCosineDecay,
)

__all__ = ["describe", "look_up", "resolve"]

# names practitioners bring from Keras, and the registered part that does that job
_KERAS_NAMES = {
    "loss": {
        "categorical_crossentropy": "'softmax_cross_entropy' (from_logits=False after a softmax)",
        "sparse_categorical_crossentropy": "'softmax_cross_entropy' (it takes class labels too)",
        "binary_crossentropy": "'logloss'",
        "mean_squared_error": "'mse'",
    },
    "metric": {"mean_absolute_error": "'mae'", "mean_squared_error": "'mse'"},
}

_registry.declare(_registry.Kind("layer", "layers", dualgrad_register_layers, Layer,
                                 builtins=(Dense, Dropout, Normalization)))
_registry.declare(_registry.Kind("loss", "losses", dualgrad_register_losses, Loss,
                                 builtins=(MeanSquaredError, LogLoss,
                                           SoftmaxCrossEntropy)))
_registry.declare(_registry.Kind("metric", "metrics", dualgrad_register_metrics, Metric,
                                 builtins=(Accuracy, BinaryAccuracy, MeanAbsoluteError,
                                           MeanSquaredErrorMetric, AUC)))
_registry.declare(_registry.Kind("optimizer", "optimizers", dualgrad_register_optimizers,
                                 Optimizer, builtins=(SGD, Adam, ForwardGradientDescent, AdamW,
                                                      RMSprop, Adagrad)))
_registry.declare(_registry.Kind("schedule", "schedules", dualgrad_register_schedules, Schedule,
                                 builtins=(Constant, ExponentialDecay, CosineDecay,
                                           WarmupCosineDecay, PiecewiseConstant)))


def resolve(kind: str, spec: Any, base: type) -> Any:
    """A layer, loss, metric or optimizer from an object, a registered name, or a config
    dict."""
    if isinstance(spec, base):
        return spec
    if isinstance(spec, str):
        name, config = spec, {}
    elif isinstance(spec, dict):
        config = dict(spec)
        name = config.pop("type", None)
        if not isinstance(name, str):
            raise ConfigError(f"a {kind} config needs a 'type' naming a registered {kind}; "
                              f"got {spec!r}")
    else:
        raise ConfigError(f"a {kind} must be a {base.__name__}, a registered name or a config "
                          f"dict; got {type(spec).__name__}")
    try:
        cls = look_up(kind, name)
    except KeyError as exc:
        raise ConfigError(f"{exc} (a {kind} defined in a script or notebook is registered "
                          f"with dualgrad.register({base.__name__}Class, kind={kind!r}))"
                          ) from exc
    return cls.from_config(config)


def look_up(kind: str, name: str) -> Any:
    """The class registered as `name` of `kind`; an unknown Keras name says which to use."""
    try:
        return _registry.registry().get(kind, name)
    except UnknownNameError as exc:
        instead = _KERAS_NAMES.get(kind, {}).get(name) if isinstance(name, str) else None
        if instead is None:
            raise
        raise UnknownNameError(f"{exc}. Keras's {name!r} is dualgrad's {instead}") from None


def describe(kind: str, obj: Any) -> dict[str, Any]:
    """The config dict that `resolve` turns back into `obj`: its registered name and options."""
    return {"type": _registry.registry().name_of(kind, type(obj)), **obj.get_config()}
