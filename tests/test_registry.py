"""The registry: look-up by name, and how third-party plugins are loaded, checked and isolated.

Plugins are faked in-process: real `importlib.metadata.EntryPoint` objects pointing at modules
placed in `sys.modules`, returned by a patched `importlib.metadata.entry_points`. Every test that
reloads the registry goes through the `plugins` fixture, which restores the real registry.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

import attrs
import numpy as np
import pluggy
import pytest

import dualgrad as dg
from dualgrad import _registry, hookspecs
from dualgrad._registry import ENTRY_POINT_GROUP

ENV = ("DUALGRAD_NO_PLUGINS", "DUALGRAD_DISABLE_PLUGINS", "DUALGRAD_STRICT_PLUGINS")


def cube_primitive(name: str = "cube", scale: float = 1.0) -> dg.Primitive:
    """x**3 times `scale`, with its rule: several plugins can offer distinguishable cubes."""
    return dg.Primitive(name, lambda x: scale * x**3, lambda t, out, x: t * (3 * scale * x**2),
                        elementwise=True)


def plugin_module(module_name: str, **hooks: Callable[[], Any]) -> types.ModuleType:
    """A module whose functions, marked @dualgrad.hookimpl, are the given hooks."""
    module = types.ModuleType(module_name)
    for hook_name, fn in hooks.items():
        fn.__name__ = hook_name
        setattr(module, hook_name, dg.hookimpl(fn))
    return module


@attrs.define
class FakePlugins:
    """Installs fake entry points for the duration of one test and reloads the registry."""

    mp: pytest.MonkeyPatch
    entry_points: list[metadata.EntryPoint] = attrs.field(factory=list)

    def add(self, name: str, module: types.ModuleType | None = None,
            target: str | None = None) -> None:
        """Announce entry point `name`; `module` is importable under `target` (its name)."""
        target = target or (module.__name__ if module is not None else f"_missing_{name}")
        if module is not None:
            self.mp.setitem(sys.modules, target, module)
        self.entry_points.append(metadata.EntryPoint(name, target, ENTRY_POINT_GROUP))

    def setenv(self, name: str, value: str) -> None:
        self.mp.setenv(name, value)

    def reload(self) -> _registry.Registry:
        return _registry.reload()

    def status(self, name: str) -> Any:
        return next(p for p in dg.plugins() if p.name == name)


@pytest.fixture
def plugins() -> Iterator[FakePlugins]:
    """Fake entry points and plugin env vars, undone (and the registry reloaded) afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        for var in ENV:
            mp.delenv(var, raising=False)
        fake = FakePlugins(mp)
        real = metadata.entry_points

        def entry_points(**params: Any) -> Any:
            if params.get("group") == ENTRY_POINT_GROUP:
                return list(fake.entry_points)
            return real(**params)

        mp.setattr(metadata, "entry_points", entry_points)
        yield fake
    _registry.reload()


# ---- look-up ------------------------------------------------------------------------------------


def test_primitive_by_name() -> None:
    """dualgrad.primitive("exp") is dualgrad.exp, and it differentiates."""
    exp = dg.primitive("exp")
    assert exp is dg.exp
    assert repr(exp) == "<dualgrad.Primitive exp>"
    assert float(exp(dg.Variable(0.0, 1.0)).grad) == 1.0


def test_builtin_qualified_name() -> None:
    """A built-in is also reachable as "builtin/name"."""
    assert dg.primitive("builtin/exp") is dg.exp


@pytest.mark.parametrize(("lookup", "typo", "suggestion"), [
    (dg.primitive, "exq", "exp"), (dg.primitive, "sigmod", "sigmoid"),
    (dg.primitive, "concatenat", "concatenate"), (dg.loss, "mes", "mse"),
    (dg.optimizer, "adma", "adam"), (dg.layer, "dens", "dense"),
])
def test_unknown_name_suggests_close_matches(lookup: Callable[[str], Any], typo: str,
                                             suggestion: str) -> None:
    """An unknown name raises UnknownNameError (a KeyError) that suggests close matches."""
    with pytest.raises(dg.UnknownNameError) as info:
        lookup(typo)
    assert isinstance(info.value, KeyError)
    message = str(info.value)
    assert repr(typo) in message
    assert "Did you mean" in message
    assert repr(suggestion) in message.split("Did you mean", 1)[1].split("?")[0]
    assert not message.startswith('"'), "the message must not be wrapped in KeyError's quotes"


