"""The README's Python example and the docstrings' examples run as written."""

from __future__ import annotations

import doctest
import re
from pathlib import Path
from types import ModuleType

import pytest

from plugin_under_test import require_plugin

require_plugin()

from dualgrad_scipy import optimize, special  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run() -> None:
    """Every ```python block of the package README executes without error."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, "the README has no python example"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})


@pytest.mark.parametrize("module", [special, optimize], ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    """The examples in a module's docstrings give the output they show."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
