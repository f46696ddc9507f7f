"""The ganapps engine: app contract, Trainer, losses, bundles, plugins — no domain knowledge."""

from ganapps.core.app import App, Diagnostic, Evaluation, NoOptions, OptimizerSpec, Phase, Step
from ganapps.core.bundle import load_bundle, save_bundle
from ganapps.core.config import TrainConfig
from ganapps.core.data import TensorData
from ganapps.core.errors import BundleError, ConfigError, DataError, GanappsError, PluginError
from ganapps.core.hookspecs import hookimpl
from ganapps.core.pipeline import evaluate_run, generate, run
from ganapps.core.registry import DatasetInfo
from ganapps.core.trainer import Callback, Trainer, TrainResult
from ganapps.core.version import ganapps_version

__all__ = [
    "App",
    "BundleError",
    "Callback",
    "ConfigError",
    "DataError",
    "DatasetInfo",
    "Diagnostic",
    "Evaluation",
    "GanappsError",
    "NoOptions",
    "OptimizerSpec",
    "Phase",
    "PluginError",
    "Step",
    "TensorData",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "evaluate_run",
    "ganapps_version",
    "generate",
    "hookimpl",
    "load_bundle",
    "run",
    "save_bundle",
]
