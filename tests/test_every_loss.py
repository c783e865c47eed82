"""Registry-driven checks of every registered loss, built-in or from an installed plugin.

Each loss is evaluated on a small batch (against NumPy written out by hand, where the spec has
a reference), differentiated against central finite differences, rebuilt from its config, used
to train a tiny model to a lower loss, and saved and loaded with that model. A first-party loss
without a spec in SPECS fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd
from registered_parts import (
    LOSS,
    Part,
    Sampler,
    check_config_round_trip,
    check_save_and_load,
    inputs,
    missing_specs,
    normal,
    params,
    spec_for,
    stale_specs,
)

# the batch the loss is evaluated and differentiated on: 5 samples of 2 outputs
BATCH = (5, 2)


def binary(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 2, shape).astype(np.float64)


def probabilities(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Clear of 0 and 1, where log-loss clips the value but not the slope."""
    return rng.uniform(0.05, 0.95, shape)


@attrs.frozen
class LossCase:
    """One configuration of a loss, the predictions it reads, and a model head making them."""

    config: dict[str, Any]
    predictions: Sampler = normal
    head: dict[str, Any] = attrs.field(factory=lambda: {"type": "dense", "units": 2})


@attrs.frozen
class LossSpec:
    """How to check one loss.

    cases: between them they set every option to a value other than its default.
    targets: draws targets the loss accepts, of a given shape.
    reference: the loss's value written out in NumPy, ``(config, y_true, y_pred) -> float``,
        or None to check only that the value is a finite scalar.
    """

    cases: tuple[LossCase, ...]
    targets: Sampler = normal
    reference: Callable[[dict[str, Any], np.ndarray, np.ndarray], float] | None = None


