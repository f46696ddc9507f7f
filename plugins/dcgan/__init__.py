"""Built-in plugin: the ``dcgan`` and ``cgan`` digit apps."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl
from ganapps.plugins.dcgan.app import CGAN, DCGAN


@hookimpl
def register_apps(register: Callable[[type], None]) -> None:
    register(DCGAN)
    register(CGAN)
