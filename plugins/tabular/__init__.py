"""Built-in plugin: the ``tabular`` conditional GAN for mixed-type tables (CTGAN-style)."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type], None]) -> None:
    from ganapps.plugins.tabular.app import TabularGAN

    register(TabularGAN)
