"""The built-in losses: mean squared error and log-loss (binary cross-entropy)."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from .. import primitives as p
from .._config import in_range
from .._core import Primitive
from .._errors import DataError
from ..layers import Dense, Layer
from .base import Loss


@attrs.define(frozen=True)
class MeanSquaredError(Loss):
    """``mean((y_pred - y_true) ** 2)`` over every sample and output."""

    name = "mse"

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        return p.mean_squared_error(y_pred, y_true)


# Clip a probability away from 0 and 1 without cutting its tangent: the loss stays finite and a
# prediction that sits at exactly 0 or 1 still learns which way to move.
_clip_keeping_slope = Primitive("clip_keeping_slope", np.clip,
                                lambda t, out, x, lo, hi: t, None, None, elementwise=True)


@attrs.define(frozen=True)
class LogLoss(Loss):
    """Binary cross-entropy, ``-mean(y log p + (1 - y) log(1 - p))``, for targets in {0, 1}.

    Args:
        from_logits: read predictions as logits z (p = sigmoid(z)) and compute
            ``mean(softplus(z) - y z)``, finite in value and gradient for any z.
        eps: probabilities are clipped to [eps, 1 - eps] for the value; the tangent passes
            unclipped so that a saturated prediction keeps a gradient.

    Read after a dense layer with a sigmoid activation (and with the default eps), a `Model`
    computes this loss from that layer's logits instead (see `fuse_with`): the same function,
    but exact and with a full gradient where the sigmoid saturates.
    """

    name = "logloss"

    from_logits: bool = attrs.field(default=False,
                                    validator=attrs.validators.instance_of(bool))
    eps: float = attrs.field(default=1e-7, validator=in_range(0.0, 0.5))

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        if self.from_logits:
            return p.sigmoid_cross_entropy(y_pred, y_true)
        prob = _clip_keeping_slope(y_pred, self.eps, 1.0 - self.eps)
        ones = p.multiply(y_true, p.log(prob))
        zeros = p.multiply(p.subtract(1.0, y_true), p.log(p.subtract(1.0, prob)))
        return p.negative(p.reduce_mean(p.add(ones, zeros)))

    def fuse_with(self, layer: Layer) -> tuple[Layer, Loss] | None:
        """After the built-in dense layer with a sigmoid, the log-loss of its logits.

        Only for `Dense` itself, whose output is exactly sigmoid(logits), and for the default
        clipping, which only ever changes saturated predictions (where the logits give the
        exact loss instead); a subclass, which may compute another function, is left alone.
        """
        if (type(self) is LogLoss and type(layer) is Dense and layer.activation == "sigmoid"
                and not self.from_logits and self.eps == _DEFAULT_EPS):
            return attrs.evolve(layer, activation=None), LogLoss(from_logits=True)
        return None

    def check_targets(self, y_true: np.ndarray) -> None:
        bad = (y_true != 0) & (y_true != 1)
        if np.any(bad):
            raise DataError(f"'logloss' needs targets of 0 or 1; got {float(y_true[bad][0])} "
                            f"({int(bad.sum())} target(s) are neither); encode the classes as "
                            "0 and 1")


_DEFAULT_EPS = attrs.fields(LogLoss).eps.default
