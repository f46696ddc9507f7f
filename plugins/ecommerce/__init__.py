"""Built-in plugin: the ``ecommerce`` app (eCommerceGAN / ec²GAN synthetic orders)."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type], None]) -> None:
    from ganapps.plugins.ecommerce.app import ECommerceGAN

    register(ECommerceGAN)
