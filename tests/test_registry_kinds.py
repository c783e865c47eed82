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
class Regularizer:
    """A kind the registry has never heard of."""

    name = "regularizer"


@hookspecs.hookspec
def dualgrad_register_regularizers() -> Iterable[type[Regularizer]]:  # type: ignore[empty-body]
    """Return Regularizer subclasses."""


@pytest.fixture
def regularizer_kind() -> Iterator[None]:
    """The kind "regularizer", declared for one test, then forgotten (the registry reloaded)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_registry, "_KINDS", dict(_registry._KINDS))
        _registry.declare(_registry.Kind("regularizer", "regularizers",
                                         dualgrad_register_regularizers, Regularizer))
        yield
    _registry.reload()


def test_a_kind_declared_by_its_owner_is_registered_through_its_hook(
        regularizer_kind: None, plugins: FakePlugins) -> None:  # noqa: F811
    """A new kind needs no change to the registry: declared with its hook and base class, a
    plugin's items of that kind are found by name and checked against the base class."""

    @attrs.define(frozen=True)
    class L2(Regularizer):
        name = "l2"

    plugins.add("regularizers", plugin_module("fake_regularizers",
                                         dualgrad_register_regularizers=lambda: [L2]))
    reg = plugins.reload()
    assert reg.get("regularizer", "l2") is L2
    assert reg.get("regularizer", "regularizers/l2") is L2
    assert plugins.status("regularizers").registered == {"regularizer": ("l2",)}
    with pytest.raises(dg.UnknownNameError, match="Registered regularizers: l2"):
        reg.get("regularizer", "l1")


def test_an_item_that_is_not_of_the_declared_base_fails_its_plugin(
        regularizer_kind: None, plugins: FakePlugins) -> None:  # noqa: F811
    """The declared base class is what a plugin's items are checked against."""
    plugins.add("bad_regularizers", plugin_module("fake_bad_regularizers",
                                             dualgrad_register_regularizers=lambda: [int]))
    with pytest.warns(dg.PluginWarning, match=r"not a dualgrad\.Regularizer subclass"):
        plugins.reload()
    assert plugins.status("bad_regularizers").status == "failed"


def test_an_undeclared_kind_is_an_unknown_name_error() -> None:
    """Looking up a kind nobody declared names the declared kinds."""
    with pytest.raises(dg.UnknownNameError, match=r"no kind 'regularizer'.*primitive, "):
        _registry.registry().get("regularizer", "l2")


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
