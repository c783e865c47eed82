"""The plugin package the tests exercise, or a skip when it is not installed.

The tests skip only when the dualgrad-scipy distribution is absent. When it is installed but
does not import (scipy missing or broken, an error in the package), the import error fails the
run: a broken plugin must never read as "skipped".
"""

from __future__ import annotations

import importlib
from importlib import metadata
from types import ModuleType

import pytest

DISTRIBUTION = "dualgrad-scipy"


def require_plugin() -> ModuleType:
    """`dualgrad_scipy`, imported; skips the calling test module when it is not installed."""
    try:
        metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{DISTRIBUTION} is not installed: pip install -e plugins/dualgrad-scipy",
                    allow_module_level=True)
    return importlib.import_module("dualgrad_scipy")