def test_unknown_name_lists_registered_names() -> None:
    """The UnknownNameError message lists the registered names of that kind."""
    with pytest.raises(dg.UnknownNameError) as info:
        dg.primitive("no_such_thing_at_all")
    message = str(info.value)
    assert "Did you mean" not in message
    for name in ("exp", "log", "sigmoid", "matmul"):
        assert name in message


def test_non_string_name_raises_unknown_name_error() -> None:
    """A name that is not a str raises UnknownNameError saying a str is needed."""
    with pytest.raises(dg.UnknownNameError, match="must be a str"):
        dg.primitive(3)  # type: ignore[arg-type]


def test_registry_is_collected_once() -> None:
    """registry() returns the same object on every call; look-ups are dictionary reads."""
    first = _registry.registry()
    dg.primitive("exp")
    assert _registry.registry() is first


def test_hookspecs_are_documented() -> None:
    """The four hooks exist with the fixed names, each with a docstring, marked for dualgrad."""
    names = ["dualgrad_register_primitives", "dualgrad_register_layers",
             "dualgrad_register_losses", "dualgrad_register_optimizers"]
    for name in names:
        spec = getattr(hookspecs, name)
        assert spec.__doc__ and spec.__doc__.strip()
        assert hasattr(spec, "dualgrad_spec")
    assert isinstance(dg.hookimpl, pluggy.HookimplMarker)
    assert dg.hookimpl.project_name == "dualgrad"


def test_builtins_come_from_the_builtin_plugin() -> None:
    """The built-ins are registered by an ordinary plugin called 'builtin', listed by plugins()."""
    info = next(p for p in dg.plugins() if p.name == "builtin")
    assert info.status == "active"
    assert info.distribution == "dualgrad"
    assert "exp" in info.registered["primitive"]
    assert "mse" in info.registered["loss"]


# ---- a working third-party plugin ---------------------------------------------------------------


def test_third_party_primitive_is_found_by_name(plugins: FakePlugins) -> None:
    """A plugin's primitive is found by its plain and qualified names and differentiates."""
    cube = cube_primitive()
    plugins.add("myplug", plugin_module("fake_myplug",
                                        dualgrad_register_primitives=lambda: [cube]))
    plugins.reload()
    assert dg.primitive("cube") is cube
    assert dg.primitive("myplug/cube") is cube
    assert float(dg.grad(dg.primitive("cube"))(2.0)) == 12.0
    info = plugins.status("myplug")
    assert info.status == "active"
    assert info.registered == {"primitive": ("cube",)}
    assert dg.primitive("exp") is dg.exp


def test_hooks_are_called_once_per_load(plugins: FakePlugins) -> None:
    """A plugin's hook runs once when the registry loads, never on look-up."""
    calls: list[int] = []
    cube = cube_primitive()

    def register() -> list[dg.Primitive]:
        calls.append(1)
        return [cube]

    plugins.add("counted", plugin_module("fake_counted", dualgrad_register_primitives=register))
    plugins.reload()
    for _ in range(5):
        dg.primitive("cube")(np.ones(3))
    assert len(calls) == 1


def test_third_party_loss_is_built_by_name(plugins: FakePlugins) -> None:
    """A plugin's Loss subclass is built by dualgrad.loss(name, **config)."""
    @attrs.define(frozen=True)
    class AbsLoss(dg.Loss):
        name = "abs_loss"
        scale: float = 1.0

        def __call__(self, y_true: Any, y_pred: Any) -> Any:
            return dg.mean(dg.absolute(y_pred - y_true)) * self.scale

    plugins.add("lossplug", plugin_module("fake_lossplug",
                                          dualgrad_register_losses=lambda: [AbsLoss]))
    plugins.reload()
    loss = dg.loss("abs_loss", scale=2.0)
    assert isinstance(loss, AbsLoss) and loss.scale == 2.0


# ---- hook misuse is reported naming the plugin --------------------------------------------------


