"""Adding a built-in primitive is one module edit: each module of dualgrad.primitives lists
the primitives it defines in its PRIMITIVES, and the built-ins are exactly those lists."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import dualgrad as dg
from dualgrad import primitives
from dualgrad._registry import registry


def _modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.iter_modules(primitives.__path__) if m.name != "_numpy"]
    return [importlib.import_module(f"dualgrad.primitives.{name}") for name in sorted(names)]


MODULES = _modules()


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_each_module_lists_the_primitives_it_defines(module: ModuleType) -> None:
    """Every Primitive a module defines (not one it imports) is in its PRIMITIVES, once."""
    listed = module.PRIMITIVES
    others = {id(p) for m in MODULES if m is not module for p in m.PRIMITIVES}
    defined = {id(v) for v in vars(module).values()
               if isinstance(v, dg.Primitive) and id(v) not in others}
    assert len(set(map(id, listed))) == len(listed), "a primitive is listed twice"
    assert {id(p) for p in listed} == defined


def test_the_builtins_are_the_modules_lists() -> None:
    """BUILTIN_PRIMITIVES is every module's list, and each built-in is registered by name."""
    gathered = {id(p) for m in MODULES for p in m.PRIMITIVES}
    assert {id(p) for p in primitives.BUILTIN_PRIMITIVES} == gathered
    assert len(primitives.BUILTIN_PRIMITIVES) == len(gathered)
    builtin = {e.name for e in registry().entries("primitive") if e.plugin == "builtin"}
    assert {p.name for p in primitives.BUILTIN_PRIMITIVES} == builtin
