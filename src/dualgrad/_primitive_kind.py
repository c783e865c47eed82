"""The primitive kind: its hook, the built-in primitives, and the NumPy dispatch table.

Declared to the registry here, one layer above the primitives themselves. When the registry
loads, every registered primitive that `implements` a NumPy or SciPy function goes into the
numpy layer's dispatch table, so ``np.exp(v)`` finds its primitive without a registry look-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import _dispatch, _registry
from ._core import Primitive
from ._entries import BUILTIN, Entry
from .primitives import BUILTIN_PRIMITIVES

__all__ = ["dualgrad_register_primitives", "lookup"]


@_registry.hookspec
def dualgrad_register_primitives() -> Iterable[Primitive]:  # type: ignore[empty-body]
    """Return the `dualgrad.Primitive` objects this plugin provides.

    Each is found afterwards by ``dualgrad.primitive(name)``.
    """


def lookup(name: str) -> Primitive:
    """The registered primitive called `name` (or ``"plugin/name"``)."""
    return _registry.registry().get("primitive", name)  # type: ignore[no-any-return]


def _fill_dispatch(reg: _registry.Registry | None) -> None:
    """Give the numpy layer the function -> primitive table of the registry `reg`: a
    built-in's primitive if there is one, else the only plugin's; several plugins claiming a
    function is a conflict (load order never decides)."""
    if reg is None:
        _dispatch.use_implementations(None, {})
        return
    claims: dict[Any, list[Entry]] = {}
    for e in reg.entries("primitive"):
        if e.obj.implements is not None:
            claims.setdefault(e.obj.implements, []).append(e)
    table: dict[Any, Primitive] = {}
    conflicts: dict[Any, tuple[str, ...]] = {}
    for fn, entries in claims.items():
        builtin = [e for e in entries if e.plugin == BUILTIN]
        if builtin or len(entries) == 1:
            table[fn] = (builtin or entries)[0].obj
        else:
            conflicts[fn] = tuple(e.qualified for e in entries)
    _dispatch.use_implementations(table, conflicts)


_registry.declare(_registry.Kind(
    "primitive", "primitives", dualgrad_register_primitives, Primitive, classes=False,
    builtins=BUILTIN_PRIMITIVES, loaded=_fill_dispatch))
_dispatch.load_implementations_with(_registry.registry)