@pytest.mark.parametrize(("hooks", "why"), [
    ({"dualgrad_register_primitives": lambda: [42]}, "42, which is not a dualgrad.Primitive"),
    ({"dualgrad_register_primitives": lambda: ["exp"]}, "'exp', which is not a dualgrad.Primitive"),
    ({"dualgrad_register_primitives": lambda: [dg.Dense]}, "not a dualgrad.Primitive"),
    ({"dualgrad_register_primitives": lambda: cube_primitive()}, "not an iterable"),
    ({"dualgrad_register_primitives": lambda: None}, "not an iterable"),
    ({"dualgrad_register_layers": lambda: [dg.Dense(units=2)]}, "not a dualgrad.Layer subclass"),
    ({"dualgrad_register_losses": lambda: [dg.exp]}, "not a dualgrad.Loss subclass"),
    ({"dualgrad_register_optimizers": lambda: [dg.MeanSquaredError]},
     "Optimizer subclass"),
    ({"dualgrad_register_primitives": lambda: [cube_primitive("a/b")]}, "without '/'"),
    ({"dualgrad_register_primitives": lambda: [cube_primitive(), cube_primitive()]},
     "registered twice"),
    ({"dualgrad_register_primitives": lambda: 1 / 0}, "ZeroDivisionError"),
], ids=["int", "str", "layer-class", "not-iterable", "none", "layer-instance",
        "primitive-as-loss", "loss-as-optimizer", "slash", "twice", "raises"])
def test_bad_hook_result_warns_naming_the_plugin(plugins: FakePlugins, hooks: dict[str, Any],
                                                 why: str) -> None:
    """A hook returning the wrong thing: a PluginWarning naming the plugin and the problem.

    The plugin is marked failed, registers nothing, and everything else keeps working.
    """
    plugins.add("badplug", plugin_module("fake_badplug", **hooks))
    good = cube_primitive("good_cube")
    plugins.add("goodplug", plugin_module("fake_goodplug",
                                          dualgrad_register_primitives=lambda: [good]))
    with pytest.warns(dg.PluginWarning) as record:
        plugins.reload()
    assert len(record) == 1
    message = str(record[0].message)
    assert "'badplug'" in message
    assert why in message
    assert "DUALGRAD_DISABLE_PLUGINS=badplug" in message
    assert plugins.status("badplug").status == "failed"
    assert why in plugins.status("badplug").error
    assert dg.primitive("good_cube") is good
    assert dg.primitive("exp") is dg.exp
    with pytest.raises(dg.UnknownNameError):
        dg.primitive("badplug/cube")