def mse(config: dict[str, Any], y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def logloss(config: dict[str, Any], y: np.ndarray, p: np.ndarray) -> float:
    if config.get("from_logits", False):
        return float(np.mean(np.logaddexp(0.0, p) - y * p))
    eps = config.get("eps", 1e-7)
    q = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def one_hot(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]


def softmax_cross_entropy(config: dict[str, Any], y: np.ndarray, p: np.ndarray) -> float:
    if config.get("from_logits", True):
        log_p = p - np.log(np.sum(np.exp(p), axis=-1, keepdims=True))
    else:
        log_p = np.log(np.clip(p, config.get("eps", 1e-7), 1.0))
    return float(-np.mean(np.sum(y * log_p, axis=-1)))


SOFTMAX_HEAD = {"type": "dense", "units": 2, "activation": "softmax"}
SIGMOID_HEAD = {"type": "dense", "units": 2, "activation": "sigmoid"}

SPECS: dict[str, LossSpec] = {
    "builtin/mse": LossSpec(cases=(LossCase({}),), reference=mse),
    "builtin/logloss": LossSpec(
        cases=(
            LossCase({}, probabilities, SIGMOID_HEAD),
            LossCase({"eps": 0.01}, probabilities, SIGMOID_HEAD),
            LossCase({"from_logits": True}),
        ),
        targets=binary, reference=logloss),
    "builtin/softmax_cross_entropy": LossSpec(
        cases=(
            LossCase({}),
            LossCase({"from_logits": False}, probabilities, SOFTMAX_HEAD),
            LossCase({"from_logits": False, "eps": 0.01}, probabilities, SOFTMAX_HEAD),
        ),
        targets=one_hot, reference=softmax_cross_entropy),
}

# a loss of a third-party plugin with no spec: its default config on real targets
DEFAULT = LossSpec(cases=(LossCase({}),))

WHERE = "tests/test_every_loss.py SPECS"


def spec(part: Part) -> LossSpec:
    return spec_for(part, SPECS, DEFAULT, WHERE)


def batch(s: LossSpec, case: LossCase, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return s.targets(rng, BATCH), case.predictions(rng, BATCH)


def model(part: Part, case: LossCase, seed: int = 0) -> dg.Model:
    return dg.Model([case.head], part.config(**case.config), {"type": "adam", "lr": 0.05},
                    seed=seed, input_shape=(3,))


def problem(s: LossSpec) -> tuple[np.ndarray, np.ndarray]:
    x = inputs((3,), rows=16)
    return x, s.targets(np.random.default_rng(2), (16, 2))


# ---- the specs and the registry agree -----------------------------------------------------------


def test_every_first_party_loss_has_a_spec() -> None:
    """A loss of dualgrad or of a plugin in this repository is registered only with a spec."""
    assert not missing_specs(LOSS, SPECS), f"add specs to {WHERE}"


def test_every_loss_spec_names_a_registered_loss() -> None:
    """No spec outlives its loss: a renamed loss cannot hide behind a stale entry."""
    assert not stale_specs(LOSS, SPECS)


def test_the_built_in_losses_are_checked() -> None:
    """The public listing that drives these tests lists the built-in losses."""
    assert {"builtin/mse", "builtin/logloss"} <= {p.id for p in params(LOSS)}


# ---- every loss ---------------------------------------------------------------------------------


@pytest.mark.parametrize("part", params(LOSS))
def test_loss_value_on_a_small_batch(part: Part) -> None:
    """On plain arrays the loss is a finite scalar, equal to its NumPy reference."""
    s = spec(part)
    for case in s.cases:
        y, p = batch(s, case)
        value = part.build(**case.config)(y, p)
        assert not isinstance(value, dg.Variable) and np.ndim(value) == 0, value
        assert np.isfinite(value), f"{part.qualified} {case.config}: {value}"
        if s.reference is not None:
            expected = s.reference(case.config, y, p)
            np.testing.assert_allclose(float(value), expected, rtol=1e-12, atol=0,
                                       err_msg=f"{part.qualified} {case.config}")


@pytest.mark.parametrize("part", params(LOSS))
def test_loss_gradient_matches_finite_differences(part: Part) -> None:
    """dualgrad.grad of the loss in its predictions agrees with central differences."""
    s = spec(part)
    for case in s.cases:
        y, p = batch(s, case)
        loss = part.build(**case.config)
        got = dg.grad(lambda pred, loss=loss, y=y: loss(y, pred))(p)
        expected = fd.jacobian(lambda pred, loss=loss, y=y: float(loss(y, pred)), [p], 0)
        assert np.shape(got) == p.shape
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9,
                                   err_msg=f"{part.qualified} {case.config}")


@pytest.mark.parametrize("part", params(LOSS))
def test_loss_config_round_trips(part: Part) -> None:
    """get_config then from_config rebuilds a loss of the same config and the same values."""
    s = spec(part)
    for case in s.cases:
        again = check_config_round_trip(part, case.config)
        y, p = batch(s, case)
        assert float(again(y, p)) == float(part.build(**case.config)(y, p))


@pytest.mark.parametrize("part", params(LOSS))
def test_loss_trains_a_tiny_model_to_a_lower_loss(part: Part) -> None:
    """A few full-batch steps of Adam on the loss lower it."""
    s = spec(part)
    x, y = problem(s)
    for case in s.cases:
        m = model(part, case)
        before = m.evaluate(x, y)
        m.fit(x, y, epochs=15, verbose=False)
        after = m.evaluate(x, y)
        assert after < 0.95 * before, f"{part.qualified} {case.config}: {before} -> {after}"


@pytest.mark.parametrize("part", params(LOSS))
def test_loss_survives_save_and_load(part: Part, tmp_path: Any) -> None:
    """A trained model on the loss loads from its file with the same loss and predictions."""
    s = spec(part)
    x, y = problem(s)
    for i, case in enumerate(s.cases):
        m = model(part, case)
        m.fit(x, y, epochs=3, verbose=False)
        check_save_and_load(m, x, y, tmp_path / f"model{i}.npz")
