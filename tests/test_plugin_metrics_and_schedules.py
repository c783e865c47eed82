"""A plugin adds metrics and schedules through their hooks, as it adds layers and losses:
a model reports its metric, an optimizer follows its schedule, and both are saved by name."""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

import dualgrad as dg
from test_registry import FakePlugins, plugin_module, plugins  # noqa: F401 - fixture


@attrs.define(frozen=True)
class MaxError(dg.Metric):
    """The largest absolute error."""

    name = "max_error"
    mode = "min"

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.max(np.abs(y_pred - y_true)))


@attrs.define(frozen=True)
class Halving(dg.Schedule):
    """lr halves every `every` steps."""

    name = "halving"
    initial: float = 0.1
    every: int = 10

    def __call__(self, step: int) -> float:
        return self.initial * 0.5 ** (step // self.every)


def test_a_plugins_metric_and_schedule_train_and_save(plugins: FakePlugins,  # noqa: F811
                                                      tmp_path: Any) -> None:
    """Registered by hooks, the metric is reported by fit and the schedule drives the
    optimizer; the model's file names both and loads."""
    plugins.add("extras", plugin_module(
        "fake_extras", dualgrad_register_metrics=lambda: [MaxError],
        dualgrad_register_schedules=lambda: [Halving]))
    plugins.reload()
    assert plugins.status("extras").registered == {"metric": ("max_error",),
                                                   "schedule": ("halving",)}
    x = np.linspace(-1, 1, 20)
    model = dg.Model([{"type": "dense", "units": 1}], "mse",
                     {"type": "sgd", "lr": {"type": "halving", "initial": 0.2, "every": 5}},
                     metrics=["max_error"], seed=0)
    history = model.fit(x, 3 * x - 2, epochs=20, verbose=False)
    assert history.history["max_error"][-1] < history.history["max_error"][0]
    assert model.get_config()["metrics"] == [{"type": "max_error"}]
    assert model.get_config()["optimizer"]["lr"]["type"] == "halving"
    model.save(tmp_path / "m.npz")
    loaded = dg.Model.load(tmp_path / "m.npz")
    assert math.isclose(loaded.evaluate(x, 3 * x - 2), model.evaluate(x, 3 * x - 2))
