"""The registry knows no kind list, and the hot paths read no registry."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from dualgrad import _registry, hookspecs
from test_registry import FakePlugins, plugin_module, plugins  # noqa: F401 - fixture


@attrs.define(frozen=True)
class Metric:
    """A kind the registry has never heard of."""

    name = "metric"


@hookspecs.hookspec
def dualgrad_register_metrics() -> Iterable[type[Metric]]:  # type: ignore[empty-body]
    """Return Metric subclasses."""


@pytest.fixture
def metric_kind() -> Iterator[None]:
    """The kind "metric", declared for one test, then forgotten (and the registry reloaded)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_registry, "_KINDS", dict(_registry._KINDS))
        _registry.declare(_registry.Kind("metric", "metrics", dualgrad_register_metrics, Metric))
        yield
    _registry.reload()


def test_a_kind_declared_by_its_owner_is_registered_through_its_hook(
        metric_kind: None, plugins: FakePlugins) -> None:  # noqa: F811
    """A new kind needs no change to the registry: declared with its hook and base class, a
    plugin's items of that kind are found by name and checked against the base class."""

    @attrs.define(frozen=True)
    class Accuracy(Metric):
        name = "accuracy"

    plugins.add("metrics", plugin_module("fake_metrics",
                                         dualgrad_register_metrics=lambda: [Accuracy]))
    reg = plugins.reload()
    assert reg.get("metric", "accuracy") is Accuracy
    assert reg.get("metric", "metrics/accuracy") is Accuracy
    assert plugins.status("metrics").registered == {"metric": ("accuracy",)}
    with pytest.raises(dg.UnknownNameError, match="Registered metrics: accuracy"):
        reg.get("metric", "precision")


def test_an_item_that_is_not_of_the_declared_base_fails_its_plugin(
        metric_kind: None, plugins: FakePlugins) -> None:  # noqa: F811
    """The declared base class is what a plugin's items are checked against."""
    plugins.add("bad_metrics", plugin_module("fake_bad_metrics",
                                             dualgrad_register_metrics=lambda: [int]))
    with pytest.warns(dg.PluginWarning, match=r"not a dualgrad\.Metric subclass"):
        plugins.reload()
    assert plugins.status("bad_metrics").status == "failed"


def test_an_undeclared_kind_is_an_unknown_name_error() -> None:
    """Looking up a kind nobody declared names the declared kinds."""
    with pytest.raises(dg.UnknownNameError, match=r"no kind 'metric'.*primitive, "):
        _registry.registry().get("metric", "accuracy")


def test_numpy_dispatch_reads_no_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """np.exp and np.sin of a Variable run their primitives from a table, once the registry
    is loaded: no registry look-up per call."""
    v = dg.Variable(np.array([0.5, 1.0]), np.ones((1, 2)))
    np.exp(v)  # the registry is loaded by now

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the registry was read")

    monkeypatch.setattr(_registry, "registry", refuse)
    monkeypatch.setattr(_registry.Registry, "get", refuse)
    np.testing.assert_allclose(np.exp(v).tangent, np.exp([[0.5, 1.0]]))
    np.testing.assert_allclose(np.sin(v).tangent, np.cos([[0.5, 1.0]]))


def test_dense_looks_its_activation_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dense layer finds its activation's primitive when it is made, not on every call."""
    layer = dg.layer("dense", units=2, activation="tanh")
    params = layer.init((3,), np.random.default_rng(0))
    calls = []
    get = _registry.Registry.get

    def counting(self: _registry.Registry, kind: str, name: str) -> Any:
        calls.append((kind, name))
        return get(self, kind, name)

    monkeypatch.setattr(_registry.Registry, "get", counting)
    x = np.ones((4, 3))
    for _ in range(3):
        np.testing.assert_allclose(layer(params, x), np.tanh(x @ params[0] + params[1]))
    assert calls == []
