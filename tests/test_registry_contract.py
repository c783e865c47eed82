"""The registry's promises as users and plugin authors meet them: look-ups by name, the names
an error lists and suggests, NumPy dispatch when plugins claim a function, and what a plugin
that misbehaves costs.

Plugins are faked as real entry points (``importlib.metadata.EntryPoint``) to modules placed in
`sys.modules`; the registry is loaded again for each test that installs some, and afterwards.
"""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Callable
from importlib import metadata
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import _registry
from test_registry import FakePlugins, plugins  # noqa: F401 - the fixture


class Installed:
    """Entry points installed for one test (through test_registry's fake entry points):
    `add` announces one whose module defines the given hooks, `load` loads them all."""

    def __init__(self, fake: FakePlugins) -> None:
        self.fake = fake

    def add(self, name: str, **hooks: Callable[[], Any]) -> None:
        module = types.ModuleType(f"fake_plugin_{name}")
        for hook_name, fn in hooks.items():
            fn.__name__ = hook_name
            setattr(module, hook_name, dg.hookimpl(fn))
        self.fake.add(name, module)

    def load(self) -> None:
        _registry.reload()


@pytest.fixture
def installed(plugins: FakePlugins) -> Installed:  # noqa: F811 - test_registry's fixture
    """Fake plugins for one test; the real registry is loaded again afterwards."""
    return Installed(plugins)


def _unary(name: str, scale: float, implements: Any = None) -> dg.Primitive:
    return dg.Primitive(name, lambda x: scale * x, lambda t, out, x: scale * t,
                        elementwise=True, implements=implements)


# ---- look-ups ------------------------------------------------------------------------------------


def test_an_unknown_name_suggests_up_to_three_close_names():
    """An unknown name's error suggests the three closest registered names, no fewer."""
    with pytest.raises(dg.UnknownNameError) as info:
        dg.primitive("arcsi")
    hint = str(info.value).split("Did you mean", 1)[1].split("?")[0]
    assert hint == " 'arcsin', 'arcsinh', 'arccos'"



def _registered(kind_lookup: Callable[[str], Any], plural: str) -> list[str]:
    """The names an unknown-name error lists as registered."""
    with pytest.raises(dg.UnknownNameError) as info:
        kind_lookup("no_such_name_anywhere")
    return str(info.value).split(f"Registered {plural}: ", 1)[1].split(", ")


def test_a_name_two_plugins_share_is_listed_only_qualified(installed):
    """A name two plugins share (both named after 'builtin' in sort order) is listed only as its
    qualified names, and registering it twice gives no built-in-name warning."""
    installed.add("mike", dualgrad_register_primitives=lambda: [_unary("cube", 1.0)])
    installed.add("zeta", dualgrad_register_primitives=lambda: [_unary("cube", 2.0)])
    installed.load()  # warnings are errors here: none is given
    names = _registered(dg.primitive, "primitives")
    assert "cube" not in names
    assert "mike/cube" in names and "zeta/cube" in names
    with pytest.raises(dg.AmbiguousNameError, match="'mike/cube', 'zeta/cube'"):
        dg.primitive("cube")


def test_plugins_lists_the_builtin_first_then_the_others_by_name(installed):
    """dualgrad.plugins() lists the built-in plugin first, then the others by name, names
    before and after 'builtin' alike."""
    installed.add("zeta", dualgrad_register_primitives=lambda: [_unary("z1", 1.0)])
    installed.add("alpha", dualgrad_register_primitives=lambda: [_unary("a1", 1.0)])
    installed.load()
    assert [p.name for p in dg.plugins()] == ["builtin", "alpha", "zeta"]
    assert {"a1", "z1"} <= set(_registered(dg.primitive, "primitives"))


# ---- NumPy dispatch ------------------------------------------------------------------------------


def test_a_function_one_plugin_claims_dispatches_to_it(installed):
    """A NumPy function that one plugin implements (and no built-in does) runs the plugin's
    primitive, value and derivative."""
    installed.add("alpha", dualgrad_register_primitives=lambda: [_unary("e2", 3.0, np.spacing)])
    installed.load()
    out = np.spacing(dg.Variable(2.0, 1.0))
    assert (float(out.value), float(out.grad)) == (6.0, 3.0)


def test_a_function_two_plugins_claim_is_refused_whatever_their_names(installed):
    """A NumPy function that two plugins implement (and no built-in does) is refused with
    NotImplementedError naming both, whichever sorts first against the built-in's name."""
    installed.add("alpha", dualgrad_register_primitives=lambda: [_unary("e2", 2.0, np.spacing)])
    installed.add("zeta", dualgrad_register_primitives=lambda: [_unary("e2", 3.0, np.spacing)])
    installed.load()
    with pytest.raises(NotImplementedError, match=r"2 plugins implement numpy\.spacing") as info:
        np.spacing(dg.Variable(1.0, 1.0))
    assert "'alpha/e2'" in str(info.value) and "'zeta/e2'" in str(info.value)


def test_a_name_two_plugins_share_is_suggested_for_a_typo(installed):
    """A typo of a name two plugins share suggests that name, whose look-up then lists the
    qualified names to choose from."""
    installed.add("alpha", dualgrad_register_primitives=lambda: [_unary("cube", 1.0)])
    installed.add("beta", dualgrad_register_primitives=lambda: [_unary("cube", 2.0)])
    installed.load()
    with pytest.raises(dg.UnknownNameError, match="Did you mean 'cube'"):
        dg.primitive("cub")


