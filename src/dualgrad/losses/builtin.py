"""The built-in losses: mean squared error, log-loss (binary cross-entropy) and softmax
cross-entropy (multi-class)."""

from __future__ import annotations

import warnings
from typing import Any

import attrs
import numpy as np

from .. import primitives as p
from .._config import in_range
from .._core import Primitive
from .._errors import ConfigError, DataError, TrainingWarning
from ..layers import Dense, Layer
from .base import Loss


@attrs.define(frozen=True)
class MeanSquaredError(Loss):
    """``mean((y_pred - y_true) ** 2)`` over every sample and output."""

    name = "mse"

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        return p.mean_squared_error(y_pred, y_true)

    def per_sample(self, y_true: Any, y_pred: Any) -> Any:
        return p.reduce_mean(p.square(p.subtract(y_pred, y_true)), axis=_outputs(y_true))

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray:
        raise ConfigError("the loss 'mse' fits values, not classes, so the model's outputs are "
                          "no probabilities; train a classifier with 'logloss' (two classes) "
                          "or 'softmax_cross_entropy' (more), or use predict")


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
        if isinstance(layer, Dense) and layer.activation == "softmax":
            # the classic mistake: a per-class binary cross-entropy of one distribution
            warnings.warn("'logloss' reads the last layer's softmax as independent yes/no "
                          "probabilities; for one class out of several, use the loss "
                          "'softmax_cross_entropy' on a last layer without activation",
                          TrainingWarning, stacklevel=2)
        if (type(self) is LogLoss and type(layer) is Dense and layer.activation == "sigmoid"
                and not self.from_logits and self.eps == _DEFAULT_EPS):
            return attrs.evolve(layer, activation=None), LogLoss(from_logits=True)
        return None

    def check_targets(self, y_true: np.ndarray) -> None:
        bad = (y_true != 0) & (y_true != 1)
        if np.any(bad):
            first = float(y_true[bad][0])
            if np.all((y_true >= 0) & (y_true == np.round(y_true))):
                classes = int(y_true.max()) + 1
                todo = (f"these look like labels of {classes} classes: for one class out of "
                        "several, use the loss 'softmax_cross_entropy' with one output per "
                        "class")
            else:
                todo = "encode the classes as 0 and 1"
            raise DataError(f"'logloss' needs targets of 0 or 1; got {first} "
                            f"({int(bad.sum())} target(s) are neither); {todo}")

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray:
        return _sigmoid(y_pred) if self.from_logits else y_pred

    def per_sample(self, y_true: Any, y_pred: Any) -> Any:
        if self.from_logits:  # softplus(z) - y z
            each = p.subtract(p.softplus(y_pred), p.multiply(y_true, y_pred))
        else:
            prob = _clip_keeping_slope(y_pred, self.eps, 1.0 - self.eps)
            each = p.negative(p.add(p.multiply(y_true, p.log(prob)), p.multiply(
                p.subtract(1.0, y_true), p.log(p.subtract(1.0, prob)))))
        return p.reduce_mean(each, axis=_outputs(y_true))


_DEFAULT_EPS = attrs.fields(LogLoss).eps.default


def _outputs(y: Any) -> tuple[int, ...]:
    """The axes of a batch's outputs: all but the first."""
    return tuple(range(1, len(np.shape(y))))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1 / (1 + e^-z), without overflow for either sign of z
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64))))


@attrs.define(frozen=True)
class SoftmaxCrossEntropy(Loss):
    """Multi-class cross-entropy, ``-mean(sum(y * log_softmax(z), axis=-1))``, on logits z.

    Targets are class labels 0..K-1, one per sample (shape (N,) or (N, 1)) against K outputs,
    or rows of K class probabilities (one-hot, say). The loss goes through ``log_softmax``, so
    it is finite in value and gradient for any logits. Keras calls it
    ``sparse_categorical_crossentropy`` (labels) and ``categorical_crossentropy`` (one-hot).

    Args:
        from_logits: read predictions as logits (the default); False reads them as
            probabilities (a softmax layer's output), clipped to [eps, 1]. After a dense layer
            with a softmax, a `Model` reads that layer's logits instead (see `fuse_with`).
        eps: the clipping of probabilities when `from_logits` is False.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> loss = dg.loss("softmax_cross_entropy")
        >>> z = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> y = loss.targets(np.array([[0.0], [2.0]]), (3,))
        >>> round(float(loss(y, z)), 4)
        0.6691
    """

    name = "softmax_cross_entropy"

    from_logits: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    eps: float = attrs.field(default=1e-7, validator=in_range(0.0, 0.5))

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        return p.reduce_mean(self.per_sample(y_true, y_pred))

    def per_sample(self, y_true: Any, y_pred: Any) -> Any:
        if self.from_logits:
            log_p = p.log_softmax(y_pred, axis=-1)
        else:
            log_p = p.log(_clip_keeping_slope(y_pred, self.eps, 1.0))
        return p.negative(p.reduce_sum(p.multiply(y_true, log_p), axis=-1))

    def targets(self, y_true: np.ndarray, outputs: tuple[int, ...]) -> np.ndarray:
        """Class labels (one column) as one-hot rows of the `outputs` classes; rows of class
        probabilities unchanged."""
        classes = outputs[-1] if outputs else 1
        if y_true.shape[1:] != (1,) or classes < 2:
            return y_true
        labels = y_true[:, 0]
        bad = (labels < 0) | (labels >= classes) | (labels != np.round(labels))
        if np.any(bad):
            raise DataError(f"'softmax_cross_entropy' needs class labels 0 to {classes - 1} "
                            f"for a model of {classes} outputs; got {float(labels[bad][0])} "
                            f"({int(bad.sum())} label(s) are not); number the classes from 0, "
                            "or give the last layer one unit per class")
        return np.eye(classes)[labels.astype(np.intp)]

    def check_targets(self, y_true: np.ndarray) -> None:
        if y_true.ndim < 2 or y_true.shape[-1] < 2:
            raise DataError(f"'softmax_cross_entropy' needs one output per class (two or more) "
                            f"and class labels or rows of class probabilities; got targets of "
                            f"shape {y_true.shape}. For two classes with one output, use "
                            "'logloss'")
        bad = (y_true < 0) | (y_true > 1)
        sums = y_true.sum(axis=-1)
        if np.any(bad) or not np.allclose(sums, 1.0):
            raise DataError("'softmax_cross_entropy' needs each target row to be class "
                            "probabilities (>= 0, summing to 1; one-hot, say), or one class "
                            "label per sample")

    def probabilities(self, y_pred: np.ndarray) -> np.ndarray:
        return np.asarray(p.softmax(y_pred, axis=-1)) if self.from_logits else y_pred

    def fuse_with(self, layer: Layer) -> tuple[Layer, Loss] | None:
        """After the built-in dense layer with a softmax, the cross-entropy of its logits."""
        if type(layer) is Dense and layer.activation == "softmax":
            if self.from_logits:
                warnings.warn("'softmax_cross_entropy' reads logits, but the last layer "
                              "applies a softmax first; remove the activation, or pass "
                              "from_logits=False", TrainingWarning, stacklevel=2)
            elif type(self) is SoftmaxCrossEntropy and self.eps == _DEFAULT_EPS:
                return attrs.evolve(layer, activation=None), SoftmaxCrossEntropy()
        return None
