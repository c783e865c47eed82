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

import os
import threading
import types
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any

import pluggy

from ._entries import BUILTIN, Entry, Kind, PluginInfo, Registry, warn
from ._errors import ConfigError, PluginLoadError

__all__ = ["ENTRY_POINT_GROUP", "LOCAL", "Kind", "PluginInfo", "Registry", "declare", "hookimpl",
           "hookspec", "kinds", "register", "registry", "reload"]

ENTRY_POINT_GROUP = "dualgrad"
PROJECT = "dualgrad"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


_KINDS: dict[str, Kind] = {}

# what `register` added in this process, kept across reloads: (kind, name) -> object
LOCAL = "local"
_LOCAL: dict[tuple[str, str], Any] = {}


def declare(kind: Kind) -> None:
    """Make `kind` known; a registry loaded before is loaded again on its next use."""
    with _LOCK:
        _KINDS[kind.name] = kind
        _drop()


def kinds() -> list[Kind]:
    """The declared kinds, in the order they were declared."""
    return list(_KINDS.values())


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
            if ep.name == BUILTIN:
                _record_failure(reg, ep.name, dist, version,
                                f"its entry point is named {BUILTIN!r}, the name of dualgrad's "
                                "own plugin; the plugin's author must rename it")
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
                given.append(warn(
                    f"dualgrad plugin {name!r} defines {hook!r}, which is no dualgrad hook; "
                    f"the hooks are {', '.join(sorted(hooks))}"))
            entries = _collect(pm, name, kinds)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a plugin's own hook code may raise anything, even exit
            if pm.is_registered(module):
                pm.unregister(module)
            if point is None:  # the built-in plugin itself: a bug in dualgrad
                raise
            _record_failure(reg, name, dist, version, _one_line(exc))
            continue
        given += reg.add(entries)
        registered: dict[str, tuple[str, ...]] = {}
        for e in entries:
            registered[e.kind] = (*registered.get(e.kind, ()), e.name)
        reg.plugins.append(PluginInfo(name, dist, version, "active", None, registered,
                                      tuple(given)))
    _add_local(reg)
    # the built-in first, then the plugins by name, whether they loaded or not
    reg.plugins.sort(key=lambda info: (info.name != BUILTIN, info.name))
    for kind in kinds:
        if kind.loaded is not None:
            kind.loaded(reg)
    return reg


def _add_local(reg: Registry) -> None:
    """Add what `register` registered in this process, as the plugin "local"."""
    entries = [Entry(kind, name, obj, LOCAL) for (kind, name), obj in _LOCAL.items()
               if kind in reg.kinds]
    reg.plugins[:] = [info for info in reg.plugins if info.name != LOCAL]
    if entries:
        reg.add(entries)
        registered: dict[str, tuple[str, ...]] = {}
        for e in entries:
            registered[e.kind] = (*registered.get(e.kind, ()), e.name)
        reg.plugins.append(PluginInfo(LOCAL, None, None, "active", None, registered))


def register(obj: Any, kind: str, name: str | None = None) -> None:
    """Register `obj` as a `kind` named `name` (default: its ``name`` attribute) in this
    process, as if a plugin called "local" had: for a part defined in a script or notebook.

    Registering a name again replaces what "local" had under it (a class redefined in a
    notebook); a name another plugin has is refused.
    """
    reg = registry()
    kind_of = reg.kinds.get(kind) if isinstance(kind, str) else None
    if kind_of is None:
        raise ConfigError(f"no kind {kind!r} to register into; the kinds are "
                          f"{', '.join(reg.kinds)}")
    if not kind_of.accepts(obj):
        raise ConfigError(f"cannot register {obj!r} as a {kind}: it is not {kind_of.expected}")
    if name is None:
        name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name or "/" in name:
        raise ConfigError(f"a registered {kind} needs a name: a non-empty str without '/'; got "
                          f"{name!r} (pass name=...)")
    taken = [e for e in reg.entries(kind) if e.name == name and e.plugin != LOCAL]
    if taken:
        raise ConfigError(f"the {kind} name {name!r} is taken by the plugin "
                          f"{taken[0].plugin!r}; register yours under another name")
    with _LOCK:
        _LOCAL[(kind, name)] = obj
        _drop()


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
    warn(f"dualgrad plugin {name!r}{origin} was skipped: {why}. Everything else works; to "
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
