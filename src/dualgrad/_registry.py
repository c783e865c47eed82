"""The registry: what every plugin provides, collected once through pluggy.

Plugins are the built-in one and every entry point in the group ``dualgrad``. Each is loaded and
called on its own, so a broken plugin costs only itself: it gives one `PluginWarning` (or, with
``DUALGRAD_STRICT_PLUGINS=1``, a `PluginLoadError`) and everything else keeps working. Broken
means raising anything, ``SystemExit`` included; only ``KeyboardInterrupt`` is let through, as
the user's.

The registry knows no kind of its own: the layers that own a kind declare it (`declare`) with
its hook, what each registered item must be, and the built-ins, which the plugin ``builtin``
registers through that hook like any third-party plugin.

The registry is loaded once per process, under a lock, by whichever thread uses it first; it is
published only when complete, so an interrupted load leaves nothing half-built and the next use
loads again. After loading, look-ups are plain dictionary reads; pluggy and the lock are never on
the hot path.

Environment:
    DUALGRAD_NO_PLUGINS=1         load the built-ins only.
    DUALGRAD_DISABLE_PLUGINS=a,b  skip the entry points named a and b.
    DUALGRAD_STRICT_PLUGINS=1     raise instead of warning when a plugin fails.
"""

from __future__ import annotations

import difflib
import os
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any

import attrs
import pluggy

from ._errors import AmbiguousNameError, PluginLoadError, PluginWarning, UnknownNameError

__all__ = ["ENTRY_POINT_GROUP", "Kind", "PluginInfo", "Registry", "declare", "hookimpl",
           "hookspec", "kinds", "registry", "reload"]

ENTRY_POINT_GROUP = "dualgrad"
BUILTIN = "builtin"
PROJECT = "dualgrad"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


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


_KINDS: dict[str, Kind] = {}


def declare(kind: Kind) -> None:
    """Make `kind` known; a registry loaded before is loaded again on its next use."""
    with _LOCK:
        _KINDS[kind.name] = kind
        _drop()


