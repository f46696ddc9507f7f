"""Built-in plugin: the ``fints`` app (conditional GAN for financial return series)."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type], None]) -> None:
    from ganapps.plugins.fints.app import FinTS

    register(FinTS)