# ---- plugins that misbehave ----------------------------------------------------------------------


def test_a_plugin_warning_points_at_the_line_that_loaded_the_plugins(installed):
    """A broken plugin's PluginWarning is attributed to the user's line whose call loaded the
    plugins, not to a line inside dualgrad."""
    installed.add("broken", dualgrad_register_primitives=lambda: 42)
    with pytest.warns(dg.PluginWarning, match="'broken'") as record:
        line = sys._getframe().f_lineno + 1
        _registry.reload()
    assert [(w.filename, w.lineno) for w in record] == [(__file__, line)]
    message = str(record[0].message)
    assert message.startswith("dualgrad plugin 'broken' was skipped: ")
    assert "fix or uninstall broken, or set DUALGRAD_DISABLE_PLUGINS=broken" in message


def test_a_plugin_whose_hook_pluggy_refuses_is_skipped(installed):
    """A plugin whose hook takes an argument no hookspec offers (pluggy refuses to register
    it) is skipped with a PluginWarning naming it; everything else works."""
    installed.add("wrongargs", dualgrad_register_primitives=lambda extra: [])
    with pytest.warns(dg.PluginWarning, match="'wrongargs'.*skipped"):
        installed.load()
    assert [p.status for p in dg.plugins() if p.name == "wrongargs"] == ["failed"]
    assert dg.primitive("exp") is dg.exp


def test_an_entry_point_named_builtin_is_skipped(installed):
    """A third-party entry point named 'builtin' is skipped with a PluginWarning; the built-in
    plugin and everything else keep working."""
    name = "".join(["built", "in"])  # built at run time, as a name read from metadata is
    installed.add(name, dualgrad_register_primitives=lambda: [_unary("b1", 1.0)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        installed.load()
    assert [w.category for w in caught if "'builtin'" in str(w.message)] == [dg.PluginWarning]
    assert dg.primitive("exp") is dg.exp


def test_a_failing_plugin_when_strict_names_what_to_uninstall(installed, monkeypatch):
    """With DUALGRAD_STRICT_PLUGINS=1 a broken plugin without a distribution is a
    PluginLoadError naming the plugin as the thing to fix or uninstall."""
    installed.add("broken", dualgrad_register_primitives=lambda: 42)
    monkeypatch.setenv("DUALGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(dg.PluginLoadError) as info:
        installed.load()
    message = str(info.value)
    assert message.startswith("dualgrad plugin 'broken' failed to load: ")
    assert "fix or uninstall broken, set DUALGRAD_DISABLE_PLUGINS=broken" in message


class _Shared(dg.MeanSquaredError):
    """A loss that two plugins register under one name."""

    name = "shared"


class _SharedToo(dg.MeanSquaredError):
    name = "shared"


def test_a_model_saves_a_part_whose_name_two_plugins_share_by_qualified_name(installed,
                                                                             tmp_path):
    """A model whose loss is one of two plugins' 'shared' saves it by its qualified name and
    loads it back."""
    installed.add("mike", dualgrad_register_losses=lambda: [_Shared])
    installed.add("zeta", dualgrad_register_losses=lambda: [_SharedToo])
    installed.load()
    model = dg.Model([{"type": "dense", "units": 1}], "zeta/shared", "sgd", seed=0,
                     input_shape=[2])
    assert model.get_config()["loss"]["type"] == "zeta/shared"
    model.save(tmp_path / "m.npz")
    assert type(dg.Model.load(tmp_path / "m.npz").loss) is _SharedToo


@pytest.mark.parametrize("bad_name", ["", 42], ids=["empty", "number"])
def test_a_part_without_a_usable_name_costs_its_plugin(installed, bad_name):
    """A plugin registering a layer whose name is empty or not a str is skipped with a
    PluginWarning saying so; everything else works."""
    nameless = type("Nameless", (dg.Dense,), {"name": bad_name})
    installed.add("nameless", dualgrad_register_layers=lambda: [nameless])
    with pytest.warns(dg.PluginWarning, match=f"whose name {bad_name!r} is not a non-empty str"):
        installed.load()
    assert [p.status for p in dg.plugins() if p.name == "nameless"] == ["failed"]


@pytest.mark.parametrize(("hook", "what"), [
    ("dualgrad_register_primitives", "a dualgrad.Primitive."),
    ("dualgrad_register_layers", "a dualgrad.Layer subclass."),
])
def test_a_hook_returning_something_else_names_what_it_should_return(installed, hook, what):
    """A plugin whose hook returns an item of the wrong kind is skipped with a warning saying
    what the hook must return: primitives, or subclasses of the part's base class."""
    installed.add("wrongkind", **{hook: lambda: [42]})
    with pytest.warns(dg.PluginWarning) as record:
        installed.load()
    assert f"returned 42, which is not {what}" in str(record[0].message)


def test_an_uninstalled_dualgrad_reports_no_version(installed, monkeypatch):
    """Run from a checkout without its distribution installed, dualgrad lists its built-in
    plugin with version None."""
    real = metadata.version

    def version(name: str) -> str:
        if name == "dualgrad":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "version", version)
    installed.load()
    builtin = dg.plugins()[0]
    assert (builtin.name, builtin.version) == ("builtin", None)
