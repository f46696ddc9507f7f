"""The hooks a ganapps plugin can implement. Each is documented in docs/plugins.md."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pluggy

hookspec = pluggy.HookspecMarker("ganapps")
hookimpl = pluggy.HookimplMarker("ganapps")


@hookspec
def register_apps(register: Callable[[type | str], None]) -> None:
    """Register GAN applications: ``register("package.module:AppClass")`` (listed without importing the module) or ``register(AppClass)``."""


@hookspec
def register_datasets(register: Callable[[Any], None]) -> None:
    """Register sample datasets by calling ``register(DatasetInfo(...))`` for each."""


@hookspec
def register_metrics(register: Callable[..., None]) -> None:
    """Register extra metrics by calling ``register(name, fn, kinds=(...), description=...)``."""


@hookspec
def register_scorers(register: Callable[[str, Callable[[Path], Any]], None]) -> None:
    """Register torch-free batch scorers by calling ``register(app_name, load)``, ``load(bundle_dir)`` returning one."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``ganapps`` command line."""
