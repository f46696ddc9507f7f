"""Built-in plugin: the ``ecommerce`` app (eCommerceGAN / ec²GAN synthetic orders)."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type | str], None]) -> None:
    register("ganapps.plugins.ecommerce.app:ECommerceGAN")
