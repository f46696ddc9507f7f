"""Built-in plugin: the ``tabular`` conditional GAN for mixed-type tables (CTGAN-style)."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type | str], None]) -> None:
    register("ganapps.plugins.tabular.app:TabularGAN")
