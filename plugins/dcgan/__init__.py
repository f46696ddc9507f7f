"""Built-in plugin: the ``dcgan`` and ``cgan`` digit apps."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type | str], None]) -> None:
    register("ganapps.plugins.dcgan.app:DCGAN")
    register("ganapps.plugins.dcgan.app:CGAN")
