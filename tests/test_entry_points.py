"""A real plugin package, pip-installed into this interpreter, is found through its entry point.

The package is written into tmp_path with a unique name, built by setuptools without build
isolation (so no network is needed) and uninstalled afterwards, whatever happens.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd
from dualgrad import _registry


def offline_build_blocker() -> str | None:
    """Why setuptools cannot build a wheel here without the network, or None if it can."""
    try:
        import setuptools
    except ImportError:
        return "setuptools is not importable, so the plugin cannot be built without the network"
    parts = []
    for piece in setuptools.__version__.split(".")[:2]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    # setuptools 70.1 builds wheels by itself; before that it needs the wheel package.
    if tuple(parts) < (70, 1) and importlib.util.find_spec("wheel") is None:
        return (f"setuptools {setuptools.__version__} needs the 'wheel' package to build a "
                "wheel without build isolation, and it is not installed; install wheel or "
                "setuptools>=70.1 into the test environment")
    return None


def normalized(name: str | None) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name or "").lower()


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=300, check=False)


def write_plugin(root: Path, package: str) -> Path:
    """A plugin distribution whose hook registers the primitive 'cube'."""
    project = root / package
    (project / package).mkdir(parents=True)
    (project / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{package}"
        version = "0.1.0"
        description = "a dualgrad test plugin"

        [project.entry-points.dualgrad]
        {package} = "{package}.hooks"

        [tool.setuptools]
        packages = ["{package}"]
        """))
    (project / package / "__init__.py").write_text("")
    (project / package / "hooks.py").write_text(textwrap.dedent("""\
        import dualgrad
        from dualgrad import Primitive

        cube = Primitive("cube", lambda x: x ** 3, lambda t, out, x: t * (3.0 * x * x),
                         elementwise=True)


        @dualgrad.hookimpl
        def dualgrad_register_primitives():
            return [cube]
        """))
    return project


def forget(package: str) -> None:
    """Drop every trace of `package` from this interpreter's import state."""
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[str]:
    """Install a uniquely named plugin package; uninstall it and reload the registry after."""
    blocker = offline_build_blocker()
    if blocker is not None:
        pytest.skip(blocker)
    package = f"dualgrad_tinyplug_{uuid.uuid4().hex[:10]}"
    project = write_plugin(tmp_path, package)
    try:
        result = pip("install", "--no-deps", "--no-build-isolation", "--no-index", str(project))
        assert result.returncode == 0, f"pip install failed:\n{result.stdout}\n{result.stderr}"
        forget(package)
        yield package
    finally:
        result = pip("uninstall", "-y", package)
        forget(package)
        _registry.reload()
        assert result.returncode == 0, f"pip uninstall failed:\n{result.stdout}\n{result.stderr}"


def test_installed_plugin_primitive_is_found_by_name(installed_plugin: str) -> None:
    """After pip install and reload, primitive('cube') is the plugin's, with the right rule."""
    _registry.reload()
    cube = dg.primitive("cube")
    assert cube is dg.primitive(f"{installed_plugin}/cube")
    assert cube.name == "cube"
    assert float(cube(2.0)) == 8.0
    assert float(dg.grad(cube)(2.0)) == 12.0
    x = np.array([-1.5, 0.5, 2.0])
    np.testing.assert_allclose(dg.jacobian(cube)(x), np.diag(3 * x**2), rtol=1e-15)
    out = cube(dg.Variable(x, np.ones(3)))
    np.testing.assert_allclose(out.grad, fd.directional(cube, (x,), (np.ones(3),)), rtol=1e-6)
    info = next(p for p in dg.plugins() if p.name == installed_plugin)
    assert info.status == "active"
    assert normalized(info.distribution) == normalized(installed_plugin)
    assert info.version == "0.1.0"
    assert info.registered == {"primitive": ("cube",)}
    # the user never imported the plugin: dualgrad did, through the entry point
    assert f"{installed_plugin}.hooks" in sys.modules


def test_installed_plugin_can_be_disabled(installed_plugin: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """DUALGRAD_DISABLE_PLUGINS naming the installed plugin hides its primitive."""
    monkeypatch.setenv("DUALGRAD_DISABLE_PLUGINS", installed_plugin)
    _registry.reload()
    with pytest.raises(dg.UnknownNameError):
        dg.primitive("cube")
    info = next(p for p in dg.plugins() if p.name == installed_plugin)
    assert info.status == "disabled"


def readme_plugin_files() -> dict[str, str]:
    """The complete plugin package of the README's "Writing a plugin" section, by file name."""
    text = (Path(__file__).parent.parent / "README.md").read_text()
    section = text.split("## Writing a plugin", 1)[1].split("\n## ", 1)[0]
    files = dict(re.findall(r"`([\w.]+)`:\n\n```\w+\n(.*?)```", section, flags=re.S))
    assert set(files) == {"pyproject.toml", "dualgrad_cube.py"}, sorted(files)
    return files


@pytest.fixture
def readme_plugin(tmp_path: Path) -> Iterator[str]:
    """The README's example plugin, installed as written; uninstalled after."""
    blocker = offline_build_blocker()
    if blocker is not None:
        pytest.skip(blocker)
    project = tmp_path / "dualgrad-cube"
    project.mkdir()
    for name, content in readme_plugin_files().items():
        (project / name).write_text(content)
    try:
        result = pip("install", "--no-deps", "--no-build-isolation", "--no-index", str(project))
        assert result.returncode == 0, f"pip install failed:\n{result.stdout}\n{result.stderr}"
        forget("dualgrad_cube")
        yield "cube"
    finally:
        result = pip("uninstall", "-y", "dualgrad-cube")
        forget("dualgrad_cube")
        _registry.reload()
        assert result.returncode == 0, f"pip uninstall failed:\n{result.stdout}\n{result.stderr}"


def test_readme_plugin_package_installs_and_works(readme_plugin: str) -> None:
    """The README's plugin package, installed as written, registers 'cube', and the README's
    claim holds: grad of cube at 2 is 12."""
    _registry.reload()
    cube = dg.primitive("cube")
    assert float(dg.grad(lambda x: dg.primitive("cube")(x))(2.0)) == 12.0
    x = np.array([-1.0, 0.5, 3.0])
    np.testing.assert_allclose(dg.jacobian(cube)(x), np.diag(3 * x**2), rtol=1e-15)
    info = next(p for p in dg.plugins() if p.name == readme_plugin)
    assert (info.status, normalized(info.distribution)) == ("active", "dualgrad-cube")
