"""Promises of the training stack, held through the public API.

Forward-gradient descent trains on estimates, optimizer state carries from one step to the next,
and the directions one gradient pass carries honour the memory budget. Each test watches what a
user can see (weights, `optimizer_state`, the tangents a layer receives, the memory a pass
allocates), so that it survives a redesign of the code behind `Model`.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
from dualgrad.layers import Layer


def regression_data(n: int = 32, features: int = 3, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    y = np.tanh(x @ np.arange(1.0, features + 1.0))[:, None] + 0.1 * rng.normal(size=(n, 1))
    return x, y


def small_model(optimizer: Any, seed: int = 0, **kwargs: Any) -> dg.Model:
    """A 3-4-1 tanh network on mean squared error: 21 weights."""
    return dg.Model([{"type": "dense", "units": 4, "activation": "tanh"},
                     {"type": "dense", "units": 1}], "mse", optimizer, seed=seed,
                    input_shape=[3], **kwargs)


def flat(weights: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.ravel(w) for w in weights])


def gradient_at(weights: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The exact gradient of the batch loss at `weights`, flat, from a separate model."""
    probe = small_model("sgd")
    probe.set_weights(weights)
    return flat(probe.gradient(x, y))


def unflat(vector: np.ndarray, like: Sequence[np.ndarray]) -> list[np.ndarray]:
    out, start = [], 0
    for w in like:
        out.append(vector[start:start + w.size].reshape(w.shape))
        start += w.size
    return out


# ---- forward-gradient descent trains on estimates ------------------------------------------------


def test_fgd_takes_another_path_than_sgd_with_the_same_learning_rate():
    """fit with "fgd" moves the weights differently from "sgd" at the same lr: it follows
    estimates, not the exact gradient."""
    x, y = regression_data()
    fgd = small_model({"type": "fgd", "lr": 0.05})
    sgd = small_model({"type": "sgd", "lr": 0.05})
    np.testing.assert_array_equal(flat(fgd.get_weights()), flat(sgd.get_weights()))
    fgd.fit(x, y, epochs=3, verbose=False)
    sgd.fit(x, y, epochs=3, verbose=False)
    difference = np.abs(flat(fgd.get_weights()) - flat(sgd.get_weights()))
    assert difference.max() > 1e-3


def test_fgd_step_is_a_gaussian_direction_times_its_directional_derivative():
    """Each full-batch fgd step is -lr (g . v) v for a fresh v ~ N(0, I) over all weights: a
    descent step along one random direction (not the gradient's), |v|^2 averaging the number of
    weights, and the steps averaging -lr g (an unbiased estimate)."""
    x, y = regression_data()
    lr, draws = 0.01, 600
    model = small_model({"type": "fgd", "lr": lr}, seed=1)
    start = model.get_weights()
    g = gradient_at(start, x, y)
    p = g.size
    steps, norms2, cosines = [], [], []
    for _ in range(draws):
        model.set_weights(start)
        model.fit(x, y, epochs=1, verbose=False)
        delta = flat(model.get_weights()) - flat(start)
        # delta = -lr (g . v) v, so along u = delta / |delta|: v = s u with
        # s^2 = |delta| / (lr |g . u|), and g . delta = -lr (g . v)^2 <= 0
        length = np.linalg.norm(delta)
        u = delta / length
        assert g @ delta < 0
        norms2.append(length / (lr * abs(g @ u)))
        cosines.append(-(g @ u) / np.linalg.norm(g))
        steps.append(delta)
    # the directions are random: rarely close to the gradient's own
    assert np.median(cosines) < 0.8
    # |v|^2 is chi-squared with p degrees of freedom: mean p, standard deviation sqrt(2p)
    assert abs(np.mean(norms2) - p) < 5 * np.sqrt(2 * p / draws)
    # E[(g . v) v] = g; each component's variance is |g|^2 + g_j^2
    mean = np.mean(steps, axis=0) / -lr
    spread = np.sqrt((g @ g + g * g) / draws)
    assert np.all(np.abs(mean - g) < 5 * spread)


# ---- optimizer state carries from one step to the next -------------------------------------------


