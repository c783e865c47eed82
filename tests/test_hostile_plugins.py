"""Installed plugins that misbehave cost only themselves, and never displace a built-in.

One throwaway distribution, pip-installed the way `test_entry_points` installs its plugin, holds
several entry points, each misbehaving in its own way. Every test starts with all of them
disabled (DUALGRAD_DISABLE_PLUGINS) and enables the ones it is about.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import _registry
from test_entry_points import forget, offline_build_blocker, pip

ENV = ("DUALGRAD_NO_PLUGINS", "DUALGRAD_DISABLE_PLUGINS", "DUALGRAD_STRICT_PLUGINS")

# entry-point suffix -> the module it loads
MODULES = {
    "exit_import": """\
        import sys

        sys.exit()
        """,
    "exit_hook": """\
        import dualgrad


        @dualgrad.hookimpl
        def dualgrad_register_primitives():
            raise SystemExit(0)
        """,
    "interrupt": """\
        raise KeyboardInterrupt
        """,
    "counting": """\
        import time

        import dualgrad

        CALLS = []
        counted = dualgrad.Primitive("counted", lambda x: 2 * x, lambda t, out, x: 2 * t)


        @dualgrad.hookimpl
        def dualgrad_register_primitives():
            CALLS.append(1)
            time.sleep(0.2)  # long enough for every thread to arrive while the first loads
            return [counted]
        """,
    "reentrant": """\
        import dualgrad

        EXP = dualgrad.primitive("exp")
        """,
    # a second exp for np.exp, wrong on purpose: value and derivative both off
    "implements": """\
        import numpy as np

        import dualgrad

        plugexp = dualgrad.Primitive("plugexp", lambda x: np.exp(x) + 1.0,
                                     lambda t, out, x: 2.0 * t, elementwise=True,
                                     implements=np.exp)


        @dualgrad.hookimpl
        def dualgrad_register_primitives():
            return [plugexp]
        """,
    # every kind under a built-in's name
    "shadow": """\
        import numpy as np

        import dualgrad

        exp = dualgrad.Primitive("exp", lambda x: np.exp(x) + 1.0, lambda t, out, x: 2.0 * t,
                                 elementwise=True, implements=None)


        class Dense(dualgrad.Dense):
            name = "dense"


        class MeanSquaredError(dualgrad.MeanSquaredError):
            name = "mse"


        class SGD(dualgrad.SGD):
            name = "sgd"


        @dualgrad.hookimpl
        def dualgrad_register_primitives():
            return [exp]


        @dualgrad.hookimpl
        def dualgrad_register_layers():
            return [Dense]


        @dualgrad.hookimpl
        def dualgrad_register_losses():
            return [MeanSquaredError]


        @dualgrad.hookimpl
        def dualgrad_register_optimizers():
            return [SGD]
        """,
}


class Hostile:
    """The installed distribution: its package name and its entry points by suffix."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.entry = {suffix: f"{package}_{suffix}" for suffix in MODULES}

    def only(self, mp: pytest.MonkeyPatch, *suffixes: str) -> None:
        """Enable the entry points with these suffixes; disable the others."""
        off = [name for suffix, name in self.entry.items() if suffix not in suffixes]
        mp.setenv("DUALGRAD_DISABLE_PLUGINS", ",".join(off))

    def env(self, *suffixes: str, strict: bool = False) -> dict[str, str]:
        """The environment of a subprocess that enables only these entry points."""
        env = {k: v for k, v in os.environ.items() if k not in ENV}
        env["DUALGRAD_DISABLE_PLUGINS"] = ",".join(
            name for suffix, name in self.entry.items() if suffix not in suffixes)
        if strict:
            env["DUALGRAD_STRICT_PLUGINS"] = "1"
        return env


