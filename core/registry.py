"""What plugins register: apps, datasets and metrics, with the plugin each came from."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ganapps.core.errors import ConfigError, PluginError

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class AppInfo:
    """A registered app: what listings show, and its class, imported on first use of ``cls``."""

    name: str
    plugin: str
    kind: str
    description: str
    ref: type | str  # the class, or "package.module:Class" (core/appref.py)

    @cached_property
    def cls(self) -> type:
        if isinstance(self.ref, type):
            return self.ref
        from ganapps.core import appref

        cls = appref.load(self.ref)
        _check_app(cls)
        listed = (self.name, self.kind, self.description)
        if (cls.name, cls.kind, cls.description) != listed:  # the source reading went wrong somewhere
            raise PluginError(f"app {self.ref!r} of plugin {self.plugin!r} is not what its source says")
        return cls


@dataclass(frozen=True)
class DatasetInfo:
    """A sample dataset shipped by a plugin: usable as ``--data NAME``."""

    name: str
    path: Path
    apps: tuple[str, ...]
    rows: int
    licence: str
    description: str = ""
    source: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class MetricInfo:
    """An extra metric ``fn(real, synthetic, app) -> dict[str, float]`` for apps of some kinds."""

    name: str
    fn: Callable[..., dict[str, Any]]
    kinds: tuple[str, ...]
    description: str = ""
    plugin: str = ""


@dataclass
class Registry:
    apps: dict[str, AppInfo] = field(default_factory=dict)
    datasets: dict[str, DatasetInfo] = field(default_factory=dict)
    metrics: dict[str, MetricInfo] = field(default_factory=dict)

    def app(self, name: str) -> type:
        """The app class called ``name``, or a ConfigError listing the available ones."""
        if name not in self.apps:
            known = ", ".join(sorted(self.apps)) or "none"
            raise ConfigError(f"unknown app {name!r} (available: {known}; see `ganapps apps`)")
        return self.apps[name].cls

    def metrics_for(self, kind: str) -> list[MetricInfo]:
        return [m for m in self.metrics.values() if kind in m.kinds or "*" in m.kinds]

    # -- registration callbacks, bound to the plugin that calls them
    def add_app(self, app: Any, plugin: str) -> None:
        """Register an App subclass, or a ``"package.module:Class"`` reference to one (listed from
        its source without importing it: core/appref.py)."""
        info = _app_info(app, plugin)
        if info.name in self.apps:
            other = self.apps[info.name].plugin
            raise PluginError(f"app name {info.name!r} is registered by both plugin {other!r} and plugin {plugin!r}")
        self.apps[info.name] = info

    def add_dataset(self, info: Any, plugin: str) -> None:
        if not isinstance(info, DatasetInfo):
            raise TypeError(f"register() expects a DatasetInfo, got {info!r}")
        if info.name in self.datasets:
            other = self.datasets[info.name].plugin
            raise PluginError(
                f"dataset name {info.name!r} is registered by both plugin {other!r} and plugin {plugin!r}"
            )
        self.datasets[info.name] = DatasetInfo(**{**info.__dict__, "plugin": plugin})

    def add_metric(
        self,
        name: str,
        fn: Callable[..., dict[str, Any]],
        plugin: str,
        kinds: tuple[str, ...] = ("*",),
        description: str = "",
    ) -> None:
        if not callable(fn):
            raise TypeError(f"metric {name!r}: fn must be callable")
        if name in self.metrics:
            other = self.metrics[name].plugin
            raise PluginError(f"metric name {name!r} is registered by both plugin {other!r} and plugin {plugin!r}")
        self.metrics[name] = MetricInfo(
            name, fn, tuple(kinds), description or (fn.__doc__ or "").strip().split("\n")[0], plugin
        )


def _app_info(app: Any, plugin: str) -> AppInfo:
    if isinstance(app, str):
        from ganapps.core import appref

        meta = appref.read_metadata(app)
        if meta is not None:
            if not NAME.match(meta["name"]):
                raise TypeError(f"app {app} has an invalid name {meta['name']!r}")
            return AppInfo(meta["name"], plugin, meta["kind"], meta["description"], app)
        try:  # a computed name, kind or description: only importing tells
            app = appref.load(app)
        except PluginError as exc:  # an ImportError skips this plugin (listed as broken); a PluginError is fatal
            raise ImportError(str(exc)) from exc
    _check_app(app)
    return AppInfo(app.name, plugin, app.kind, app.description, app)


def _check_app(cls: Any) -> None:
    from ganapps.core.app import App

    if not (isinstance(cls, type) and issubclass(cls, App)):
        raise TypeError(f"register() expects an App subclass or a 'package.module:Class' reference, got {cls!r}")
    if not NAME.match(cls.name or ""):
        raise TypeError(f"app class {cls.__name__} has an invalid name {cls.name!r}")
