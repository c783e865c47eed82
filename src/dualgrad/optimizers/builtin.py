"""The built-in optimizers: SGD (with momentum, Nesterov and weight decay), Adam, AdamW,
RMSprop and Adagrad.

Each takes `lr` as a number or a learning-rate schedule, and `clipnorm`: when the gradient's
global norm (over every weight) exceeds it, the gradient is scaled down to that norm first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from .._config import in_range, positive
from .._errors import ConfigError
from ..schedules.base import as_learning_rate, learning_rate, rate_at
from .base import Optimizer


def _clipnorm(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        positive((int, float))(instance, attribute, value)


def _non_negative(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < float("inf"):
        raise ConfigError(f"{instance.name!r}: {attribute.name} must be a finite number >= 0, "
                          f"got {value!r}")


def clipped(grads: Sequence[np.ndarray], clipnorm: float | None) -> Sequence[np.ndarray]:
    """`grads` scaled down to global norm `clipnorm` if their norm exceeds it."""
    if clipnorm is None:
        return grads
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    if norm <= clipnorm:
        return grads
    return [g * (clipnorm / norm) for g in grads]


@attrs.frozen
class SGDState:
    """The velocity of each parameter (empty without momentum) and the steps taken."""

    velocity: tuple[np.ndarray, ...]
    step: int = 0


@attrs.define(frozen=True)
class SGD(Optimizer):
    """Stochastic gradient descent.

    ``v <- momentum * v - lr * g``, then ``w <- w + v``; with `nesterov`,
    ``w <- w + momentum * v - lr * g``. With momentum 0 this is the blog's ``w -= lr * g``.
    `weight_decay` adds ``weight_decay * w`` to g (L2 regularisation).
    """

    name = "sgd"
    flat_weights = True

    lr: Any = attrs.field(default=0.01, converter=as_learning_rate,
                      validator=learning_rate)
    momentum: float = attrs.field(default=0.0, validator=in_range(0.0, 1.0))
    nesterov: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    weight_decay: float = attrs.field(default=0.0, validator=_non_negative, kw_only=True)
    clipnorm: float | None = attrs.field(default=None, validator=_clipnorm,
                                       kw_only=True)

    def init(self, params: Sequence[np.ndarray]) -> SGDState:
        return SGDState(tuple(np.zeros_like(w) for w in params) if self.momentum else ())

    def update(self, grads: Sequence[np.ndarray], state: SGDState,
               params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], SGDState]:
        lr = self.lr if type(self.lr) is float else rate_at(self.lr, state.step)
        if self.clipnorm is not None:
            grads = clipped(grads, self.clipnorm)
        if self.weight_decay:
            grads = [g + self.weight_decay * w for g, w in zip(grads, params)]
        if not self.momentum:
            if len(params) == 1:  # the flat vector a Model hands over
                return [params[0] - lr * grads[0]], SGDState((), state.step + 1)
            return [w - lr * g for w, g in zip(params, grads)], SGDState((), state.step + 1)
        velocity = tuple(self.momentum * v - lr * g for v, g in zip(state.velocity, grads))
        if self.nesterov:
            new = [w + self.momentum * v - lr * g
                   for w, v, g in zip(params, velocity, grads)]
        else:
            new = [w + v for w, v in zip(params, velocity)]
        return new, SGDState(velocity, state.step + 1)


@attrs.define(frozen=True)
class ForwardGradientDescent(SGD):
    """SGD on forward gradients (Baydin et al. 2022, "Gradients without Backpropagation").

    Each step draws one direction v ~ N(0, I) over all weights and pushes that single tangent
    through the model: ``g = (grad . v) v`` is an unbiased estimate of the gradient, for the
    cost of one forward pass with one direction, whatever the number of weights. The update is
    SGD's (lr, momentum, nesterov) on g.
    """

    name = "fgd"
    gradient_estimate = "forward"


@attrs.frozen
class AdamState:
    """The step count and the moving averages of the gradient and of its square."""

    step: int
    mean: tuple[np.ndarray, ...]
    square: tuple[np.ndarray, ...]


@attrs.define(frozen=True)
class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction.

    ``m <- b1 m + (1 - b1) g``, ``s <- b2 s + (1 - b2) g^2``,
    ``w <- w - lr * m_hat / (sqrt(s_hat) + eps)`` where hats divide by ``1 - b^step``.
    """

    name = "adam"
    flat_weights = True

    lr: Any = attrs.field(default=0.001, converter=as_learning_rate,
                      validator=learning_rate)
    beta1: float = attrs.field(default=0.9, validator=in_range(0.0, 1.0))
    beta2: float = attrs.field(default=0.999, validator=in_range(0.0, 1.0))
    eps: float = attrs.field(default=1e-8, validator=positive((int, float)))
    clipnorm: float | None = attrs.field(default=None, validator=_clipnorm,
                                       kw_only=True)

    def init(self, params: Sequence[np.ndarray]) -> AdamState:
        zeros = tuple(np.zeros_like(w) for w in params)
        return AdamState(0, zeros, zeros)

    def _decay(self) -> float:
        return 0.0

    def update(self, grads: Sequence[np.ndarray], state: AdamState,
               params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], AdamState]:
        lr = rate_at(self.lr, state.step)
        grads = clipped(grads, self.clipnorm)
        step = state.step + 1
        b1, b2 = self.beta1, self.beta2
        mean = tuple(b1 * m + (1 - b1) * g for m, g in zip(state.mean, grads))
        square = tuple(b2 * s + (1 - b2) * g * g for s, g in zip(state.square, grads))
        c1, c2 = 1 - b1**step, 1 - b2**step
        decay = self._decay()
        if decay:  # decoupled: the weights shrink beside the step, not through the moments
            new = [w - lr * ((m / c1) / (np.sqrt(s / c2) + self.eps) + decay * w)
                   for w, m, s in zip(params, mean, square)]
        else:
            new = [w - lr * (m / c1) / (np.sqrt(s / c2) + self.eps)
                   for w, m, s in zip(params, mean, square)]
        return new, AdamState(step, mean, square)


