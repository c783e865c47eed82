"""Registry-driven checks of every registered optimizer, built-in or from an installed plugin.

Each optimizer's ``init``/``update`` pair is run on a quadratic over immutable state (an update
changes none of its arguments, and gives the same answer twice), its config rebuilds an
optimizer that trains identically, it trains a tiny model to a lower loss (an optimizer on
gradient estimates gets more steps), and a model using it survives save and load. A first-party
optimizer without a spec in SPECS fails the suite.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from registered_parts import (
    OPTIMIZER,
    Part,
    assert_same_model,
    check_config_round_trip,
    check_save_and_load,
    inputs,
    leaves,
    missing_specs,
    params,
    same_tree,
    spec_for,
    stale_specs,
)


@attrs.frozen
class OptimizerSpec:
    """How to check one optimizer.

    configs: each a case; between them they set every option to a value other than its
        default, so that a config that forgets an option trains differently.
    steps: updates on the quadratic, from `init`.
    epochs: full-batch epochs of `Model.fit` on the tiny regression.
    carries_state: whether a config's updates depend on the state earlier ones returned
        (momentum, moving averages), or None to leave that unchecked.
    """

    configs: tuple[dict[str, Any], ...]
    steps: int = 20
    epochs: int = 20
    carries_state: Callable[[dict[str, Any]], bool] | None = None


def with_momentum(config: dict[str, Any]) -> bool:
    """Momentum carries a velocity; a scheduled learning rate the step count."""
    return bool(config.get("momentum", 0.0)) or isinstance(config.get("lr"), dict)


DECAY = {"type": "exponential_decay", "initial": 0.1, "decay_rate": 0.9, "decay_steps": 2,
         "staircase": True}


SPECS: dict[str, OptimizerSpec] = {
    "builtin/sgd": OptimizerSpec(configs=(
        {"lr": 0.1},
        {"lr": 0.05, "momentum": 0.8},
        {"lr": 0.05, "momentum": 0.5, "nesterov": True},
        {"lr": 0.05, "weight_decay": 0.01, "clipnorm": 2.0},
        {"lr": DECAY},
    ), carries_state=with_momentum),
    "builtin/adam": OptimizerSpec(configs=(
        {"lr": 0.1},
        {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "clipnorm": 1.0},
        {"lr": {"type": "cosine_decay", "initial": 0.1, "decay_steps": 30, "alpha": 0.1}},
    ), carries_state=lambda config: True),
    "builtin/adamw": OptimizerSpec(configs=(
        {"lr": 0.1},
        {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.001,
         "clipnorm": 1.0},
    ), carries_state=lambda config: True),
    "builtin/rmsprop": OptimizerSpec(configs=(
        {"lr": 0.05},
        {"lr": 0.04, "rho": 0.8, "eps": 1e-6, "clipnorm": 3.0},
    ), carries_state=lambda config: True),
    "builtin/adagrad": OptimizerSpec(configs=(
        {"lr": 0.5},
        {"lr": 0.3, "initial_accumulator": 0.5, "eps": 1e-6, "clipnorm": 3.0},
    ), carries_state=lambda config: True),
    # a forward gradient is an unbiased estimate from one random direction: more steps
    "builtin/fgd": OptimizerSpec(configs=(
        {"lr": 0.02},
        {"lr": 0.01, "momentum": 0.5, "nesterov": True},
    ), epochs=60, carries_state=with_momentum),
    # one update runs a whole minimisation; the state only counts what the runs did
    "scipy/lbfgs": OptimizerSpec(configs=(
        {"maxiter": 20},
        {"maxiter": 8, "tol": 1e-6, "maxcor": 3},
    ), steps=1, epochs=1, carries_state=lambda config: False),
}

# an optimizer of a third-party plugin with no spec: its default config
DEFAULT = OptimizerSpec(configs=({},), steps=50, epochs=100)

WHERE = "tests/test_every_optimizer.py SPECS"


def spec(part: Part) -> OptimizerSpec:
    return spec_for(part, SPECS, DEFAULT, WHERE)


def cases(part: Part) -> list[tuple[OptimizerSpec, dict[str, Any]]]:
    s = spec(part)
    return [(s, config) for config in s.configs]


# ---- a quadratic, in the form a Model hands the optimizer ---------------------------------------

# six weights: a (2, 2) kernel and a (2,) bias
_RNG = np.random.default_rng(3)
CURVATURE = _RNG.uniform(0.5, 2.0, 6)
CENTRE = _RNG.normal(size=6)


def split(flat: np.ndarray, opt: dg.Optimizer) -> list[np.ndarray]:
    """One flat vector for a flat-weights optimizer, else one array per weight."""
    if opt.flat_weights:
        return [flat.copy()]
    return [flat[:4].reshape(2, 2).copy(), flat[4:].copy()]


def joined(arrays: Sequence[Any]) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays])


def quadratic(flat: np.ndarray) -> float:
    return float(0.5 * np.sum(CURVATURE * (flat - CENTRE) ** 2))


def extra(opt: dg.Optimizer) -> dict[str, Any]:
    """What `Model.fit` passes an optimizer that evaluates the loss itself."""
    if not opt.needs_loss:
        return {}

    def loss_and_grad(ws: Sequence[np.ndarray]) -> tuple[float, list[np.ndarray]]:
        flat = joined(ws)
        return quadratic(flat), gradient(flat, opt)

    return {"loss_and_grad": loss_and_grad}


def gradient(flat: np.ndarray, opt: dg.Optimizer) -> list[np.ndarray]:
    return split(CURVATURE * (flat - CENTRE), opt)


# ---- a tiny regression --------------------------------------------------------------------------


def problem() -> tuple[np.ndarray, np.ndarray]:
    x = inputs((3,), rows=32)
    return x, x @ np.array([1.5, -2.0, 0.5]) + 0.3


def model(config: dict[str, Any], seed: int = 0) -> dg.Model:
    return dg.Model([{"type": "dense", "units": 1}], "mse", config, seed=seed, input_shape=(3,))


# ---- the specs and the registry agree -----------------------------------------------------------


def test_every_first_party_optimizer_has_a_spec() -> None:
    """An optimizer of dualgrad or of a plugin in this repository is registered with a spec."""
    assert not missing_specs(OPTIMIZER, SPECS), f"add specs to {WHERE}"


def test_every_optimizer_spec_names_a_registered_optimizer() -> None:
    """No spec outlives its optimizer: a renamed optimizer cannot hide behind a stale entry."""
    assert not stale_specs(OPTIMIZER, SPECS)


def test_the_built_in_optimizers_are_checked() -> None:
    """The public listing that drives these tests lists the built-in optimizers."""
    assert {"builtin/sgd", "builtin/adam", "builtin/fgd"} <= {p.id for p in params(OPTIMIZER)}


# ---- every optimizer ----------------------------------------------------------------------------


@pytest.mark.parametrize("part", params(OPTIMIZER))
def test_optimizer_update_leaves_its_arguments_and_state_unchanged(part: Part) -> None:
    """update returns new weights and state, mutates neither the old state, the weights nor
    the gradient, keeps no reference to the weights, and gives the same answer twice."""
    for s, config in cases(part):
        opt = part.build(**config)
        what = f"{part.qualified} {config}"
        ws = split(np.zeros(6), opt)
        state = opt.init(ws)
        for _ in range(min(s.steps, 3)):
            grads = gradient(joined(ws), opt)
            kept = copy.deepcopy((ws, grads, state))
            new_ws, new_state = opt.update(grads, state, ws, **extra(opt))
            assert same_tree((ws, grads, state), kept), f"{what}: update changed its arguments"
            again_ws, again_state = opt.update(grads, state, ws, **extra(opt))
            assert same_tree(joined(new_ws), joined(again_ws)), f"{what}: not a pure function"
            assert same_tree(new_state, again_state), f"{what}: not a pure function"
            assert [np.shape(w) for w in new_ws] == [np.shape(w) for w in ws], what
            for leaf in leaves(new_state):
                if isinstance(leaf, np.ndarray):
                    assert not any(np.shares_memory(leaf, w) for w in (*ws, *new_ws)), \
                        f"{what}: the state holds the weights"
            ws, state = [np.asarray(w, dtype=np.float64) for w in new_ws], new_state


@pytest.mark.parametrize("part", params(OPTIMIZER))
def test_optimizer_update_reads_the_state_it_returned(part: Part) -> None:
    """Steps that thread the returned state differ from steps each from init's state exactly
    when the optimizer carries state (momentum, moving averages)."""
    for s, config in cases(part):
        if s.carries_state is None:
            pytest.skip(f"the spec of {part.qualified} does not say whether it carries state")
        opt = part.build(**config)
        threaded, fresh = split(np.zeros(6), opt), split(np.zeros(6), opt)
        state = opt.init(threaded)
        for _ in range(3):
            threaded, state = opt.update(gradient(joined(threaded), opt), state, threaded,
                                         **extra(opt))
            fresh, _ = opt.update(gradient(joined(fresh), opt), opt.init(fresh), fresh,
                                  **extra(opt))
        differ = not np.array_equal(joined(threaded), joined(fresh))
        assert differ == s.carries_state(config), (
            f"{part.qualified} {config}: threading the state "
            f"{'changed' if differ else 'did not change'} the steps")


@pytest.mark.parametrize("part", params(OPTIMIZER))
def test_optimizer_init_and_update_descend_a_quadratic(part: Part) -> None:
    """Updates from init along the exact gradient lower a convex quadratic."""
    for s, config in cases(part):
        opt = part.build(**config)
        ws = split(np.zeros(6), opt)
        state = opt.init(ws)
        start = quadratic(joined(ws))
        for _ in range(s.steps):
            ws, state = opt.update(gradient(joined(ws), opt), state, ws, **extra(opt))
        end = quadratic(joined(ws))
        assert end < 0.5 * start, f"{part.qualified} {config}: {start} -> {end}"


@pytest.mark.parametrize("part", params(OPTIMIZER))
def test_optimizer_config_round_trips(part: Part) -> None:
    """get_config then from_config rebuilds an optimizer that trains a model identically."""
    x, y = problem()
    for s, config in cases(part):
        again = check_config_round_trip(part, config)
        original, rebuilt = model(part.config(**config), seed=4), model(again, seed=4)
        original.fit(x, y, epochs=min(s.epochs, 5), verbose=False)
        rebuilt.fit(x, y, epochs=min(s.epochs, 5), verbose=False)
        assert_same_model(original, rebuilt, x, f"{part.qualified} {config} rebuilt")


@pytest.mark.parametrize("part", params(OPTIMIZER))
def test_optimizer_trains_a_tiny_model_to_a_lower_loss(part: Part) -> None:
    """Model.fit with the optimizer at least halves the loss of a tiny linear regression."""
    x, y = problem()
    for s, config in cases(part):
        m = model(part.config(**config))
        before = m.evaluate(x, y)
        m.fit(x, y, epochs=s.epochs, verbose=False)
        after = m.evaluate(x, y)
        assert after < 0.5 * before, f"{part.qualified} {config}: {before} -> {after}"


@pytest.mark.parametrize("part", params(OPTIMIZER))
def test_optimizer_survives_save_and_load(part: Part, tmp_path: Any) -> None:
    """A model trained with the optimizer loads from its file with the same optimizer config
    and identical predictions."""
    x, y = problem()
    for i, (s, config) in enumerate(cases(part)):
        m = model(part.config(**config))
        m.fit(x, y, epochs=min(s.epochs, 3), verbose=False)
        check_save_and_load(m, x, y, tmp_path / f"model{i}.npz")
