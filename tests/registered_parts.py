"""What the registry-driven part tests share: the registered parts, their specs, tiny problems.

The parts come from the public listing, `dualgrad.plugins()`, so a layer, loss or optimizer any
installed plugin registers is checked with no change here. Each is named ``"plugin/name"``,
which looks it up even when two plugins share a plain name.

A part of a first-party plugin (the built-in one, and the plugins in this repository) must have
a spec in its kind's test file: a new built-in comes with the inputs it takes. A part of any
other installed plugin runs on a default spec, so that it is checked too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import numpy as np
import pytest

import dualgrad as dg

# the plugins whose parts must each have a spec: dualgrad's own and those in plugins/
FIRST_PARTY = ("builtin", "scipy")

# the kind names of the registry's listing (`PluginInfo.registered`)
LAYER, LOSS, METRIC, OPTIMIZER, SCHEDULE = "layer", "loss", "metric", "optimizer", "schedule"

# each kind, and the test file that checks every registered part of it
SUITES = {
    "primitive": "tests/test_primitives.py",
    LAYER: "tests/test_every_layer.py",
    LOSS: "tests/test_every_loss.py",
    METRIC: "tests/test_every_metric.py",
    OPTIMIZER: "tests/test_every_optimizer.py",
    SCHEDULE: "tests/test_every_schedule.py",
}

S = TypeVar("S")


@attrs.frozen
class Part:
    """One registered layer, loss or optimizer: its kind, plugin and name."""

    kind: str
    plugin: str
    name: str

    @property
    def qualified(self) -> str:
        """The name that looks this very part up, whatever else is registered."""
        return f"{self.plugin}/{self.name}"

    def build(self, **config: Any) -> Any:
        """A new instance, configured by keyword, through the public look-up."""
        look_up = {LAYER: dg.layer, LOSS: dg.loss, METRIC: dg.metric,
                   OPTIMIZER: dg.optimizer, SCHEDULE: dg.schedule}[self.kind]
        return look_up(self.qualified, **config)

    def config(self, **config: Any) -> dict[str, Any]:
        """A config dict with a ``"type"``, as `dualgrad.Model` takes one."""
        return {"type": self.qualified, **config}


def registered(kind: str) -> list[Part]:
    """Every part of `kind` that an active plugin registered, built-ins first."""
    return [Part(kind, info.name, name) for info in dg.plugins() if info.status == "active"
            for name in info.registered.get(kind, ())]


def registered_kinds() -> set[str]:
    """Every kind of which an active plugin registered something."""
    return {kind for info in dg.plugins() if info.status == "active"
            for kind, names in info.registered.items() if names}


def params(kind: str) -> list[Any]:
    """`registered(kind)` as pytest parameters, each with its qualified name as the id."""
    return [pytest.param(part, id=part.qualified) for part in registered(kind)]


def spec_for(part: Part, specs: Mapping[str, S], default: S, where: str) -> S:
    """The spec of `part`; a failure if a first-party part has none; else `default`."""
    if part.qualified in specs:
        return specs[part.qualified]
    if part.plugin in FIRST_PARTY:
        pytest.fail(f"{part.kind} {part.qualified!r} is registered but has no spec in {where}; "
                    "add one giving the inputs it takes and configs that set every option")
    return default


def missing_specs(kind: str, specs: Mapping[str, Any]) -> list[str]:
    """The first-party parts of `kind` that have no spec."""
    return [p.qualified for p in registered(kind)
            if p.plugin in FIRST_PARTY and p.qualified not in specs]


def stale_specs(kind: str, specs: Mapping[str, Any]) -> list[str]:
    """Specs naming a part that its plugin, when installed, does not register."""
    active = {info.name for info in dg.plugins() if info.status == "active"}
    names = {p.qualified for p in registered(kind)}
    return sorted(q for q in specs if q.partition("/")[0] in active and q not in names)


# ---- configs ------------------------------------------------------------------------------------


def check_config_round_trip(part: Part, config: dict[str, Any]) -> Any:
    """Build `part` from `config`, check its config keeps every option given, survives JSON (the
    model file stores it so) and rebuilds an equal config; return the rebuilt part."""
    obj = part.build(**config)
    got = obj.get_config()
    assert isinstance(got, dict), f"{part.qualified}: get_config returned {type(got).__name__}"
    lost = {k: v for k, v in config.items() if k not in got or got[k] != v}
    assert not lost, f"{part.qualified}: get_config {got} lost or changed {lost}"
    assert json.loads(json.dumps(got)) == got, f"{part.qualified}: config {got} is not JSON"
    again = part.build(**copy.deepcopy(got))
    assert type(again) is type(obj)
    assert again.get_config() == got, f"{part.qualified}: {again.get_config()} != {got}"
    return again


# ---- tiny problems ------------------------------------------------------------------------------


def inputs(shape: tuple[int, ...], rows: int = 12, seed: int = 0) -> np.ndarray:
    """A standard normal batch of `rows` samples of per-sample shape `shape`."""
    return np.random.default_rng(seed).normal(size=(rows, *shape))


def assert_same_model(a: dg.Model, b: dg.Model, x: np.ndarray, what: str) -> None:
    """Equal configs, identical weights and identical predictions on `x`."""
    assert a.get_config() == b.get_config(), what
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb), what
    for i, (u, v) in enumerate(zip(wa, wb, strict=True)):
        np.testing.assert_array_equal(u, v, err_msg=f"{what}: weight {i}")
    np.testing.assert_array_equal(a.predict(x), b.predict(x), err_msg=f"{what}: predictions")


def check_save_and_load(model: dg.Model, x: np.ndarray, y: np.ndarray, path: Any) -> None:
    """`model` saved and loaded has its config, weights, predictions and loss on (x, y)."""
    model.save(path)
    loaded = dg.Model.load(path)
    assert_same_model(model, loaded, x, f"{path} loaded")
    assert loaded.evaluate(x, y) == model.evaluate(x, y)


def check_gradient(model: dg.Model, x: np.ndarray, y: np.ndarray, count: int = 6,
                   eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-8) -> None:
    """`Model.gradient` agrees with central differences of `Model.evaluate` on `count` weights
    drawn at random (every weight when there are fewer)."""
    weights = model.get_weights()
    grads = model.gradient(x, y)
    flat = np.concatenate([w.ravel() for w in weights])
    flat_grad = np.concatenate([g.ravel() for g in grads])
    assert flat_grad.shape == flat.shape
    picks = np.random.default_rng(1).permutation(flat.size)[:count]

    def loss_at(w: np.ndarray) -> float:
        cuts = np.cumsum([a.size for a in weights])[:-1]
        model.set_weights([p.reshape(a.shape) for p, a in zip(np.split(w, cuts), weights,
                                                                strict=True)])
        return float(model.evaluate(x, y))

    try:
        for k in picks:
            step = np.zeros_like(flat)
            step[k] = eps
            fd = (loss_at(flat + step) - loss_at(flat - step)) / (2 * eps)
            np.testing.assert_allclose(flat_grad[k], fd, rtol=rtol, atol=atol,
                                       err_msg=f"d loss / d weight {k} (of {flat.size})")
    finally:
        model.set_weights(weights)


# ---- optimizer states ---------------------------------------------------------------------------


def leaves(tree: Any) -> list[Any]:
    """The arrays and scalars of a state: attrs classes, dicts, tuples and lists walked."""
    if attrs.has(type(tree)):
        return leaves([getattr(tree, f.name) for f in attrs.fields(type(tree))])
    if isinstance(tree, Mapping):
        return leaves([tree[k] for k in sorted(tree, key=repr)])
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


def same_tree(a: Any, b: Any) -> bool:
    """Whether two states hold the same structure and values (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if attrs.has(type(a)):
        return all(same_tree(getattr(a, f.name), getattr(b, f.name))
                   for f in attrs.fields(type(a)))
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same_tree(u, v) for u, v in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:
        return bool(b != b)
    return bool(a == b)


Sampler = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


def normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.normal(size=shape)
