"""A loss that weighs each sample, as ``fit(sample_weight=..., class_weight=...)`` trains.

The weights travel as one more column of the targets, so that a recorded training step (see
`dualgrad._trace`) reads each batch's own weights as it reads its targets. Targets without that
column (validation data, say) are scored by the plain loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import primitives as p
from ..layers import Layer
from .base import Loss


class SampleWeighted(Loss):
    """``mean(w * loss.per_sample(y, y_pred))`` for targets whose last column holds w.

    Args:
        loss: the loss to weigh (it must have `per_sample`).
        columns: the number of target columns, without the weights'.
    """

    name = "sample_weighted"

    def __init__(self, loss: Loss, columns: int) -> None:
        self.loss = loss
        self.columns = columns
        self.traceable = loss.traceable  # type: ignore[misc]

    def __eq__(self, other: object) -> bool:
        return (type(other) is SampleWeighted and other.loss == self.loss
                and other.columns == self.columns)

    def __hash__(self) -> int:
        return hash((SampleWeighted, self.columns))

    def __repr__(self) -> str:
        return f"SampleWeighted({self.loss!r})"

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        if np.shape(y_true)[-1] == self.columns:  # no weights: the plain loss
            return self.loss(y_true, y_pred)
        y = p.getitem(y_true, index=(slice(None), slice(0, self.columns)))
        weight = p.getitem(y_true, index=(slice(None), self.columns))
        return p.reduce_mean(p.multiply(weight, self.loss.per_sample(y, y_pred)))

    def fuse_with(self, layer: Layer) -> tuple[Layer, Loss] | None:
        fused = self.loss.fuse_with(layer)
        if fused is None:
            return None
        head, loss = fused
        return head, SampleWeighted(loss, self.columns)

    def check_targets(self, y_true: np.ndarray) -> None:
        self.loss.check_targets(y_true)
