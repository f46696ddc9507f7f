"""Built-in plugin: SDV's synthesizers (``sdv-ctgan``, ``sdv-tvae``, ``sdv-gaussiancopula``) as apps.

SDV is imported only when one of these apps fits, never by ganapps' own apps.
"""

from __future__ import annotations

from collections.abc import Callable

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type | str], None]) -> None:
    register("ganapps.plugins.sdv_bridge.app:SDVCTGAN")
    register("ganapps.plugins.sdv_bridge.app:SDVTVAE")
    register("ganapps.plugins.sdv_bridge.app:SDVGaussianCopula")
