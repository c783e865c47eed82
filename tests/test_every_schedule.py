"""Registry-driven checks of every registered learning-rate schedule, built-in or from a plugin.

Each schedule is evaluated at steps against NumPy written out by hand (where the spec has a
reference), rebuilt from its config, used as an optimizer's learning rate to train a tiny model,
and saved and loaded with that model. A first-party schedule without a spec fails the suite.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from registered_parts import (
    SCHEDULE,
    Part,
    check_config_round_trip,
    check_save_and_load,
    inputs,
    missing_specs,
    params,
    spec_for,
    stale_specs,
)

STEPS = (0, 1, 5, 10, 19, 20, 50)


@attrs.frozen
class ScheduleSpec:
    """configs: between them every option set to a value other than its default; the first
    is also the learning rate a tiny model trains with. reference: the rate at a step,
    ``(config, step) -> float``."""

    configs: tuple[dict[str, Any], ...]
    reference: Callable[[dict[str, Any], int], float] | None = None


def exponential(c: dict[str, Any], step: int) -> float:
    power = step / c["decay_steps"]
    return c["initial"] * c["decay_rate"] ** (math.floor(power) if c.get("staircase") else power)


def cosine(c: dict[str, Any], step: int) -> float:
    done = min(step, c["decay_steps"]) / c["decay_steps"]
    alpha = c.get("alpha", 0.0)
    return c["initial"] * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * done)) + alpha)


def warmup_cosine(c: dict[str, Any], step: int) -> float:
    start, end = c.get("initial", 0.0), c.get("end", 0.0)
    if step < c["warmup_steps"]:
        return start + (c["peak"] - start) * step / c["warmup_steps"]
    done = min(step - c["warmup_steps"], c["decay_steps"]) / c["decay_steps"]
    return end + (c["peak"] - end) * 0.5 * (1 + math.cos(math.pi * done))


def piecewise(c: dict[str, Any], step: int) -> float:
    return float(c["values"][int(np.searchsorted(c["boundaries"], step, side="right"))])


SPECS: dict[str, ScheduleSpec] = {
    "builtin/constant": ScheduleSpec(({"value": 0.05},), lambda c, step: c["value"]),
    "builtin/exponential_decay": ScheduleSpec((
        {"initial": 0.05, "decay_rate": 0.9, "decay_steps": 10},
        {"initial": 0.05, "decay_rate": 0.5, "decay_steps": 3, "staircase": True},
    ), exponential),
    "builtin/cosine_decay": ScheduleSpec((
        {"initial": 0.05, "decay_steps": 20},
        {"initial": 0.05, "decay_steps": 10, "alpha": 0.1},
    ), cosine),
    "builtin/warmup_cosine_decay": ScheduleSpec((
        {"peak": 0.05, "warmup_steps": 3, "decay_steps": 20},
        {"peak": 0.05, "warmup_steps": 5, "decay_steps": 10, "initial": 0.01, "end": 0.001},
    ), warmup_cosine),
    "builtin/piecewise_constant": ScheduleSpec((
        {"boundaries": [5, 20], "values": [0.05, 0.02, 0.01]},
    ), piecewise),
}

DEFAULT = ScheduleSpec(({},))

WHERE = "tests/test_every_schedule.py SPECS"


def spec(part: Part) -> ScheduleSpec:
    return spec_for(part, SPECS, DEFAULT, WHERE)


def model(part: Part, config: dict[str, Any]) -> dg.Model:
    return dg.Model([{"type": "dense", "units": 1}], "mse",
                    {"type": "sgd", "lr": part.config(**config)}, seed=0, input_shape=(3,))


def problem() -> tuple[np.ndarray, np.ndarray]:
    x = inputs((3,), rows=32)
    return x, x @ np.array([1.5, -2.0, 0.5]) + 0.3


def test_every_first_party_schedule_has_a_spec() -> None:
    """A schedule of dualgrad or of a plugin in this repository is registered with a spec."""
    assert not missing_specs(SCHEDULE, SPECS), f"add specs to {WHERE}"


def test_every_schedule_spec_names_a_registered_schedule() -> None:
    """No spec outlives its schedule."""
    assert not stale_specs(SCHEDULE, SPECS)


def test_the_built_in_schedules_are_checked() -> None:
    """The public listing that drives these tests lists the built-in schedules."""
    assert {f"builtin/{n}" for n in ("constant", "exponential_decay", "cosine_decay",
                                     "warmup_cosine_decay", "piecewise_constant")} \
        <= {p.id for p in params(SCHEDULE)}


@pytest.mark.parametrize("part", params(SCHEDULE))
def test_schedule_values_at_steps(part: Part) -> None:
    """The rate at each step is a finite positive float, equal to its NumPy reference."""
    s = spec(part)
    for config in s.configs:
        schedule = part.build(**config)
        for step in STEPS:
            rate = schedule(step)
            assert type(rate) is float and math.isfinite(rate) and rate >= 0, (config, step)
            if s.reference is not None:
                assert rate == pytest.approx(s.reference(config, step), rel=1e-12), \
                    (config, step)


@pytest.mark.parametrize("part", params(SCHEDULE))
def test_schedule_config_round_trips(part: Part) -> None:
    """get_config then from_config rebuilds a schedule of the same config and rates."""
    for config in spec(part).configs:
        again = check_config_round_trip(part, config)
        assert [again(k) for k in STEPS] == [part.build(**config)(k) for k in STEPS]


@pytest.mark.parametrize("part", params(SCHEDULE))
def test_schedule_as_a_learning_rate_trains_and_is_saved(part: Part, tmp_path: Any) -> None:
    """An optimizer with the schedule as lr trains a tiny model; its config keeps the
    schedule, and the model survives save and load."""
    x, y = problem()
    config = spec(part).configs[0]
    m = model(part, config)
    before = m.evaluate(x, y)
    m.fit(x, y, epochs=20, verbose=False)
    assert m.evaluate(x, y) < 0.95 * before
    assert m.get_config()["optimizer"]["lr"]["type"] in (part.name, part.qualified)
    check_save_and_load(m, x, y, tmp_path / "model.npz")