def test_bad_hook_result_is_an_error_when_strict(plugins: FakePlugins) -> None:
    """With DUALGRAD_STRICT_PLUGINS=1 a bad hook raises PluginLoadError naming the plugin."""
    plugins.add("badplug", plugin_module("fake_badplug",
                                         dualgrad_register_primitives=lambda: [42]))
    plugins.setenv("DUALGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(dg.PluginLoadError, match=r"'badplug'.*not a dualgrad.Primitive") as info:
        plugins.reload()
    assert isinstance(info.value, RuntimeError)


def test_strict_zero_means_not_strict(plugins: FakePlugins) -> None:
    """DUALGRAD_STRICT_PLUGINS=0 keeps the warning."""
    plugins.add("badplug", plugin_module("fake_badplug",
                                         dualgrad_register_primitives=lambda: [42]))
    plugins.setenv("DUALGRAD_STRICT_PLUGINS", "0")
    with pytest.warns(dg.PluginWarning, match="'badplug'"):
        plugins.reload()


def test_plugin_that_fails_to_import_is_skipped(plugins: FakePlugins) -> None:
    """An entry point whose module cannot be imported: a warning naming it, others load."""
    plugins.add("ghost")  # points at a module that does not exist
    cube = cube_primitive()
    plugins.add("myplug", plugin_module("fake_myplug",
                                        dualgrad_register_primitives=lambda: [cube]))
    with pytest.warns(dg.PluginWarning, match="'ghost'.*import failed"):
        plugins.reload()
    assert plugins.status("ghost").status == "failed"
    assert dg.primitive("cube") is cube


def test_unknown_hook_name_warns(plugins: FakePlugins) -> None:
    """A misspelt hook is named in a warning that lists the real hooks; the rest still loads."""
    cube = cube_primitive()
    plugins.add("typo", plugin_module("fake_typo",
                                      dualgrad_register_primitive=lambda: [cube_primitive("x")],
                                      dualgrad_register_primitives=lambda: [cube]))
    with pytest.warns(dg.PluginWarning, match=r"'typo'.*'dualgrad_register_primitive'.*no "
                                              r"dualgrad hook.*dualgrad_register_primitives"):
        plugins.reload()
    assert dg.primitive("cube") is cube


# ---- environment variables ----------------------------------------------------------------------


def test_no_plugins_loads_builtins_only(plugins: FakePlugins) -> None:
    """DUALGRAD_NO_PLUGINS=1 loads no entry point at all, not even a broken one."""
    plugins.add("ghost")
    plugins.add("myplug", plugin_module("fake_myplug",
                                        dualgrad_register_primitives=lambda: [cube_primitive()]))
    plugins.setenv("DUALGRAD_NO_PLUGINS", "1")
    plugins.reload()  # no warning: filterwarnings=error would fail the test
    assert [p.name for p in dg.plugins()] == ["builtin"]
    assert dg.primitive("exp") is dg.exp
    with pytest.raises(dg.UnknownNameError):
        dg.primitive("cube")


def test_no_plugins_zero_loads_plugins(plugins: FakePlugins) -> None:
    """DUALGRAD_NO_PLUGINS=0 is the default: plugins load."""
    cube = cube_primitive()
    plugins.add("myplug", plugin_module("fake_myplug",
                                        dualgrad_register_primitives=lambda: [cube]))
    plugins.setenv("DUALGRAD_NO_PLUGINS", "0")
    plugins.reload()
    assert dg.primitive("cube") is cube


def test_disable_plugins_skips_the_named_entry_points(plugins: FakePlugins) -> None:
    """DUALGRAD_DISABLE_PLUGINS=a,b skips a and b (never imported) and loads the rest."""
    plugins.add("ghost")
    plugins.add("other_ghost")
    cube = cube_primitive()
    plugins.add("myplug", plugin_module("fake_myplug",
                                        dualgrad_register_primitives=lambda: [cube]))
    plugins.setenv("DUALGRAD_DISABLE_PLUGINS", " ghost, other_ghost ,")
    plugins.reload()
    assert plugins.status("ghost").status == "disabled"
    assert plugins.status("other_ghost").status == "disabled"
    assert plugins.status("myplug").status == "active"
    assert dg.primitive("cube") is cube


# ---- name collisions ----------------------------------------------------------------------------


def test_builtin_name_collision(plugins: FakePlugins) -> None:
    """A plugin's 'exp' warns; the built-in keeps 'exp'; the plugin's is 'collide/exp'."""
    fake_exp = dg.Primitive("exp", lambda x: x, lambda t, out, x: t)
    plugins.add("collide", plugin_module("fake_collide",
                                         dualgrad_register_primitives=lambda: [fake_exp]))
    with pytest.warns(dg.PluginWarning) as record:
        plugins.reload()
    assert len(record) == 1
    message = str(record[0].message)
    assert "'collide'" in message and "'exp'" in message and "'collide/exp'" in message
    assert dg.primitive("exp") is dg.exp
    assert dg.primitive("collide/exp") is fake_exp
    assert dg.primitive("builtin/exp") is dg.exp
    assert plugins.status("collide").status == "active"


def test_two_plugins_claiming_one_name_is_ambiguous(plugins: FakePlugins) -> None:
    """Two plugins' 'cube': AmbiguousNameError listing both qualified names; others still work."""
    cube_a, cube_b = cube_primitive(scale=1.0), cube_primitive(scale=2.0)
    only_a = cube_primitive("only_alpha")
    plugins.add("beta", plugin_module("fake_beta",
                                      dualgrad_register_primitives=lambda: [cube_b]))
    plugins.add("alpha", plugin_module("fake_alpha",
                                       dualgrad_register_primitives=lambda: [cube_a, only_a]))
    plugins.reload()
    with pytest.raises(dg.AmbiguousNameError) as info:
        dg.primitive("cube")
    assert isinstance(info.value, dg.UnknownNameError)
    assert isinstance(info.value, KeyError)
    message = str(info.value)
    assert "'alpha/cube'" in message and "'beta/cube'" in message
    assert dg.primitive("alpha/cube") is cube_a
    assert dg.primitive("beta/cube") is cube_b
    assert dg.primitive("only_alpha") is only_a
    assert dg.primitive("exp") is dg.exp
    names = _registry.registry().names("primitive")
    assert "cube" not in names
    assert "alpha/cube" in names and "beta/cube" in names


def test_ambiguity_does_not_depend_on_load_order(plugins: FakePlugins) -> None:
    """Reversing the entry points' order changes nothing: still ambiguous."""
    cube_a, cube_b = cube_primitive(scale=1.0), cube_primitive(scale=2.0)
    plugins.add("alpha", plugin_module("fake_alpha",
                                       dualgrad_register_primitives=lambda: [cube_a]))
    plugins.add("beta", plugin_module("fake_beta",
                                      dualgrad_register_primitives=lambda: [cube_b]))
    plugins.reload()
    with pytest.raises(dg.AmbiguousNameError):
        dg.primitive("cube")
