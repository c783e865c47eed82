"""The package's files and classes stay small enough to read: the size limits of its design.

No file in src/dualgrad over 400 lines, no class over 300, and the modules `Model` is made of
(its own, the mixins it inherits from, its engine, trainer, weights and files) under 300 each.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import dualgrad as dg

SRC = Path(__file__).resolve().parents[1] / "src" / "dualgrad"

FILE_LIMIT = 400
CLASS_LIMIT = 300
MODEL_MODULE_LIMIT = 300

# the modules the model delegates to (those it inherits from are found from its classes)
MODEL_MODULES = ("dualgrad.model", "dualgrad._weights", "dualgrad._gradients",
                 "dualgrad._training", "dualgrad._history", "dualgrad._updating",
                 "dualgrad._model_file", "dualgrad._archive", "dualgrad._training_state")


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_file_is_over_400_lines() -> None:
    """Every Python file of src/dualgrad has at most 400 lines."""
    long = {str(p.relative_to(SRC)): _lines(p) for p in SRC.rglob("*.py")
            if _lines(p) > FILE_LIMIT}
    assert not long, f"files over {FILE_LIMIT} lines (split them by concern): {long}"


def test_no_class_is_over_300_lines() -> None:
    """Every class of src/dualgrad spans at most 300 lines, decorators to last line."""
    long = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                size = (node.end_lineno or node.lineno) - first + 1
                if size > CLASS_LIMIT:
                    long[f"{path.relative_to(SRC)}:{node.name}"] = size
    assert not long, f"classes over {CLASS_LIMIT} lines: {long}"


def test_each_module_of_the_model_is_under_300_lines() -> None:
    """Model's modules (its own, its mixins', and those it delegates to) are under 300 lines."""
    names = set(MODEL_MODULES) | {cls.__module__ for cls in dg.Model.__mro__
                                  if cls.__module__.startswith("dualgrad.")}
    sizes = {name: _lines(Path(importlib.import_module(name).__file__ or ""))
             for name in sorted(names)}
    long = {name: size for name, size in sizes.items() if size >= MODEL_MODULE_LIMIT}
    assert not long, f"Model's modules of {MODEL_MODULE_LIMIT} lines or more: {long}"
