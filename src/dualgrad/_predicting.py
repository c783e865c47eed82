"""What a built model computes for callers: predictions, class probabilities and classes, the
loss and the metrics on data (`evaluate`), and its summary table; mixed into `Model`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _data, _sharding
from ._errors import ConfigError

if TYPE_CHECKING:
    from ._gradients import GradientEngine
    from ._weights import Weights
    from .layers import Layer
    from .losses import Loss
    from .metrics import Metric

__all__ = ["_Predicting"]


class _Predicting:
    """`Model`'s predict, predict_proba, predict_classes, evaluate and summary."""

    metrics: list[Metric]
    _gradients: GradientEngine

    if TYPE_CHECKING:  # the model's own, defined in `Model` and `_Building`
        @property
        def layers(self) -> list[Layer]: ...

        @property
        def loss(self) -> Loss: ...

        def _built_weights(self) -> Weights: ...

        def _data(self, x: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray | None]: ...

    def predict(self, x: Any) -> np.ndarray:
        """The model's outputs for `x`, shape ``(N, *outputs)``."""
        x, _ = self._data(x)
        return np.asarray(self._gradients.forward(self._built_weights().params, x))

    def predict_proba(self, x: Any) -> np.ndarray:
        """The class probabilities the model's outputs stand for under its loss: the sigmoid
        output itself, or the sigmoid or softmax of logits; shape ``(N, *outputs)``.

        Example:
            >>> import numpy as np, dualgrad as dg
            >>> model = dg.Model([{"type": "dense", "units": 3}], "softmax_cross_entropy",
            ...                  "adam", seed=0, input_shape=(2,))
            >>> model.predict_proba(np.zeros((4, 2))).sum(axis=1)
            array([1., 1., 1., 1.])
        """
        return np.asarray(self.loss.probabilities(self.predict(x)))

    def predict_classes(self, x: Any) -> np.ndarray:
        """The predicted class of each sample, as ints: for one output, whether its probability
        is at least 0.5; for K outputs, the most probable (argmax)."""
        proba = self.predict_proba(x)
        if proba.shape[1:] == (1,):
            return (proba[:, 0] >= 0.5).astype(np.int64)
        return np.asarray(np.argmax(proba, axis=-1), dtype=np.int64)

    def evaluate(self, x: Any, y: Any, return_dict: bool = False, *, executor: Any = None,
                 shards: int | None = None, timeout: float | None = None) -> Any:
        """The loss on (x, y); with `return_dict`, ``{"loss": ..., metric name: ...}`` with
        the value of each of the model's metrics too. With an `executor` (see `gradient`),
        the shards' losses are weighed by their sizes, and the metrics computed here from
        the outputs the shards return."""
        x, y_or_none = self._data(x, y)
        y = _data.require_targets(y_or_none)
        outputs = None
        if executor is not None:
            loss, outputs = _sharding.evaluate(self, self._built_weights(), x, y, executor,
                                               shards, timeout)
        else:
            loss = float(self._gradients.loss_of(self._built_weights().params, x, y))
        if not return_dict:
            return loss
        return {"loss": loss, **self._metric_values(x, y, outputs)}

    def _metric_values(self, x: np.ndarray, y: np.ndarray,
                       outputs: np.ndarray | None = None) -> dict[str, float]:
        """Each metric's value on checked data (y as the loss reads it), from the model's
        `outputs` for x when given."""
        if not self.metrics:
            return {}
        if outputs is None:
            outputs = np.asarray(self._gradients.forward(self._built_weights().params, x))
        proba: np.ndarray | None = None
        values = {}
        for metric in self.metrics:
            pred = outputs
            if metric.reads == "probabilities":
                if proba is None:
                    try:
                        proba = np.asarray(self.loss.probabilities(outputs))
                    except ConfigError:  # a loss of no classifier (mse): its outputs, then
                        proba = outputs
                pred = proba
            values[metric.name] = float(metric(y, pred))
        return values

    def summary(self, print_fn: Callable[[str], Any] | None = print) -> str:
        """A table of the layers, each one's output shape and weight count, and the total;
        printed by `print_fn` (None: only returned).

        Example:
            >>> import dualgrad as dg
            >>> model = dg.Model([{"type": "dense", "units": 2}, {"type": "dense", "units": 1}],
            ...                  "mse", "adam", seed=0, input_shape=(3,))
            >>> text = model.summary()
            layer                              output shape      weights
            dense(2)                           (2,)                    8
            dense(1)                           (1,)                    3
            total                                                     11
        """
        weights = self._built_weights()
        rows = [("layer", "output shape", "weights")]
        shape = weights.input_shape
        for layer, cuts in zip(self.layers, weights.layout):
            shape = layer.output_shape(shape)
            label = layer.name + (f"({layer.units})" if hasattr(layer, "units") else "")
            rows.append((label, str(tuple(shape)), str(sum(c.stop - c.start for c, _ in cuts))))
        rows.append(("total", "", str(weights.size)))
        text = "\n".join(f"{a:<34} {b:<12} {c:>12}" for a, b, c in rows)
        if print_fn is not None:
            print_fn(text)
        return text

