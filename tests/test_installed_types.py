"""dualgrad's type hints reach its users: an editable install is a plain path entry for src/
(no import hook that type checkers and editors cannot follow), and mypy, run on a script
outside the checkout, checks calls against dualgrad's annotations."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# setuptools' own build backend, as pip calls it for `pip install -e .`
BUILD_EDITABLE = """
import sys
from setuptools import build_meta
print(build_meta.build_editable(sys.argv[1]))
"""


def test_editable_wheel_is_a_path_entry_for_src(tmp_path: Path) -> None:
    """The editable wheel installs one .pth file naming src/ and no module: no finder hook."""
    done = subprocess.run([sys.executable, "-c", BUILD_EDITABLE, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    wheel = tmp_path / done.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        pth = [name for name in names if name.endswith(".pth")]
        assert len(pth) == 1, names
        entries = archive.read(pth[0]).decode().split()
    installed = [name for name in names if ".dist-info/" not in name and name not in pth]
    assert installed == [], f"the editable wheel installs more than a path entry: {installed}"
    assert [Path(entry).resolve() for entry in entries] == [(ROOT / "src").resolve()]


USE_WRONGLY = """
import dualgrad as dg


def f(x: float) -> float:
    return x * x


slope = dg.grad(f, chunk_size="big")(1.0)
"""


def test_mypy_checks_a_script_against_dualgrads_annotations(tmp_path: Path) -> None:
    """mypy run on a script outside the checkout finds dualgrad (py.typed) as installed and
    reports a call to `grad` with an argument of the wrong type."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed; the lint extra has it: pip install -e '.[lint]'")
    script = tmp_path / "use_dualgrad.py"
    script.write_text(USE_WRONGLY, encoding="utf-8")
    config = tmp_path / "mypy.ini"  # no user or project configuration
    config.write_text("[mypy]\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "MYPYPATH"}
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(config),
                           "--cache-dir", str(tmp_path / "cache"), script.name],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    out = done.stdout + done.stderr
    assert "import-not-found" not in out and "import-untyped" not in out, out
    assert 'Argument "chunk_size" to "grad" has incompatible type "str"' in out, out
    assert done.returncode == 1, out