def write_distribution(root: Path, package: str) -> Path:
    project = root / package
    (project / package).mkdir(parents=True)
    points = "\n".join(f'{package}_{suffix} = "{package}.{suffix}"' for suffix in MODULES)
    (project / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{package}"
        version = "0.1.0"
        description = "dualgrad plugins that misbehave, for tests"

        [tool.setuptools]
        packages = ["{package}"]

        [project.entry-points.dualgrad]
        """) + points + "\n")
    (project / package / "__init__.py").write_text("")
    for suffix, source in MODULES.items():
        (project / package / f"{suffix}.py").write_text(textwrap.dedent(source))
    return project


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    """The misbehaving distribution, installed for this module; uninstalled after, whatever
    happens, and the registry reloaded without it."""
    blocker = offline_build_blocker()
    if blocker is not None:
        pytest.skip(blocker)
    package = f"dualgrad_hostile_{uuid.uuid4().hex[:10]}"
    project = write_distribution(tmp_path_factory.mktemp("hostile"), package)
    try:
        result = pip("install", "--no-deps", "--no-build-isolation", "--no-index", str(project))
        assert result.returncode == 0, f"pip install failed:\n{result.stdout}\n{result.stderr}"
        forget(package)
        yield Hostile(package)
    finally:
        result = pip("uninstall", "-y", package)
        forget(package)
        with pytest.MonkeyPatch.context() as mp:
            for var in ENV:
                mp.delenv(var, raising=False)
            _registry.reload()
        assert result.returncode == 0, f"pip uninstall failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture
def hostile(installed: Hostile, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hostile]:
    """All misbehaving entry points disabled to start with; the registry reloaded after."""
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    installed.only(monkeypatch)
    yield installed
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    installed.only(monkeypatch)
    forget(installed.package)
    _registry.reload()


def status(name: str) -> _registry.PluginInfo:
    return next(p for p in dg.plugins() if p.name == name)


def exp_at_one_is_the_builtin() -> None:
    """np.exp and dg.primitive('exp') give e and its derivative e at 1."""
    out = np.exp(dg.Variable(1.0, 1.0))
    assert float(out.value) == pytest.approx(np.e, rel=1e-15)
    assert float(out.grad) == pytest.approx(np.e, rel=1e-15)
    assert float(dg.grad(dg.primitive("exp"))(1.0)) == pytest.approx(np.e, rel=1e-15)


# ---- plugins that end the program ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["exit_import", "exit_hook"])
def test_a_plugin_raising_system_exit_is_skipped_with_a_warning(hostile, monkeypatch, suffix):
    """sys.exit() on import or SystemExit in a hook skips that plugin with a PluginWarning naming
    it; the program goes on and the built-ins work."""
    hostile.only(monkeypatch, suffix)
    name = hostile.entry[suffix]
    with pytest.warns(dg.PluginWarning, match=rf"{name}.*SystemExit"):
        _registry.reload()
    assert status(name).status == "failed"
    assert "SystemExit" in status(name).error
    exp_at_one_is_the_builtin()


@pytest.mark.parametrize("suffix", ["exit_import", "exit_hook"])
def test_a_plugin_raising_system_exit_is_a_plugin_load_error_when_strict(hostile, monkeypatch,
                                                                          suffix):
    """Under DUALGRAD_STRICT_PLUGINS=1, a plugin raising SystemExit is a PluginLoadError naming
    it, not the end of the program."""
    hostile.only(monkeypatch, suffix)
    monkeypatch.setenv("DUALGRAD_STRICT_PLUGINS", "1")
    with pytest.raises(dg.PluginLoadError, match=rf"{hostile.entry[suffix]}.*SystemExit"):
        _registry.reload()


def console_script() -> str:
    path = Path(sysconfig.get_path("scripts")) / "dualgrad"
    if not path.exists():
        pytest.fail(f"the dualgrad console script is not installed at {path}")
    return str(path)


CONFIG = """\
seed = 0
loss = "mse"
optimizer = {type = "sgd", lr = 0.1}
layers = [{type = "dense", units = 1}]

[fit]
epochs = 5
"""


@pytest.mark.parametrize("suffix", ["exit_import", "exit_hook"])
def test_train_with_a_plugin_raising_system_exit_trains_and_saves(hostile, tmp_path, suffix):
    """`dualgrad train` with a plugin that exits warns about it, trains, saves the model and
    exits 0."""
    cfg, data, out = tmp_path / "net.toml", tmp_path / "data.csv", tmp_path / "out.npz"
    cfg.write_text(CONFIG)
    data.write_text("1,3\n2,5\n3,7\n")
    done = subprocess.run([console_script(), "train", str(cfg), "--data", str(data), "--out",
                           str(out), "--quiet"], env=hostile.env(suffix), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "saved the model to" in done.stdout
    assert "PluginWarning" in done.stderr and hostile.entry[suffix] in done.stderr
    assert dg.Model.load(out).num_params == 2


def test_train_with_a_plugin_raising_system_exit_under_strict_exits_2(hostile, tmp_path):
    """Under DUALGRAD_STRICT_PLUGINS=1, `dualgrad train` with a plugin that exits on import
    prints one error line naming the plugin, exits 2 and saves nothing."""
    cfg, data, out = tmp_path / "net.toml", tmp_path / "data.csv", tmp_path / "out.npz"
    cfg.write_text(CONFIG)
    data.write_text("1,3\n2,5\n3,7\n")
    done = subprocess.run([console_script(), "train", str(cfg), "--data", str(data), "--out",
                           str(out), "--quiet"], env=hostile.env("exit_import", strict=True),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("dualgrad: error: dualgrad plugin")
    assert len(done.stderr.splitlines()) == 1 and hostile.entry["exit_import"] in done.stderr
    assert not out.exists()


# ---- Ctrl-C, and plugins that use the registry while it loads ---------------------------------


def test_ctrl_c_while_plugins_load_is_the_users_and_leaves_no_half_registry(hostile,
                                                                           monkeypatch):
    """A KeyboardInterrupt during plugin loading reaches the caller; the next use fails the same
    way while the cause remains, and loads everything once it is gone."""
    hostile.only(monkeypatch, "interrupt", "counting")
    with pytest.raises(KeyboardInterrupt):
        _registry.reload()
    with pytest.raises(KeyboardInterrupt):
        dg.primitive("counted")
    hostile.only(monkeypatch, "counting")
    forget(hostile.package)
    assert float(dg.primitive("counted")(3.0)) == 6.0
    assert {p.name for p in dg.plugins()} >= {"builtin", hostile.entry["counting"]}
    exp_at_one_is_the_builtin()


def test_a_plugin_using_the_registry_while_it_loads_is_skipped_with_a_clear_warning(
        hostile, monkeypatch):
    """A plugin that looks a name up at import is skipped with a warning saying why; the
    registry loads once and works."""
    hostile.only(monkeypatch, "reentrant", "counting")
    with pytest.warns(dg.PluginWarning, match=r"while dualgrad was loading it"):
        _registry.reload()
    assert status(hostile.entry["reentrant"]).status == "failed"
    assert status(hostile.entry["counting"]).status == "active"
    assert len(sys.modules[f"{hostile.package}.counting"].CALLS) == 1
    exp_at_one_is_the_builtin()


# ---- threads ------------------------------------------------------------------------------------

THREADS = """\
import json, sys, threading
import dualgrad as dg

barrier = threading.Barrier(8)
got, errors = [], []


def first_use():
    barrier.wait()
    try:
        got.append(dg.primitive("counted"))
    except BaseException as exc:
        errors.append(repr(exc))


threads = [threading.Thread(target=first_use) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
calls = sys.modules[sys.argv[1] + ".counting"].CALLS
print(json.dumps({"calls": len(calls), "results": len(got), "distinct": len({id(p) for p in got}),
                  "errors": errors}))
"""


def test_threads_using_the_registry_first_together_run_each_hook_once(hostile):
    """Eight threads released together at a process's first registry use load the plugins
    once: the counting plugin's hook runs once and every thread gets the same primitive."""
    done = subprocess.run([sys.executable, "-c", THREADS, hostile.package],
                          env=hostile.env("counting"), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"calls": 1, "results": 8, "distinct": 1, "errors": []}


# ---- a plugin never displaces a built-in --------------------------------------------------------


def test_a_plugin_implementing_np_exp_leaves_np_exp_to_the_builtin(hostile, monkeypatch):
    """With a plugin primitive that also implements np.exp installed, np.exp(Variable) still
    runs the built-in (right value and derivative, no error); the plugin's is reachable by its
    name."""
    hostile.only(monkeypatch, "implements")
    _registry.reload()
    assert status(hostile.entry["implements"]).status == "active"
    exp_at_one_is_the_builtin()
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(dg.jacobian(np.exp)(x), np.diag(np.exp(x)), rtol=1e-15)
    assert float(dg.primitive("plugexp")(0.0)) == 2.0


@pytest.mark.parametrize(
    ("kind", "plain", "look_up", "typo"),
    [("primitive", "exp", dg.primitive, "exq"),
     ("layer", "dense", lambda name: dg.layer(name, units=1), "dens"),
     ("loss", "mse", dg.loss, "msee"), ("optimizer", "sgd", dg.optimizer, "sgdd")],
    ids=["primitive", "layer", "loss", "optimizer"],
)
def test_a_plugin_using_a_builtin_name_leaves_the_builtin_in_place(hostile, monkeypatch, kind,
                                                                   plain, look_up, typo):
    """A plugin registering a primitive, layer, loss or optimizer under a built-in's name warns,
    and leaves the built-in the plain name's answer, in the listing and in suggestions; the
    plugin's is reachable by its qualified name."""
    hostile.only(monkeypatch, "shadow")
    qualified = f"{hostile.entry['shadow']}/{plain}"
    with pytest.warns(dg.PluginWarning) as caught:
        _registry.reload()
    assert len(caught) == 4
    assert any(f"the built-in keeps '{plain}'" in str(w.message) for w in caught)
    builtin_plugin = next(p for p in dg.plugins() if p.name == "builtin")
    assert plain in builtin_plugin.registered[kind]

    found, theirs = look_up(plain), look_up(qualified)
    if kind == "primitive":
        assert float(found(0.0)) == 1.0 and float(theirs(0.0)) == 2.0
    else:
        assert type(found).__module__.startswith("dualgrad.")
        assert type(theirs).__module__ == f"{hostile.package}.shadow"

    with pytest.raises(dg.UnknownNameError) as info:
        look_up(typo)
    message = str(info.value)
    assert f"Did you mean '{plain}'" in message
    listing = message.split("Registered ")[1].split(": ", 1)[1].split(", ")
    assert plain in listing and qualified in listing


def test_a_model_saves_the_builtin_by_plain_name_and_the_plugins_by_qualified_name(
        hostile, monkeypatch, tmp_path):
    """With a plugin shadowing 'dense', 'mse' and 'sgd', a model of built-ins saves their plain
    names and loads them back; a model of the plugin's parts saves qualified names."""
    hostile.only(monkeypatch, "shadow")
    with pytest.warns(dg.PluginWarning):
        _registry.reload()
    model = dg.Model.from_config({"layers": [{"type": "dense", "units": 1}], "loss": "mse",
                                  "optimizer": "sgd", "input_shape": [2]})
    config = model.get_config()
    assert (config["layers"][0]["type"], config["loss"]["type"],
            config["optimizer"]["type"]) == ("dense", "mse", "sgd")
    model.save(tmp_path / "m.npz")
    loaded = dg.Model.load(tmp_path / "m.npz")
    assert type(loaded.layers[0]) is dg.Dense and type(loaded.loss) is dg.MeanSquaredError

    shadow = hostile.entry["shadow"]
    theirs = dg.Model.from_config({"layers": [{"type": f"{shadow}/dense", "units": 1}],
                                   "loss": f"{shadow}/mse", "optimizer": f"{shadow}/sgd"})
    config = theirs.get_config()
    assert config["layers"][0]["type"] == f"{shadow}/dense"
    assert config["loss"]["type"] == f"{shadow}/mse"
    assert config["optimizer"]["type"] == f"{shadow}/sgd"
