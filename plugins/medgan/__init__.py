"""Built-in plugin: the ``medgan`` app (synthetic EHR diagnosis codes, Choi et al. 2017)."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type | str], None]) -> None:
    register("ganapps.plugins.medgan.app:MedGAN")
