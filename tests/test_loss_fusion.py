"""A loss may declare a better way to read the layer before it (`Loss.fuse_with`)."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

import dualgrad as dg
from dualgrad.layers import Dense, Layer
from dualgrad.losses import LogLoss, Loss, MeanSquaredError


def test_logloss_fuses_with_a_sigmoid_dense_layer_into_logits() -> None:
    """LogLoss after Dense(sigmoid) declares the dense layer without activation and the
    log-loss of logits."""
    dense = Dense(units=2, activation="sigmoid", initializer="zeros")
    fused = LogLoss().fuse_with(dense)
    assert fused is not None
    head, loss = fused
    assert head == Dense(units=2, activation=None, initializer="zeros")
    assert loss == LogLoss(from_logits=True)


def test_logloss_does_not_fuse_where_the_function_would_change() -> None:
    """No fusion for other activations, other eps, logits already, or a LogLoss subclass."""

    @attrs.define(frozen=True)
    class MyLogLoss(LogLoss):
        name = "my_logloss"

    sigmoid = Dense(units=1, activation="sigmoid")
    assert LogLoss().fuse_with(Dense(units=1, activation="tanh")) is None
    assert LogLoss(eps=1e-3).fuse_with(sigmoid) is None
    assert LogLoss(from_logits=True).fuse_with(sigmoid) is None
    assert MyLogLoss().fuse_with(sigmoid) is None
    assert MeanSquaredError().fuse_with(sigmoid) is None


@attrs.define(frozen=True)
class _Doubled(Loss):
    """Twice the mean squared error; it fuses with any last layer (the layer itself and a loss
    computing the same), recording what was asked and called."""

    name = "doubled"
    seen: list[str] = attrs.field(factory=list, eq=False)

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        self.seen.append("plain")
        return 2.0 * dg.mean((y_pred - y_true) ** 2)

    def fuse_with(self, layer: Layer) -> tuple[Layer, Loss] | None:
        self.seen.append("fused")
        return layer, _Recorded(self.seen)


@attrs.define(frozen=True)
class _Recorded(Loss):
    name = "recorded"
    seen: list[str] = attrs.field(eq=False)

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        self.seen.append("head")
        return 2.0 * dg.mean((y_pred - y_true) ** 2)


def test_a_model_trains_and_scores_through_the_fusion_its_loss_declares() -> None:
    """Model asks its loss about the last layer (once, while neither changes) and computes loss
    and gradient through the (head, loss) the loss returns, for any loss."""
    loss = _Doubled()
    model = dg.Model([Dense(units=1)], loss, "sgd", seed=0, input_shape=[2])
    x, y = np.ones((4, 2)), np.zeros((4, 1))
    model.evaluate(x, y)
    model.gradient(x, y)
    assert loss.seen == ["fused", "head", "head"]
