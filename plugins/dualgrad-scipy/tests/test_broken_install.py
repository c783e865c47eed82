"""A plugin that is installed but does not import fails its test run instead of skipping it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_under_test import require_plugin

require_plugin()

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize("error", ["ModuleNotFoundError", "ImportError"],
                         ids=["scipy-missing", "scipy-broken"])
def test_suite_fails_when_scipy_does_not_import(tmp_path: Path, error: str) -> None:
    """With dualgrad-scipy installed and scipy missing or broken, the plugin's tests error out
    (non-zero exit, the import error shown), never "skipped"."""
    fake = tmp_path / "scipy"
    fake.mkdir()
    # a package that shadows the real scipy and fails to import, as a missing one would
    (fake / "__init__.py").write_text(
        f'raise {error}("scipy is broken here", name="scipy")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(TESTS)])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(TESTS / "test_special.py")],
        capture_output=True, text=True, env=env, cwd=TESTS.parent, check=False)
    output = result.stdout + result.stderr
    assert result.returncode not in (0, 5), output
    assert "scipy is broken here" in output
    assert "skipped" not in output
