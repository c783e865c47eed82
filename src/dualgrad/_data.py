"""Training data checked at the door: float arrays of one row per sample, finite, unmasked."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import ConfigError, DataError, DualgradTypeError
from .losses import Loss

__all__ = ["as_matrix", "checked", "checked_fit_settings", "require_targets", "sample_weights",
           "split_off"]


def as_matrix(a: Any, what: str) -> np.ndarray:
    """`a` as a float64 array of one row per sample (a vector becomes a column), checked."""
    if isinstance(a, np.ma.MaskedArray) or (isinstance(a, (list, tuple)) and any(
            isinstance(row, np.ma.MaskedArray) for row in a)):
        # NumPy would drop the mask, and the model would use the values it hides
        raise DualgradTypeError(f"{what} is a masked array, whose mask the model would lose "
                                "(it would use the masked-out values); pass np.ma.filled(a, "
                                "fill), or drop the masked samples first")
    if np.iscomplexobj(a):
        raise DataError(f"{what} has complex values; dualgrad models take real data (pass the "
                        "real and imaginary parts as separate features)")
    try:
        raw = np.asarray(a)
        if raw.dtype.kind in "USMmV" or (raw.dtype.kind == "O" and any(
                isinstance(v, (str, bytes)) for v in raw.flat)):
            # NumPy would parse "1.5" and count seconds in dates: a model trains on numbers only
            raise TypeError(f"it holds {raw.dtype} values")
        arr = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be numbers; could not read it as a float array "
                        f"({exc})") from exc
    if arr.ndim == 0:
        raise DataError(f"{what} must have one row per sample; got a scalar")
    if arr.shape[0] == 0:
        raise DataError(f"{what} is empty; give at least one sample")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(f"{what} has {int(bad.sum())} NaN or infinite value(s), the first in "
                        f"row {row} (counting from 0); clean or impute the data first")
    return arr


def require_targets(y: np.ndarray | None) -> np.ndarray:
    """`y`, which fit and evaluate need."""
    if y is None:
        raise DataError("fit needs targets y")
    return y


def checked(x: Any, y: Any, input_shape: tuple[int, ...] | None,
            output_shape: tuple[int, ...] | None,
            loss: Loss) -> tuple[np.ndarray, np.ndarray | None]:
    """Float copies of x (N, *input) and y (N, *outputs), checked against a model that takes
    samples of `input_shape` and predicts `output_shape` (None: not known yet) under `loss`."""
    x = as_matrix(x, "x")
    if input_shape is not None and x.shape[1:] != input_shape:
        raise DataError(f"this model takes samples of shape {input_shape}; x has "
                        f"samples of shape {x.shape[1:]}")
    if y is None:
        return x, None
    y = as_matrix(y, "y")
    if y.shape[0] != x.shape[0]:
        raise DataError(f"x has {x.shape[0]} rows but y has {y.shape[0]}; give one target "
                        "per sample")
    if output_shape is not None:
        y = loss.targets(y, output_shape)
    loss.check_targets(y)
    if output_shape is not None and y.shape[1:] != output_shape:
        hint = ""
        if y.shape[1:] == (1,) and len(output_shape) == 1 and output_shape[0] > 1 \
                and np.all(y == np.round(y)):
            hint = ("; for one class label per sample, use the loss 'softmax_cross_entropy' "
                    "(one output per class)")
        raise DataError(f"this model predicts {output_shape} per sample; y has "
                        f"{y.shape[1:]}{hint}")
    return x, y


def checked_fit_settings(epochs: Any, batch_size: Any, shuffle: Any) -> None:
    """Raise `ConfigError` unless fit's settings are a positive int of epochs, a positive int
    batch size or None, and a bool shuffle."""
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ConfigError(f"epochs must be a positive int, got {epochs!r}")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ConfigError(f"shuffle must be True or False, got {shuffle!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
            batch_size, (int, np.integer)) or batch_size < 1):
        raise ConfigError(f"batch_size must be a positive int or None, got {batch_size!r}")


def sample_weights(sample_weight: Any, class_weight: Any, y: np.ndarray) -> np.ndarray | None:
    """Each sample's weight from fit's `sample_weight` and `class_weight` (None: unweighted),
    checked: finite, >= 0, one per sample, not all zero."""
    if sample_weight is None and class_weight is None:
        return None
    n = y.shape[0]
    weights = np.ones(n)
    if sample_weight is not None:
        given = as_matrix(sample_weight, "sample_weight")
        if given.shape != (n, 1):
            raise DataError(f"sample_weight must hold one weight per sample, shape ({n},); got "
                            f"shape {np.shape(sample_weight)}")
        weights = given[:, 0].copy()
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise ConfigError(f"class_weight must be a dict {{class: weight}}, got "
                              f"{type(class_weight).__name__}")
        if y.ndim != 2:
            raise DataError("class_weight needs targets of one label or one row per sample")
        classes = y[:, 0] if y.shape[1] == 1 else np.argmax(y, axis=1)
        for label, w in class_weight.items():
            if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)):
                raise ConfigError(f"class_weight[{label!r}] must be a number, got {w!r}")
            weights[classes == label] *= w
    if y.ndim != 2:
        raise DataError(f"sample weights need targets of one row per sample, got shape "
                        f"{y.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not np.any(weights > 0):
        raise DataError("sample weights must be finite and >= 0, and not all zero")
    return weights


def split_off(fraction: Any, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None,
                         tuple[np.ndarray, np.ndarray]]:
    """x, y and weights without their last `fraction` of samples, and those samples as
    validation data (as Keras's validation_split, before any shuffling)."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)) \
            or not 0 < fraction < 1:
        raise ConfigError(f"validation_split must be a fraction between 0 and 1, got "
                          f"{fraction!r}")
    n = x.shape[0]
    cut = int(n * (1 - fraction))
    if cut < 1 or cut >= n:
        raise DataError(f"validation_split={fraction} of {n} samples leaves "
                        f"{'no training' if cut < 1 else 'no validation'} sample; give more "
                        "data or another fraction")
    return (x[:cut], y[:cut], None if weights is None else weights[:cut],
            (x[cut:], y[cut:]))
