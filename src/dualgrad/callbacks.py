"""Callbacks that `Model.fit` calls at the end of every epoch.

A hook's `model` is the `dualgrad.Model` being trained. This module is below the model (the
model's training loop calls it), so it uses only what every model offers: ``stop_training``,
``get_weights`` and ``set_weights``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import ConfigError

# The model being trained, typed loosely so that a subclass may annotate it as dualgrad.Model.
_Model = Any

__all__ = ["Callback", "EarlyStopping", "EpochEnd"]


class Callback:
    """Base class: override the hooks you need. Set ``model.stop_training = True`` to stop."""

    def on_train_begin(self, model: _Model) -> None:
        """Called once before the first epoch of a `fit`."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: _Model) -> None:
        """Called after each epoch with that epoch's metrics (``loss``, ``val_loss``)."""

    def on_train_end(self, model: _Model) -> None:
        """Called once after the last epoch, also when training stopped early."""


class EpochEnd(Callback):
    """Call ``fn(epoch, logs)`` after every epoch; a plain function in `callbacks` gets this.

    Example:
        >>> from dualgrad.callbacks import EpochEnd
        >>> seen = []
        >>> hook = EpochEnd(lambda epoch, logs: seen.append(logs["loss"]))
    """

    def __init__(self, fn: Callable[[int, dict[str, float]], Any]) -> None:
        if not callable(fn):
            raise ConfigError(f"EpochEnd needs a callable, got {fn!r}")
        self.fn = fn

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: _Model) -> None:
        self.fn(epoch, logs)


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    Args:
        monitor: the value to watch: ``"loss"``, ``"val_loss"``, or a metric of the model
            (``"accuracy"``, ``"val_accuracy"``, ...).
        patience: epochs without improvement to tolerate.
        min_delta: the smallest change in the better direction that counts as an improvement.
        restore_best_weights: put back, when stopping, the weights the best value belongs to:
            for "loss" (measured during the epoch, before each update) the weights the best
            epoch started from; for the others (measured after the epoch) those it ended with.
        mode: "min" (lower is better), "max" (higher is better), or "auto": "min" for a loss,
            and for a metric the direction it declares (`Metric.mode`: max for accuracy).

    Example:
        >>> from dualgrad.callbacks import EarlyStopping
        >>> stop = EarlyStopping(monitor="val_accuracy", patience=5, mode="max")
    """

    def __init__(self, monitor: str = "loss", patience: int = 0, min_delta: float = 0.0,
                 restore_best_weights: bool = False, mode: str = "auto") -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ConfigError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if not min_delta >= 0:
            raise ConfigError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got "
                              f"{mode!r}")
        self.mode = mode
        self.monitor = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch: int | None = None

    def _direction(self, model: _Model) -> str:
        """"min" or "max": the mode, or for "auto" the watched metric's (a loss: "min")."""
        if self.mode != "auto":
            return self.mode
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        for metric in getattr(model, "metrics", ()):
            if metric.name == name:
                return str(metric.mode)
        return "min"

    def on_train_begin(self, model: _Model) -> None:
        self._sign = -1.0 if self._direction(model) == "max" else 1.0
        self.best = self._sign * np.inf  # the best value watched so far
        self.best_weights: list[np.ndarray] | None = None
        self.wait = 0
        self.stopped_epoch = None
        # an epoch's "loss" is measured on the way, before each batch's update: it belongs to
        # the weights the epoch started from, while "val_loss" belongs to those it ended with
        self._epoch_start = model.get_weights() if self.restore_best_weights else None

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: _Model) -> None:
        if self.monitor not in logs:
            raise ConfigError(f"EarlyStopping watches {self.monitor!r}, but the epoch reported "
                              f"only {', '.join(logs)}; pass validation_data to get val_loss")
        current = logs[self.monitor]
        start, end = self._epoch_start, None
        if self.restore_best_weights:
            end = model.get_weights()
            self._epoch_start = end
        # signed so that lower is better, either way
        if self._sign * current < self._sign * self.best - self.min_delta:
            self.best, self.wait = current, 0
            self.best_weights = start if self.monitor == "loss" else end
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            model.stop_training = True
            if self.best_weights is not None:
                model.set_weights(self.best_weights)
