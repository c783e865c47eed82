"""Registry-driven checks of every registered layer, built-in or from an installed plugin.

Each layer is put in a `Model` on a tiny regression problem whose targets a teacher (the same
model, other weights) predicts, so any layer can reach them: it trains to a lower loss, its
gradient agrees with finite differences of the loss, its config rebuilds the same model, and
the model survives save and load. A first-party layer without a spec in SPECS fails the suite.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from registered_parts import (
    LAYER,
    SUITES,
    Part,
    assert_same_model,
    check_config_round_trip,
    check_gradient,
    check_save_and_load,
    inputs,
    missing_specs,
    params,
    registered_kinds,
    spec_for,
    stale_specs,
)


@attrs.frozen
class LayerSpec:
    """How to check one layer.

    configs: each a case; between them they set every option to a value other than its
        default, so that a config that forgets an option rebuilds a different layer.
    input_shape: a per-sample input shape the layer takes.
    before, after: layer configs around it, for a layer that needs another's output (or has
        no weights of its own to train).
    """

    configs: tuple[dict[str, Any], ...]
    input_shape: tuple[int, ...] = (3,)
    before: tuple[dict[str, Any], ...] = ()
    after: tuple[dict[str, Any], ...] = ()


SPECS: dict[str, LayerSpec] = {
    "builtin/dense": LayerSpec(configs=(
        {"units": 2, "activation": "tanh"},
        {"units": 1, "activation": "sigmoid", "use_bias": False, "initializer": "glorot_normal"},
        {"units": 3, "activation": "softmax", "initializer": "he_normal"},
        {"units": 2, "activation": "relu", "initializer": "normal"},
    )),
    # no weights of its own: a dense layer before it trains; at inference it is the identity
    "builtin/normalization": LayerSpec(configs=(
        {"mean": [0.0, 1.0, 0.0], "variance": [1.0, 2.0, 3.0]},  # as fit adapts it
        {"mean": [0.5, -1.0, 2.0], "variance": [4.0, 0.25, 1.0], "epsilon": 0.001},
    ), after=({"type": "dense", "units": 2},)),
    "builtin/dropout": LayerSpec(configs=({"rate": 0.2},), before=({"type": "dense",
                                                                    "units": 4},),
                                 after=({"type": "dense", "units": 2},)),
}

# a layer of a third-party plugin with no spec: its default config on vectors
DEFAULT = LayerSpec(configs=({},))

WHERE = "tests/test_every_layer.py SPECS"


def spec(part: Part) -> LayerSpec:
    return spec_for(part, SPECS, DEFAULT, WHERE)


def model(part: Part, s: LayerSpec, config: dict[str, Any], seed: int = 0,
          optimizer: Any = None) -> dg.Model:
    layers = [*s.before, part.config(**config), *s.after]
    return dg.Model(layers, "mse", optimizer or {"type": "adam", "lr": 0.05}, seed=seed,
                    input_shape=s.input_shape)


def problem(part: Part, s: LayerSpec, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Inputs, and targets that the same model with other weights predicts."""
    x = inputs(s.input_shape)
    return x, model(part, s, config, seed=99).predict(x)


def cases(part: Part) -> list[tuple[LayerSpec, dict[str, Any]]]:
    s = spec(part)
    return [(s, config) for config in s.configs]


# ---- the specs and the registry agree -----------------------------------------------------------


def test_every_first_party_layer_has_a_spec() -> None:
    """A layer of dualgrad or of a plugin in this repository is registered only with a spec."""
    assert not missing_specs(LAYER, SPECS), f"add specs to {WHERE}"


def test_every_layer_spec_names_a_registered_layer() -> None:
    """No spec outlives its layer: a renamed layer cannot hide behind a stale entry."""
    assert not stale_specs(LAYER, SPECS)


def test_every_registered_kind_has_a_suite() -> None:
    """A new kind of part (metrics, schedules) comes with a suite that checks each one."""
    unchecked = registered_kinds() - set(SUITES)
    assert not unchecked, f"no registry-driven suite checks the kinds {sorted(unchecked)}"


def test_the_built_in_layers_are_checked() -> None:
    """The public listing that drives these tests lists the built-in dense layer."""
    assert "builtin/dense" in [p.id for p in params(LAYER)]


# ---- every layer --------------------------------------------------------------------------------


@pytest.mark.parametrize("part", params(LAYER))
def test_layer_trains_a_tiny_problem_to_a_lower_loss(part: Part) -> None:
    """A few full-batch steps of Adam lower the loss of a model holding the layer."""
    for s, config in cases(part):
        x, y = problem(part, s, config)
        m = model(part, s, config)
        before = m.evaluate(x, y)
        history = m.fit(x, y, epochs=15, verbose=False)
        after = m.evaluate(x, y)
        assert np.isfinite(history.history["loss"]).all(), config
        assert after < 0.9 * before, f"{part.qualified} {config}: loss {before} -> {after}"


@pytest.mark.parametrize("part", params(LAYER))
def test_layer_gradient_matches_finite_differences(part: Part) -> None:
    """Model.gradient agrees with central differences of Model.evaluate on a few weights."""
    for s, config in cases(part):
        x, y = problem(part, s, config)
        m = model(part, s, config)
        m.fit(x, y, epochs=2, verbose=False)  # off the initial point (zero biases, say)
        check_gradient(m, x, y)


@pytest.mark.parametrize("part", params(LAYER))
def test_layer_uses_every_weight_it_creates(part: Part) -> None:
    """Each weight array the layer creates moves the loss: the layer declares none it ignores."""
    for s, config in cases(part):
        x, y = problem(part, s, config)
        m = model(part, s, config)
        for i, g in enumerate(m.gradient(x, y)):
            assert np.any(g != 0), f"{part.qualified} {config}: weight {i} has no gradient"


@pytest.mark.parametrize("part", params(LAYER))
def test_layer_config_round_trips(part: Part) -> None:
    """get_config then from_config rebuilds the layer, and with the same seed the same model."""
    for s, config in cases(part):
        again = check_config_round_trip(part, config)
        x = inputs(s.input_shape)
        original = model(part, s, config, seed=5)
        rebuilt = dg.Model([*s.before, again, *s.after], "mse", {"type": "adam", "lr": 0.05},
                           seed=5, input_shape=s.input_shape)
        assert_same_model(original, rebuilt, x, f"{part.qualified} {config} rebuilt")
        assert_same_model(original, dg.Model.from_config(original.get_config()), x,
                          f"{part.qualified} {config} from the model's config")


@pytest.mark.parametrize("part", params(LAYER))
def test_layer_survives_save_and_load(part: Part, tmp_path: Any) -> None:
    """A trained model holding the layer loads from its file with identical predictions."""
    for i, (s, config) in enumerate(cases(part)):
        x, y = problem(part, s, config)
        m = model(part, s, config)
        m.fit(x, y, epochs=3, verbose=False)
        check_save_and_load(m, x, y, tmp_path / f"model{i}.npz")