def adam_steps(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray, steps: int, lr: float,
               fresh: bool = False) -> np.ndarray:
    """Adam written out, with its step count and moments carried (or restarted each step)."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    w = flat(weights)
    m = s = np.zeros_like(w)
    t = 0
    for _ in range(steps):
        if fresh:
            m = s = np.zeros_like(w)
            t = 0
        g = gradient_at(unflat(w, weights), x, y)
        t += 1
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps)
    return w


def test_adam_in_fit_carries_its_step_count_and_moments():
    """Two full-batch epochs of Adam equal two Adam steps written out with the moments and step
    count carried, and differ from two steps that each start from a fresh state."""
    x, y = regression_data()
    lr = 0.05
    model = small_model({"type": "adam", "lr": lr})
    start = model.get_weights()
    model.fit(x, y, epochs=2, verbose=False)
    carried = adam_steps(start, x, y, 2, lr)
    fresh = adam_steps(start, x, y, 2, lr, fresh=True)
    np.testing.assert_allclose(flat(model.get_weights()), carried, rtol=1e-12, atol=1e-14)
    assert np.abs(carried - fresh).max() > 1e-4
    assert model.optimizer_state.step == 2


def test_adam_state_carries_across_fit_calls():
    """Two fit calls of one epoch train like one fit of two epochs: the optimizer's state is
    the model's, not the call's."""
    x, y = regression_data()
    once = small_model({"type": "adam", "lr": 0.05})
    twice = small_model({"type": "adam", "lr": 0.05})
    once.fit(x, y, epochs=2, verbose=False)
    twice.fit(x, y, epochs=1, verbose=False)
    twice.fit(x, y, epochs=1, verbose=False)
    np.testing.assert_array_equal(flat(twice.get_weights()), flat(once.get_weights()))
    assert twice.optimizer_state.step == 2


@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
def test_sgd_momentum_builds_up_from_step_to_step(nesterov):
    """Three full-batch epochs of SGD with momentum equal the velocity recursion written out
    (v <- m v - lr g; w <- w + v, or w + m v - lr g with Nesterov)."""
    x, y = regression_data()
    lr, mu = 0.05, 0.9
    model = small_model({"type": "sgd", "lr": lr, "momentum": mu, "nesterov": nesterov})
    start = model.get_weights()
    model.fit(x, y, epochs=3, verbose=False)
    w = flat(start)
    v = np.zeros_like(w)
    for _ in range(3):
        g = gradient_at(unflat(w, start), x, y)
        v = mu * v - lr * g
        w = w + mu * v - lr * g if nesterov else w + v
    np.testing.assert_allclose(flat(model.get_weights()), w, rtol=1e-12, atol=1e-14)
    plain = flat(start)
    for _ in range(3):
        plain = plain - lr * gradient_at(unflat(plain, start), x, y)
    assert np.abs(w - plain).max() > 1e-4


def test_a_new_optimizer_starts_from_a_fresh_state():
    """Assigning an optimizer restarts its state: Adam's step count begins again at 1."""
    x, y = regression_data()
    model = small_model({"type": "adam", "lr": 0.05})
    model.fit(x, y, epochs=3, verbose=False)
    model.optimizer = {"type": "adam", "lr": 0.05}
    model.fit(x, y, epochs=1, verbose=False)
    assert model.optimizer_state.step == 1


# ---- the chunk size honours memory_budget -------------------------------------------------------


class DirectionCounter(Layer):
    """The identity, recording how many tangent directions each batch carries through it."""

    name = "direction-counter"

    def __init__(self) -> None:
        self.seen: list[int] = []

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        return []

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __call__(self, params: Sequence[Any], x: Any) -> Any:
        if isinstance(x, dg.Variable):
            self.seen.append(x.tangent.shape[0])
        return x


def counted_model(budget: int = 2**30) -> tuple[dg.Model, list[int]]:
    counter = DirectionCounter()
    # last, so that every pass reaches it, whichever weights its directions seed
    model = dg.Model([{"type": "dense", "units": 4, "activation": "tanh"},
                      {"type": "dense", "units": 1}, counter], "mse", "sgd", seed=0,
                     input_shape=[3], memory_budget=budget)
    return model, counter.seen


def test_one_pass_carries_every_direction_under_a_large_budget():
    """With the default budget a small model's gradient is one pass of all its directions."""
    x, y = regression_data()
    model, seen = counted_model()
    model.gradient(x, y)
    assert seen == [model.num_params]


def test_a_tiny_budget_splits_the_directions_into_passes():
    """memory_budget=1 byte gives passes of one direction each, together every weight once."""
    x, y = regression_data()
    model, seen = counted_model(budget=1)
    model.gradient(x, y)
    assert seen == [1] * model.num_params


def test_setting_memory_budget_after_training_changes_the_chunking():
    """A budget set smaller after a first fit takes effect at once: the passes of gradient and
    of the next fit shrink to what it allows, and the gradient stays the same."""
    x, y = regression_data()
    model, seen = counted_model()
    model.fit(x, y, epochs=1, verbose=False)
    assert seen == [model.num_params]
    whole = flat(model.gradient(x, y))
    seen.clear()
    model.memory_budget = 1
    np.testing.assert_allclose(flat(model.gradient(x, y)), whole, rtol=1e-12, atol=1e-15)
    assert seen == [1] * model.num_params
    seen.clear()
    model.fit(x, y, epochs=1, verbose=False)
    assert seen == [1] * model.num_params


def mlp(budget: int) -> dg.Model:
    """A 2-32-32-1 tanh network: 1,185 weights, with forward-mode gradients (passes of
    directions, planned from the budget)."""
    return dg.Model([{"type": "dense", "units": 32, "activation": "tanh"},
                     {"type": "dense", "units": 32, "activation": "tanh"},
                     {"type": "dense", "units": 1}], "mse", "sgd", seed=0, input_shape=[2],
                    memory_budget=budget, gradient="forward")


@pytest.mark.parametrize("budget", [2 << 20, 8 << 20], ids=["2MiB", "8MiB"])
def test_a_gradient_pass_allocates_within_the_memory_budget(budget):
    """The memory one gradient allocates at its peak (tangents, seeds, temporaries) stays within
    memory_budget, and uses a fair share of it: chunks are neither too large nor needlessly
    small."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 2))
    y = np.sin(x[:, :1]) * np.cos(x[:, 1:])
    model = mlp(budget)
    # one pass of every direction would need 1,185 x 128 x 65 activations x 8 bytes, 79 MB
    assert 8 * model.num_params * 128 * 65 > 4 * budget
    model.gradient(x, y)  # warm: whatever is built once and kept is not a pass's memory
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        model.gradient(x, y)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak <= budget
    assert peak >= budget / 16
