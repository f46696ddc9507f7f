"""Built-in plugin: SDV's synthesizers (``sdv-ctgan``, ``sdv-tvae``, ``sdv-gaussiancopula``) as apps.

SDV is imported only when one of these apps fits, never by ganapps' own apps.
"""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type], None]) -> None:
    # imported when the apps are asked for, so that loading plugins stays light (no torch)
    from ganapps.plugins.sdv_bridge.app import SDVCTGAN, SDVTVAE, SDVGaussianCopula

    register(SDVCTGAN)
    register(SDVTVAE)
    register(SDVGaussianCopula)