@attrs.define(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

    Adam's step, plus ``- lr * weight_decay * w``: the decay shrinks every weight at the
    learning rate's pace, untouched by Adam's per-weight scaling (unlike an L2 term in the
    loss).
    """

    name = "adamw"

    weight_decay: float = attrs.field(default=0.01, validator=_non_negative, kw_only=True)

    def _decay(self) -> float:
        return float(self.weight_decay)


@attrs.frozen
class AccumulatorState:
    """The step count and, per parameter, the accumulated squared gradients."""

    step: int
    square: tuple[np.ndarray, ...]


@attrs.define(frozen=True)
class RMSprop(Optimizer):
    """RMSprop (Hinton): ``s <- rho s + (1 - rho) g^2``, ``w <- w - lr g / (sqrt(s) + eps)``."""

    name = "rmsprop"
    flat_weights = True

    lr: Any = attrs.field(default=0.001, converter=as_learning_rate,
                      validator=learning_rate)
    rho: float = attrs.field(default=0.9, validator=in_range(0.0, 1.0))
    eps: float = attrs.field(default=1e-7, validator=positive((int, float)))
    clipnorm: float | None = attrs.field(default=None, validator=_clipnorm,
                                       kw_only=True)

    def init(self, params: Sequence[np.ndarray]) -> AccumulatorState:
        return AccumulatorState(0, tuple(np.zeros_like(w) for w in params))

    def update(self, grads: Sequence[np.ndarray], state: AccumulatorState,
               params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], AccumulatorState]:
        lr = rate_at(self.lr, state.step)
        grads = clipped(grads, self.clipnorm)
        square = tuple(self.rho * s + (1 - self.rho) * g * g
                       for s, g in zip(state.square, grads))
        new = [w - lr * g / (np.sqrt(s) + self.eps) for w, g, s in zip(params, grads, square)]
        return new, AccumulatorState(state.step + 1, square)


@attrs.define(frozen=True)
class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): ``s <- s + g^2``, ``w <- w - lr g / (sqrt(s) + eps)``,
    with s starting at `initial_accumulator`."""

    name = "adagrad"
    flat_weights = True

    lr: Any = attrs.field(default=0.01, converter=as_learning_rate,
                      validator=learning_rate)
    initial_accumulator: float = attrs.field(default=0.1, validator=_non_negative)
    eps: float = attrs.field(default=1e-7, validator=positive((int, float)))
    clipnorm: float | None = attrs.field(default=None, validator=_clipnorm,
                                       kw_only=True)

    def init(self, params: Sequence[np.ndarray]) -> AccumulatorState:
        return AccumulatorState(0, tuple(np.full_like(w, self.initial_accumulator)
                                         for w in params))

    def update(self, grads: Sequence[np.ndarray], state: AccumulatorState,
               params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], AccumulatorState]:
        lr = rate_at(self.lr, state.step)
        grads = clipped(grads, self.clipnorm)
        square = tuple(s + g * g for s, g in zip(state.square, grads))
        new = [w - lr * g / (np.sqrt(s) + self.eps) for w, g, s in zip(params, grads, square)]
        return new, AccumulatorState(state.step + 1, square)