def kinds() -> list[Kind]:
    """The declared kinds, in the order they were declared."""
    return list(_KINDS.values())


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
                given.append(_warn(
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


def _warn(message: str) -> str:
    warnings.warn(message, PluginWarning, stacklevel=_caller_level())
    return message


def _strict() -> bool:
    return os.environ.get("DUALGRAD_STRICT_PLUGINS", "") not in ("", "0")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _collect(pm: pluggy.PluginManager, name: str, kinds: Iterable[Kind]) -> list[Entry]:
    """Call each hook of plugin `name` and validate what it returns."""
    entries: list[Entry] = []
    seen: set[tuple[str, str]] = set()
    for kind_of in kinds:
        kind, hook_name = kind_of.name, kind_of.hook
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            if impl.plugin_name != name:
                continue
            result = impl.function()
            if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
                raise TypeError(f"hook {hook_name} returned {type(result).__name__}, "
                                f"not an iterable of {kind_of.base.__name__}s")
            for item in result:
                if not kind_of.accepts(item):
                    raise TypeError(f"hook {hook_name} returned {item!r}, which is not "
                                    f"{kind_of.expected}")
                item_name = getattr(item, "name", None)
                if not isinstance(item_name, str) or not item_name or "/" in item_name:
                    raise TypeError(f"hook {hook_name} returned {item!r} whose name "
                                    f"{item_name!r} is not a non-empty str without '/'")
                if (kind, item_name) in seen:
                    raise TypeError(f"the {kind} {item_name!r} is registered twice")
                seen.add((kind, item_name))
                entries.append(Entry(kind, item_name, item, name))
    return entries


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object, known: set[str]) -> list[str]:
    """Names in `plugin` marked as hook implementations that match no hookspec."""
    return [attr for attr in dir(plugin)
            if pm.parse_hookimpl_opts(plugin, attr) is not None and attr not in known]


def _distribution(ep: metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version


def _builtin_plugin(kinds: Iterable[Kind]) -> object:
    """The plugin "builtin": one hook per kind, returning the kind's built-ins."""
    def returning(items: tuple[Any, ...]) -> Callable[[], Iterable[Any]]:
        return lambda: items

    return types.SimpleNamespace(**{kind.hook: hookimpl(returning(kind.builtins))
                                    for kind in kinds if kind.builtins})


def _load() -> Registry:
    kinds = list(_KINDS.values())
    reg = Registry(kinds)
    pm = pluggy.PluginManager(PROJECT)
    for kind in kinds:
        pm.add_hookspecs(type(kind.hook, (), {kind.hook: staticmethod(kind.spec)}))
    hooks = {kind.hook for kind in kinds}

    candidates: list[tuple[str, Any, metadata.EntryPoint | None]] = [
        (BUILTIN, _builtin_plugin(kinds), None)]
    if os.environ.get("DUALGRAD_NO_PLUGINS", "") in ("", "0"):
        disabled = {n.strip() for n in os.environ.get("DUALGRAD_DISABLE_PLUGINS", "").split(",")
                    if n.strip()}
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist, version = _distribution(ep)
            if ep.name in disabled:
                reg.plugins.append(PluginInfo(ep.name, dist, version, "disabled"))
                continue
            try:
                module = ep.load()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit too: a plugin never ends the program
                _record_failure(reg, ep.name, dist, version, f"import failed: {_one_line(exc)}")
                continue
            candidates.append((ep.name, module, ep))

    for name, module, point in candidates:
        dist, version = (_distribution(point) if point is not None
                         else ("dualgrad", _own_version()))
        given: list[str] = []
        try:
            pm.register(module, name=name)
            for hook in _unknown_hooks(pm, module, hooks):
                given.append(_warn(
                    f"dualgrad plugin {name!r} defines {hook!r}, which is no dualgrad hook; "
                    f"the hooks are {', '.join(sorted(hooks))}"))
            entries = _collect(pm, name, kinds)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a plugin's own hook code may raise anything, even exit
            if pm.is_registered(module):
                pm.unregister(module)
            if name == BUILTIN:
                raise
            _record_failure(reg, name, dist, version, _one_line(exc))
            continue
        given += reg.add(entries)
        registered: dict[str, tuple[str, ...]] = {}
        for e in entries:
            registered[e.kind] = (*registered.get(e.kind, ()), e.name)
        reg.plugins.append(PluginInfo(name, dist, version, "active", None, registered,
                                      tuple(given)))
    # the built-in first, then the plugins by name, whether they loaded or not
    reg.plugins.sort(key=lambda info: (info.name != BUILTIN, info.name))
    for kind in kinds:
        if kind.loaded is not None:
            kind.loaded(reg)
    return reg


def _record_failure(reg: Registry, name: str, dist: str | None, version: str | None,
                    why: str) -> None:
    reg.plugins.append(PluginInfo(name, dist, version, "failed", why))
    origin = f" ({dist} {version})" if dist else ""
    if _strict():
        raise PluginLoadError(
            f"dualgrad plugin {name!r}{origin} failed to load: {why}. DUALGRAD_STRICT_PLUGINS "
            f"makes this an error; fix or uninstall {dist or name}, set "
            f"DUALGRAD_DISABLE_PLUGINS={name} to leave it out, or unset DUALGRAD_STRICT_PLUGINS "
            "to skip it with a warning")
    _warn(f"dualgrad plugin {name!r}{origin} was skipped: {why}. Everything else works; to "
          f"silence this, fix or uninstall {dist or name}, or set "
          f"DUALGRAD_DISABLE_PLUGINS={name}")


def _own_version() -> str | None:
    try:
        return metadata.version("dualgrad")
    except metadata.PackageNotFoundError:
        return None


_REGISTRY: Registry | None = None
# Held while plugins load: threads that use the registry first together wait for one load. It
# is reentrant so that a plugin looking names up while it loads gets an error, not a deadlock.
_LOCK = threading.RLock()
_loading = False


def registry() -> Registry:
    """The registry, loaded on first use: once per process, whichever threads ask."""
    global _REGISTRY, _loading
    loaded = _REGISTRY
    if loaded is not None:
        return loaded
    with _LOCK:
        if _REGISTRY is None:
            if _loading:
                raise PluginLoadError(
                    "a plugin used the dualgrad registry while dualgrad was loading it (at "
                    "import or in a hook); look names up when the plugin's functions run, not "
                    "while it loads")
            _loading = True
            try:
                _REGISTRY = _load()
            finally:
                _loading = False
        return _REGISTRY


def reload() -> Registry:
    """Forget the loaded registry and load the plugins again (after installing one, say)."""
    with _LOCK:
        _drop()
        return registry()


def _drop() -> None:
    """Forget the loaded registry (under the lock); the kinds forget what they took from it."""
    global _REGISTRY
    if _REGISTRY is None:
        return
    _REGISTRY = None
    for kind in _KINDS.values():
        if kind.loaded is not None:
            kind.loaded(None)
