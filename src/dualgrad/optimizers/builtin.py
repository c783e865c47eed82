"""The built-in optimizers: SGD (with momentum and Nesterov) and Adam."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from .._config import in_range, positive
from .base import Optimizer


@attrs.frozen
class SGDState:
    """The velocity of each parameter (empty without momentum)."""

    velocity: tuple[np.ndarray, ...]


@attrs.define(frozen=True)
class SGD(Optimizer):
    """Stochastic gradient descent.

    ``v <- momentum * v - lr * g``, then ``w <- w + v``; with `nesterov`,
    ``w <- w + momentum * v - lr * g``. With momentum 0 this is the blog's ``w -= lr * g``.
    """

    name = "sgd"
    flat_weights = True

    lr: float = attrs.field(default=0.01, validator=positive((int, float)))
    momentum: float = attrs.field(default=0.0, validator=in_range(0.0, 1.0))
    nesterov: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))

    def init(self, params: Sequence[np.ndarray]) -> SGDState:
        return SGDState(tuple(np.zeros_like(w) for w in params) if self.momentum else ())

    def update(self, grads: Sequence[np.ndarray], state: SGDState,
               params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], SGDState]:
        if not self.momentum:
            if len(params) == 1:  # the flat vector a Model hands over
                return [params[0] - self.lr * grads[0]], state
            return [w - self.lr * g for w, g in zip(params, grads)], state
        velocity = tuple(self.momentum * v - self.lr * g for v, g in zip(state.velocity, grads))
        if self.nesterov:
            new = [w + self.momentum * v - self.lr * g
                   for w, v, g in zip(params, velocity, grads)]
        else:
            new = [w + v for w, v in zip(params, velocity)]
        return new, SGDState(velocity)


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

    lr: float = attrs.field(default=0.001, validator=positive((int, float)))
    beta1: float = attrs.field(default=0.9, validator=in_range(0.0, 1.0))
    beta2: float = attrs.field(default=0.999, validator=in_range(0.0, 1.0))
    eps: float = attrs.field(default=1e-8, validator=positive((int, float)))

    def init(self, params: Sequence[np.ndarray]) -> AdamState:
        zeros = tuple(np.zeros_like(w) for w in params)
        return AdamState(0, zeros, zeros)

    def update(self, grads: Sequence[np.ndarray], state: AdamState,
               params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], AdamState]:
        step = state.step + 1
        b1, b2 = self.beta1, self.beta2
        mean = tuple(b1 * m + (1 - b1) * g for m, g in zip(state.mean, grads))
        square = tuple(b2 * s + (1 - b2) * g * g for s, g in zip(state.square, grads))
        c1, c2 = 1 - b1**step, 1 - b2**step
        new = [w - self.lr * (m / c1) / (np.sqrt(s / c2) + self.eps)
               for w, m, s in zip(params, mean, square)]
        return new, AdamState(step, mean, square)
