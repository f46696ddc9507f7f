"""Plugin loading: built-in modules plus entry points of group ``ganapps`` (llm/datasette style).

``GANAPPS_LOAD_PLUGINS=a,b`` loads only those third-party plugins (empty: none); built-ins always
load. A plugin that fails to import or raises in a hook is skipped with a warning.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from functools import partial
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy

from ganapps.core import hookspecs
from ganapps.core.errors import PluginError
from ganapps.core.registry import Registry
from ganapps.core.version import ganapps_version

log = logging.getLogger("ganapps.plugins")

pm = pluggy.PluginManager("ganapps")
pm.add_hookspecs(hookspecs)

_loaded = False
_registry: Registry | None = None
_scorers: dict[str, Callable[[Path], Any]] | None = None
#: plugin name → distribution version (third-party) for ``ganapps plugins list``
plugin_versions: dict[str, str] = {}
#: plugin name → why it was skipped
broken: dict[str, str] = {}


def load_plugins() -> None:
    """Register built-in plugins and allowed entry-point plugins, once per process."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from ganapps.plugins import DEFAULT_PLUGINS

    for name in DEFAULT_PLUGINS:
        _register(name, partial(importlib.import_module, name), ganapps_version())
    allowed = os.environ.get("GANAPPS_LOAD_PLUGINS")
    allow = None if allowed is None else {a.strip() for a in allowed.split(",") if a.strip()}
    for ep in entry_points(group="ganapps"):
        dist = ep.dist.name if ep.dist else ep.name
        if allow is not None and ep.name not in allow and dist not in allow:
            continue
        _register(ep.name, ep.load, ep.dist.version if ep.dist else "")


def _register(name: str, load: Any, dist_version: str) -> None:
    if pm.has_plugin(name):
        return
    try:
        module = load()
        pm.register(module, name=name)
    except Exception as exc:  # a broken plugin must not break ganapps
        broken[name] = f"{type(exc).__name__}: {exc}"
        log.warning("plugin %s failed to load and was skipped: %s", name, broken[name])
        return
    plugin_versions[name] = dist_version


def _call_each(hook_name: str, **kwargs: Any) -> None:
    """Call each implementation separately so one failing plugin is skipped, not fatal."""
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        args = {
            k: (partial(v, plugin=impl.plugin_name) if callable(v) and k == "register" else v)
            for k, v in kwargs.items()
        }
        try:
            impl.function(*[args[a] for a in impl.argnames])
        except PluginError:
            raise
        except Exception as exc:
            broken[impl.plugin_name] = f"{hook_name}: {type(exc).__name__}: {exc}"
            log.warning("plugin %s failed in %s and was skipped: %s", impl.plugin_name, hook_name, exc)


def get_registry() -> Registry:
    """Apps, datasets and metrics from every loaded plugin (built once, then cached)."""
    global _registry
    if _registry is None:
        load_plugins()
        reg = Registry()
        _call_each("register_apps", register=lambda cls, plugin: reg.add_app(cls, plugin))
        _call_each("register_datasets", register=lambda info, plugin: reg.add_dataset(info, plugin))
        _call_each(
            "register_metrics",
            register=lambda name, fn, plugin, **kw: reg.add_metric(name, fn, plugin, **kw),
        )
        _registry = reg
    return _registry


def get_datasets() -> dict[str, Any]:
    """Registered sample datasets, without registering apps (so without importing torch)."""
    if _registry is not None:
        return _registry.datasets
    load_plugins()
    reg = Registry()
    _call_each("register_datasets", register=lambda info, plugin: reg.add_dataset(info, plugin))
    return reg.datasets


def dataset_path(name: str) -> Path | None:
    """The file or folder of the registered sample dataset ``name`` (``--data NAME``), else None."""
    info = get_datasets().get(name)
    return Path(info.path) if info is not None else None


def get_scorers() -> dict[str, Callable[[Path], Any]]:
    """App name → loader of its torch-free scorer, from every loaded plugin (cached; imports no app)."""
    global _scorers
    if _scorers is None:
        load_plugins()
        found: dict[str, Callable[[Path], Any]] = {}

        def add(app: str, load: Callable[[Path], Any], plugin: str) -> None:
            if app in found:
                raise PluginError(f"plugin {plugin}: a scorer for app {app!r} is already registered")
            found[app] = load

        _call_each("register_scorers", register=add)
        _scorers = found
    return _scorers


def reset_registry() -> None:
    """Forget the cached registry (after registering or unregistering a plugin at run time)."""
    global _registry, _scorers
    _registry = None
    _scorers = None


def register_commands(cli: Any) -> None:
    """Let plugins add commands to the CLI."""
    load_plugins()
    _call_each("register_commands", cli=cli)


def plugin_info() -> list[dict[str, Any]]:
    """Name, version, hooks and apps of every loaded plugin, for ``ganapps plugins list``."""
    registry = get_registry()
    out = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        out.append(
            {
                "name": name,
                "version": plugin_versions.get(name, ""),
                "hooks": hooks,
                "apps": sorted(a.name for a in registry.apps.values() if a.plugin == name),
                "datasets": sorted(d.name for d in registry.datasets.values() if d.plugin == name),
            }
        )
    for name, why in broken.items():
        if not any(p["name"] == name for p in out):
            out.append({"name": name, "version": "", "hooks": [], "apps": [], "error": why})
        else:
            next(p for p in out if p["name"] == name)["error"] = why
    return sorted(out, key=lambda p: p["name"])
