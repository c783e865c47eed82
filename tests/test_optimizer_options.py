"""Optimizer options a practitioner expects: learning-rate schedules, weight decay (coupled for
SGD, decoupled for AdamW), RMSprop and Adagrad, and gradient clipping by global norm."""

from __future__ import annotations

import numpy as np
import pytest

import dualgrad as dg


def steps(opt: dg.Optimizer, grads: list[np.ndarray], w: np.ndarray, n: int) -> np.ndarray:
    """`w` after `n` updates, each along the gradient ``grads[k]`` (the last repeats)."""
    params, state = [w.copy()], opt.init([w])
    for k in range(n):
        params, state = opt.update([grads[min(k, len(grads) - 1)]], state, params)
    return params[0]


def test_a_schedule_sets_the_rate_of_each_step():
    """SGD with a piecewise-constant lr steps 0.1 then 0.01 along a unit gradient."""
    lr = dg.schedule("piecewise_constant", boundaries=[2], values=[0.1, 0.01])
    opt = dg.optimizer("sgd", lr=lr)
    w = np.zeros(1)
    path = [steps(opt, [np.ones(1)], w, n)[0] for n in range(1, 5)]
    np.testing.assert_allclose(path, [-0.1, -0.2, -0.21, -0.22])


def test_a_schedule_config_dict_is_accepted_and_kept():
    """lr given as a config dict builds the schedule, and the optimizer's config keeps it."""
    config = {"type": "cosine_decay", "initial": 0.1, "decay_steps": 10, "alpha": 0.0}
    opt = dg.optimizer("adam", lr=config)
    assert isinstance(opt.lr, dg.Schedule)
    assert opt.get_config()["lr"] == config
    model = dg.Model([{"type": "dense", "units": 1}], "mse", {"type": "adam", "lr": config})
    assert model.get_config()["optimizer"]["lr"] == config


@pytest.mark.parametrize(("lr", "word"), [
    (-0.1, "positive"), ("fast", "schedule"), ({"initial": 0.1}, "'type'"),
    ({"type": "cosine_decy", "initial": 0.1, "decay_steps": 5}, "Did you mean 'cosine_decay'"),
    ({"type": "cosine_decay", "initial": 0.1}, "decay_steps"),
])
def test_a_bad_learning_rate_is_a_config_error(lr, word):
    """A non-positive rate, a string, or a bad schedule config is a ConfigError saying why."""
    with pytest.raises(dg.ConfigError, match=word):
        dg.Model([{"type": "dense", "units": 1}], "mse", {"type": "sgd", "lr": lr})


def test_piecewise_constant_needs_one_value_more_than_boundaries():
    """Two boundaries with two values is a ConfigError counting what is needed."""
    with pytest.raises(dg.ConfigError, match="need 3 values"):
        dg.schedule("piecewise_constant", boundaries=[5, 10], values=[0.1, 0.01])


def test_sgd_weight_decay_shrinks_weights_with_a_zero_gradient():
    """SGD's weight_decay adds wd * w to the gradient: w <- w (1 - lr wd) per step."""
    opt = dg.optimizer("sgd", lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(steps(opt, [np.zeros(2)], np.array([1.0, -2.0]), 3),
                               np.array([1.0, -2.0]) * 0.95**3)


def test_adamw_decay_is_decoupled_from_adams_scaling():
    """With a zero gradient AdamW shrinks w by lr * wd * w per step; Adam leaves it."""
    w = np.array([1.0, -2.0])
    adamw = dg.optimizer("adamw", lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(steps(adamw, [np.zeros(2)], w, 2), w * 0.95**2)
    np.testing.assert_array_equal(steps(dg.optimizer("adam", lr=0.1), [np.zeros(2)], w, 2), w)


def test_adamw_without_decay_is_adam():
    """AdamW with weight_decay 0 takes Adam's steps exactly."""
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=3) for _ in range(5)]
    w = rng.normal(size=3)
    np.testing.assert_array_equal(
        steps(dg.optimizer("adamw", lr=0.1, weight_decay=0.0), grads, w, 5),
        steps(dg.optimizer("adam", lr=0.1), grads, w, 5))


def test_rmsprop_and_adagrad_take_their_first_step():
    """RMSprop's first step is lr g / (sqrt((1 - rho) g^2) + eps); Adagrad's
    lr g / (sqrt(s0 + g^2) + eps)."""
    g, w = np.array([2.0, -1.0]), np.zeros(2)
    rms = dg.optimizer("rmsprop", lr=0.1, rho=0.9, eps=1e-7)
    np.testing.assert_allclose(steps(rms, [g], w, 1), -0.1 * g / (np.sqrt(0.1 * g * g) + 1e-7))
    ada = dg.optimizer("adagrad", lr=0.1, initial_accumulator=0.1, eps=1e-7)
    np.testing.assert_allclose(steps(ada, [g], w, 1), -0.1 * g / (np.sqrt(0.1 + g * g) + 1e-7))


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_clipnorm_scales_the_gradient_to_its_global_norm(name):
    """A gradient of global norm 50 with clipnorm 1 steps as the gradient scaled to norm 1;
    one within the norm is left alone."""
    g = np.array([30.0, 40.0])
    clipped = steps(dg.optimizer(name, lr=0.1, clipnorm=1.0), [g], np.zeros(2), 2)
    np.testing.assert_allclose(clipped, steps(dg.optimizer(name, lr=0.1), [g / 50], np.zeros(2),
                                              2), rtol=1e-12)
    small = np.array([0.3, 0.4])
    np.testing.assert_array_equal(
        steps(dg.optimizer(name, lr=0.1, clipnorm=1.0), [small], np.zeros(2), 2),
        steps(dg.optimizer(name, lr=0.1), [small], np.zeros(2), 2))


def test_clipnorm_must_be_positive():
    """clipnorm 0 is a ConfigError."""
    with pytest.raises(dg.ConfigError, match="clipnorm"):
        dg.optimizer("adam", clipnorm=0)
