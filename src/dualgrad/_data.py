"""Training data checked at the door: float arrays of one row per sample, finite, unmasked."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import ConfigError, DataError, DualgradTypeError
from .losses import Loss

__all__ = ["as_matrix", "checked", "checked_fit_settings", "require_targets"]


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
