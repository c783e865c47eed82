"""What `Model.fit` reports: the `History` of its epochs, the callbacks checked against the
names it reports, its progress bar, and the warning when a classifier learnt nothing."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from ._errors import ConfigError, TrainingWarning
from .callbacks import Callback, EpochEnd
from .losses import LogLoss, Loss, SoftmaxCrossEntropy

__all__ = ["History", "checked_callbacks", "progress", "warn_if_nothing_learnt"]


@attrs.define
class History:
    """What `Model.fit` recorded, one value per epoch: ``history["loss"]``, each metric's
    (``history["accuracy"]``, say), and with validation data ``"val_loss"`` and the metrics'
    ``"val_accuracy"``.

    An epoch's "loss" is the mean of its batches' losses, each measured before its update; the
    metrics and every validation value are measured on the weights the epoch ended with.
    """

    history: dict[str, list[float]] = attrs.field(factory=dict)
    epoch: list[int] = attrs.field(factory=list)

    @classmethod
    def reporting(cls, metrics: Sequence[str], validation: bool) -> History:
        """An empty history of the loss and `metrics`, and their ``val_`` twins if
        `validation`."""
        names = ["loss", *metrics]
        if validation:
            names += [f"val_{name}" for name in names]
        return cls({name: [] for name in names})

    def record(self, logs: dict[str, float]) -> None:
        """Add an epoch's values but its loss (appended as each epoch ends, reported or not)."""
        for key, value in logs.items():
            if key != "loss":
                self.history[key].append(value)


def checked_callbacks(callbacks: Sequence[Callback | Callable[[int, dict[str, float]], Any]],
                      metrics: Sequence[str]) -> list[Callback]:
    """The callbacks as `Callback` objects (a function becomes an `EpochEnd`), each watching
    one of the `metrics` training reports."""
    hooks = [cb if isinstance(cb, Callback) else EpochEnd(cb) for cb in callbacks]
    for cb in hooks:
        monitor = getattr(cb, "monitor", None)
        if monitor is not None and monitor not in metrics:
            raise ConfigError(f"{type(cb).__name__} watches {monitor!r}, but training "
                              f"reports only {', '.join(metrics)}; pass validation_data "
                              "to get val_loss, and metrics to the Model to get theirs")
    return hooks


def progress(epochs: int, verbose: bool) -> Any:
    """A tqdm bar over epochs, or None when quiet."""
    if not verbose:
        return None
    from tqdm.auto import tqdm

    # disable=None: draw only on a terminal, so logs and CI stay clean
    # leave=True: one line per run stays on screen, with the last epoch's values
    return tqdm(total=int(epochs), desc="epochs", unit="epoch", leave=True,
                disable=True if epochs < 10 else None, file=sys.stderr)


def warn_if_nothing_learnt(loss: Loss, x: np.ndarray, y: np.ndarray, history: History,
                           predict_classes: Callable[[np.ndarray], np.ndarray]) -> None:
    """Warn when a classifier ends predicting one class for every sample, its loss flat at
    the class frequencies' own: it learnt nothing from the features."""
    losses = history.history["loss"]
    if not isinstance(loss, (LogLoss, SoftmaxCrossEntropy)) or y.ndim != 2 \
            or len(losses) < 3 or np.ptp(losses[-3:]) > 0.01 * abs(losses[-1]):
        return
    freq = np.mean(y, axis=0)
    if y.shape[1] == 1:
        freq = np.array([freq[0], 1.0 - freq[0]])
    freq = freq[freq > 0]
    if freq.size < 2:
        return
    chance = float(-np.sum(freq * np.log(freq)))
    if abs(losses[-1] - chance) > 0.02 * chance:
        return
    classes = np.unique(predict_classes(x))
    if classes.size > 1:
        return
    spread = np.std(x.reshape(x.shape[0], -1), axis=0)
    warnings.warn(
        f"fit ended predicting class {int(classes[0])} for every sample, its training loss "
        f"flat at {losses[-1]:.4g}, that of predicting the class frequencies "
        f"({chance:.4g}): the model learnt nothing from the features. Their "
        f"standard deviations range from {spread.min():.3g} to {spread.max():.3g}; if "
        "they are unscaled, standardise them (a 'normalization' first layer, or [fit] "
        "standardize = true), else lower the learning rate or train longer",
        TrainingWarning, stacklevel=2)
