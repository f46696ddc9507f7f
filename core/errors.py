"""User-facing errors. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations


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


class RunInterrupted(GanappsError):
    """Training was interrupted (Ctrl-C); a checkpoint was saved and the run can be resumed."""

    exit_code = 130
