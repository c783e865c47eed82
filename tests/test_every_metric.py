"""Registry-driven checks of every registered metric, built-in or from an installed plugin.

Each metric is scored on a small batch (against NumPy written out by hand, where the spec has a
reference), rebuilt from its config, reported by a model's fit and evaluate, and saved and
loaded with that model. A first-party metric without a spec in SPECS fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from registered_parts import (
    METRIC,
    Part,
    Sampler,
    check_config_round_trip,
    inputs,
    missing_specs,
    normal,
    params,
    spec_for,
    stale_specs,
)


def labels(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """0 and 1, both present."""
    y = rng.integers(0, 2, shape).astype(np.float64)
    y[0], y[1] = 0.0, 1.0
    return y


def probabilities(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.0, 1.0, shape)


@attrs.frozen
class MetricSpec:
    """How to check one metric.

    configs: between them they set every option to a value other than its default.
    targets, predictions: draw what the metric scores, of shape (N, outputs).
    outputs: the model's outputs per sample; loss: the model's loss.
    reference: the metric written out in NumPy, ``(config, y_true, y_pred) -> float``.
    """

    configs: tuple[dict[str, Any], ...] = ({},)
    targets: Sampler = normal
    predictions: Sampler = normal
    outputs: int = 1
    loss: Any = "mse"
    reference: Callable[[dict[str, Any], np.ndarray, np.ndarray], float] | None = None


def auc(config: dict[str, Any], y: np.ndarray, p: np.ndarray) -> float:
    pos, neg = p[y[:, 0] == 1, 0], p[y[:, 0] == 0, 0]
    wins = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return float(wins.mean())


SPECS: dict[str, MetricSpec] = {
    "builtin/accuracy": MetricSpec(
        targets=labels, predictions=probabilities, loss="logloss",
        reference=lambda c, y, p: float(np.mean((p >= 0.5) == (y == 1)))),
    "builtin/binary_accuracy": MetricSpec(
        configs=({}, {"threshold": 0.3}), targets=labels, predictions=probabilities,
        loss="logloss",
        reference=lambda c, y, p: float(np.mean((p >= c.get("threshold", 0.5)) == (y == 1)))),
    "builtin/mae": MetricSpec(reference=lambda c, y, p: float(np.mean(np.abs(p - y)))),
    "builtin/mse": MetricSpec(reference=lambda c, y, p: float(np.mean((p - y) ** 2))),
    "builtin/auc": MetricSpec(targets=labels, predictions=probabilities, loss="logloss",
                              reference=auc),
}

DEFAULT = MetricSpec()

WHERE = "tests/test_every_metric.py SPECS"


def spec(part: Part) -> MetricSpec:
    return spec_for(part, SPECS, DEFAULT, WHERE)


def problem(s: MetricSpec) -> tuple[np.ndarray, np.ndarray]:
    return inputs((3,), rows=16), s.targets(np.random.default_rng(2), (16, s.outputs))


def model(part: Part, s: MetricSpec, config: dict[str, Any]) -> dg.Model:
    activation = "sigmoid" if s.loss == "logloss" else None
    return dg.Model([{"type": "dense", "units": s.outputs, "activation": activation}], s.loss,
                    {"type": "adam", "lr": 0.05}, seed=0, input_shape=(3,),
                    metrics=[part.config(**config)])


def test_every_first_party_metric_has_a_spec() -> None:
    """A metric of dualgrad or of a plugin in this repository is registered only with a spec."""
    assert not missing_specs(METRIC, SPECS), f"add specs to {WHERE}"


def test_every_metric_spec_names_a_registered_metric() -> None:
    """No spec outlives its metric."""
    assert not stale_specs(METRIC, SPECS)


def test_the_built_in_metrics_are_checked() -> None:
    """The public listing that drives these tests lists the built-in metrics."""
    assert {"builtin/accuracy", "builtin/binary_accuracy", "builtin/mae", "builtin/mse",
            "builtin/auc"} <= {p.id for p in params(METRIC)}


@pytest.mark.parametrize("part", params(METRIC))
def test_metric_value_on_a_small_batch(part: Part) -> None:
    """On arrays the metric is a float, equal to its NumPy reference."""
    s = spec(part)
    rng = np.random.default_rng(0)
    y, p = s.targets(rng, (9, s.outputs)), s.predictions(rng, (9, s.outputs))
    for config in s.configs:
        value = part.build(**config)(y, p)
        assert type(value) is float, f"{part.qualified}: {type(value).__name__}"
        if s.reference is not None:
            np.testing.assert_allclose(value, s.reference(config, y, p), rtol=1e-12,
                                       err_msg=f"{part.qualified} {config}")


@pytest.mark.parametrize("part", params(METRIC))
def test_metric_declares_its_direction_and_what_it_reads(part: Part) -> None:
    """mode is "min" or "max" (EarlyStopping reads it), reads "outputs" or "probabilities"."""
    metric = part.build()
    assert metric.mode in ("min", "max")
    assert metric.reads in ("outputs", "probabilities")


@pytest.mark.parametrize("part", params(METRIC))
def test_metric_config_round_trips(part: Part) -> None:
    """get_config then from_config rebuilds a metric of the same config."""
    for config in spec(part).configs:
        check_config_round_trip(part, config)


@pytest.mark.parametrize("part", params(METRIC))
def test_metric_is_reported_by_fit_and_evaluate(part: Part) -> None:
    """fit records the metric and its val_ twin each epoch; evaluate(return_dict) gives it."""
    s = spec(part)
    x, y = problem(s)
    for config in s.configs:
        m = model(part, s, config)
        name = part.build(**config).name
        history = m.fit(x, y, epochs=3, validation_data=(x, y), verbose=False)
        assert len(history.history[name]) == len(history.history[f"val_{name}"]) == 3
        scores = m.evaluate(x, y, return_dict=True)
        assert set(scores) == {"loss", name}
        assert scores[name] == history.history[name][-1] == history.history[f"val_{name}"][-1]


@pytest.mark.parametrize("part", params(METRIC))
def test_metric_survives_save_and_load(part: Part, tmp_path: Any) -> None:
    """A model's metrics are kept in its file and score the same after loading."""
    s = spec(part)
    x, y = problem(s)
    for i, config in enumerate(s.configs):
        m = model(part, s, config)
        m.fit(x, y, epochs=2, verbose=False)
        m.save(tmp_path / f"m{i}.npz")
        loaded = dg.Model.load(tmp_path / f"m{i}.npz")
        assert loaded.get_config() == m.get_config()
        assert loaded.evaluate(x, y, return_dict=True) == m.evaluate(x, y, return_dict=True)
