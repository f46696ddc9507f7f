"""Built-in plugin: the ``fraud`` app (adversarial denoising autoencoder fraud scorer)."""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl
from ganapps.plugins.fraud.app import Fraud


@hookimpl
def register_apps(register: Callable[[type], None]) -> None:
    register(Fraud)
