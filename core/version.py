"""The installed ganapps version, read from the package metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def ganapps_version() -> str:
    """Version of the installed ``ganapps`` distribution (``0+unknown`` from a bare source tree)."""
    try:
        return version("ganapps")
    except PackageNotFoundError:
        return "0+unknown"
