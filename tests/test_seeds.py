"""Unit seeds: the affine rule's scatter path gives the same numbers as the dense products."""

from __future__ import annotations

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import _seeds


def _model(units: list[int], activation: str, seed: int, budget: int) -> dg.Model:
    layers = [{"type": "dense", "units": u, "activation": activation} for u in units[:-1]]
    layers.append({"type": "dense", "units": units[-1]})
    return dg.Model(layers, "mse", "sgd", seed=seed, input_shape=[3], memory_budget=budget)


@pytest.mark.parametrize("budget", [1 << 30, 20_000, 3_000])
@pytest.mark.parametrize("units", [[4, 2], [5, 3, 1], [1], [20, 20, 1]])
def test_scattered_unit_seeds_match_the_dense_products(monkeypatch, units, budget):
    """Scattering unit seeds gives Model.gradient the dense products' numbers to 1e-12, whole
    or in chunks that cut through a weight's block of directions."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(17, 3)), rng.normal(size=(17, units[-1]))
    model = _model(units, "tanh", 0, budget)
    scattered = model.gradient(x, y)
    monkeypatch.setattr(_seeds, "offset", lambda t: None)  # every tangent looks ordinary
    dense = model.gradient(x, y)
    for a, b in zip(dense, scattered):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_scattered_gradient_matches_finite_differences(monkeypatch):
    """The scattered gradient agrees with central finite differences of the loss, with
    several units per layer and chunks smaller than a weight."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(11, 3)), rng.normal(size=(11, 2))
    model = _model([3, 2], "sigmoid", 3, 5_000)
    grads = model.gradient(x, y)
    weights = model.get_weights()
    eps = 1e-6
    for i, w in enumerate(weights):
        for idx in np.ndindex(w.shape):
            bumped = [v.copy() for v in weights]
            bumped[i][idx] += eps
            model.set_weights(bumped)
            up = model.evaluate(x, y)
            bumped[i][idx] -= 2 * eps
            model.set_weights(bumped)
            down = model.evaluate(x, y)
            assert abs((up - down) / (2 * eps) - grads[i][idx]) < 1e-7
    model.set_weights(weights)
