"""Built-in plugin: the ``stylegan`` app (StyleGAN2-style generator, progressive growing as an option)."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type | str], None]) -> None:
    register("ganapps.plugins.stylegan.app:StyleGAN")
