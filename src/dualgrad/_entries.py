"""What the registry holds: the kinds that layers of dualgrad declare, one entry per registered
thing, what is known of each plugin, and the look-ups by kind and name.

A plugin never displaces a built-in: a name that the built-in plugin registers resolves to the
built-in, and a plugin's thing of the same name is reachable by its qualified name
``"plugin/name"``. Two plugins claiming one name resolve to neither: look-up order never decides.
"""

from __future__ import annotations

import difflib
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ._errors import AmbiguousNameError, PluginWarning, UnknownNameError

__all__ = ["BUILTIN", "Entry", "Kind", "PluginInfo", "Registry", "warn"]

BUILTIN = "builtin"


@attrs.frozen
class Kind:
    """A kind of registered thing, declared by the layer of dualgrad that owns it.

    Args:
        name: the kind's name ("layer"); `plural` names it in messages ("layers").
        spec: the hookspec (marked with `hookspec`) through which plugins register it.
        base: what each registered item must be: an instance of it, or with `classes` a
            subclass of it.
        builtins: what the built-in plugin registers.
        loaded: called with the registry once it is loaded, and with None when it is dropped.
    """

    name: str
    plural: str
    spec: Callable[..., Any]
    base: type
    classes: bool = True
    builtins: tuple[Any, ...] = ()
    loaded: Callable[[Registry | None], None] | None = None

    @property
    def hook(self) -> str:
        return self.spec.__name__

    def accepts(self, item: Any) -> bool:
        if self.classes:
            return isinstance(item, type) and issubclass(item, self.base)
        return isinstance(item, self.base)

    @property
    def expected(self) -> str:
        what = f"dualgrad.{self.base.__name__}"
        return f"a {what} subclass" if self.classes else f"a {what}"


@attrs.frozen
class Entry:
    """One registered thing: its kind, name, the object, and the plugin that gave it."""

    kind: str
    name: str
    obj: Any
    plugin: str

    @property
    def qualified(self) -> str:
        return f"{self.plugin}/{self.name}"


@attrs.frozen
class PluginInfo:
    """What `dualgrad.plugins()` reports of one plugin."""

    name: str
    distribution: str | None
    version: str | None
    status: str  # "active", "disabled" or "failed"
    error: str | None = None
    registered: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    # what went wrong in a plugin that still loaded: a misspelled hook, a name it could not have
    warnings: tuple[str, ...] = ()


class Registry:
    """Everything registered, by kind and name."""

    def __init__(self, kinds: Iterable[Kind]) -> None:
        self.kinds = {kind.name: kind for kind in kinds}
        self._entries: dict[str, dict[str, list[Entry]]] = {k: {} for k in self.kinds}
        self.plugins: list[PluginInfo] = []

    def names(self, kind: str) -> list[str]:
        """The names of `kind` that a look-up can return, qualified names included."""
        table = self._table(kind)
        plain = [n for n, entries in table.items() if self._resolvable(entries)]
        qualified = [e.qualified for entries in table.values() for e in entries
                     if e.plugin != BUILTIN]
        return sorted(plain) + sorted(qualified)

    @staticmethod
    def _resolvable(entries: list[Entry]) -> bool:
        return len(entries) == 1 or any(e.plugin == BUILTIN for e in entries)

    def _table(self, kind: str) -> dict[str, list[Entry]]:
        table = self._entries.get(kind)
        if table is None:
            raise UnknownNameError(f"no kind {kind!r} is declared; the kinds are "
                                   f"{', '.join(self.kinds)}")
        return table

    def get(self, kind: str, name: str) -> Any:
        """The object registered as `name` (or ``"plugin/name"``) of `kind`."""
        table = self._table(kind)
        if not isinstance(name, str):
            raise UnknownNameError(f"a {kind} name must be a str, got {name!r}")
        entries = table.get(name)
        if entries is None and "/" in name:
            plugin, _, short = name.partition("/")
            entries = [e for e in table.get(short, ()) if e.plugin == plugin] or None
        if entries is None:
            known = self.names(kind)
            # a name two plugins share is no answer on its own, but the right one to suggest:
            # looking it up then says which qualified names to choose from
            shared = [n for n, es in table.items() if not self._resolvable(es)]
            close = difflib.get_close_matches(name, known + shared, n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise UnknownNameError(f"no {kind} named {name!r} is registered.{hint} "
                                   f"Registered {self.kinds[kind].plural}: {', '.join(known)}")
        if len(entries) == 1:
            return entries[0].obj
        for e in entries:
            if e.plugin == BUILTIN:
                return e.obj
        raise AmbiguousNameError(
            f"{len(entries)} plugins register a {kind} named {name!r}: "
            f"{', '.join(repr(e.qualified) for e in entries)}; use one of those names"
        )

    def name_of(self, kind: str, obj: Any) -> str:
        """The name that looks `obj` up: its plain name if that resolves to it, else qualified."""
        for e in self.entries(kind):
            if e.obj is obj:
                try:
                    plain = self.get(kind, e.name)
                except KeyError:
                    plain = None
                return e.name if plain is obj else e.qualified
        raise UnknownNameError(f"{obj!r} is not a registered {kind}; register it through a "
                               "plugin to save it by name")

    def entries(self, kind: str) -> list[Entry]:
        return [e for entries in self._table(kind).values() for e in entries]

    def add(self, entries: list[Entry]) -> list[str]:
        """Add one plugin's entries (already validated); returns the warnings it gave."""
        given = []
        for e in entries:
            present = self._entries[e.kind].setdefault(e.name, [])
            if any(other.plugin == BUILTIN for other in present):
                given.append(warn(
                    f"dualgrad plugin {e.plugin!r} registers the {e.kind} {e.name!r}, which is "
                    f"a built-in name: the built-in keeps {e.name!r}, and the plugin's is "
                    f"reachable as {e.qualified!r}"))
            present.append(e)
        return given


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller_level() -> int:
    """The stacklevel of the first frame outside dualgrad and importlib, counted from the
    caller of this function: the user's line whose call loaded the plugins."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None:
        filename = frame.f_code.co_filename
        if not (filename.startswith(_PACKAGE) or filename.startswith("<frozen importlib")):
            break
        frame = frame.f_back
        level += 1
    return level


def warn(message: str) -> str:
    """Warn with a PluginWarning pointing at the user's line; return the message."""
    warnings.warn(message, PluginWarning, stacklevel=_caller_level())
    return message
