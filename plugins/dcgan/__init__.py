"""Built-in plugin: the ``dcgan`` and ``cgan`` digit apps."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type], None]) -> None:
    from ganapps.plugins.dcgan.app import CGAN, DCGAN

    register(DCGAN)
    register(CGAN)
