"""Built-in plugin: the ``fints`` app (conditional GAN for financial return series)."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type | str], None]) -> None:
    register("ganapps.plugins.fints.app:FinTS")
