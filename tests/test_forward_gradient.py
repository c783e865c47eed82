"""The forward-gradient optimizer: an unbiased estimate of the exact gradient, which trains.

(A primitive's jvp kernel against its own rules: see test_specialisations.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import dualgrad as dg


def test_forward_gradient_is_an_unbiased_estimate():
    """Averaged over many random directions, fgd's (grad . v) v approaches the exact gradient,
    within the standard error of the mean."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    model = dg.Model([{"type": "dense", "units": 3, "activation": "tanh"},
                      {"type": "dense", "units": 1}], "mse", "fgd", seed=0, input_shape=[2])
    exact = np.concatenate([g.ravel() for g in model.gradient(x, y)])
    xs, ys = model._data(x, y)
    draws = np.array([model._gradients.forward_gradient(
        model._weights, xs, ys, model._rng)[1] for _ in range(20000)])
    mean, error = draws.mean(0), draws.std(0) / np.sqrt(len(draws))
    assert np.all(np.abs(mean - exact) < 5 * error + 1e-12)
    # and it is an estimate, not the gradient itself
    assert not np.allclose(draws[0], exact)


def test_fgd_trains():
    """fgd lowers the loss of a small regression over a few hundred steps."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 2))
    y = x @ np.array([[1.5], [-2.0]]) + 0.5
    model = dg.Model([{"type": "dense", "units": 1}], "mse", {"type": "fgd", "lr": 0.02},
                     seed=0)
    history = model.fit(x, y, epochs=400, verbose=False)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]


def test_mean_squared_error_of_float32_sums_pairwise():
    """float32 residuals are summed pairwise (a dot product would lose digits at this size)."""
    d = np.random.default_rng(3).normal(size=2_000_000).astype(np.float32)
    exact = float(np.mean(d.astype(np.float64) ** 2))
    got = float(dg.primitives.mean_squared_error(d, np.zeros_like(d)))
    assert abs(got - exact) / exact < 1e-6


def test_affine_of_stacked_inputs_names_their_shapes():
    """A mismatched 3-D input is reported with the shapes the user passed."""
    with pytest.raises(dg.ShapeError, match=r"\(2, 2, 3\)"):
        dg.primitives.affine(np.ones((2, 2, 3)), np.ones((4, 1)), np.ones(1))
