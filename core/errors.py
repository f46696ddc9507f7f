"""User-facing errors. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations

from pathlib import Path


class GanappsError(Exception):
    """Base class for errors caused by bad input or configuration, not by a bug."""


class DataError(GanappsError):
    """The input data cannot be used (missing file, column, wrong type, empty...)."""


class ConfigError(GanappsError):
    """An option, config file or argument is invalid."""


class BundleError(GanappsError):
    """A model bundle or checkpoint is missing, corrupt or unsafe."""


class PluginError(GanappsError):
    """Plugins conflict or register invalid objects."""


class RunFailed(GanappsError):
    """A step after training (calibration, the bundle, the sample, evaluation, the report) failed.

    ``run.json`` says ``"status": "failed"`` with the reason; the trained bundle is kept when it was saved.
    """

    def __init__(self, message: str, run_dir: Path | None = None) -> None:
        super().__init__(message)
        #: the run directory, for callers of the Python API
        self.run_dir = run_dir


class RunInterrupted(GanappsError):
    """Training was interrupted (Ctrl-C); a checkpoint was saved and the run can be resumed."""

    exit_code = 130


def one_line(exc: BaseException) -> str:
    """An exception as one line: its message's first line (prefixed by its type unless it is ours)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if not isinstance(exc, GanappsError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
