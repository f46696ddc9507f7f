"""The ganapps engine: app contract, Trainer, losses, bundles, plugins — no domain knowledge.

Names are imported on first use (PEP 562), so light commands (``ganapps score`` with a torch-free
scorer, ``ganapps --help``) do not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "App": "app",
    "Diagnostic": "app",
    "Evaluation": "app",
    "NoOptions": "app",
    "OptimizerSpec": "app",
    "Phase": "app",
    "Step": "app",
    "load_bundle": "bundle",
    "save_bundle": "bundle",
    "TrainConfig": "config",
    "TensorData": "data",
    "BundleError": "errors",
    "ConfigError": "errors",
    "DataError": "errors",
    "GanappsError": "errors",
    "PluginError": "errors",
    "hookimpl": "hookspecs",
    "MetricMeaning": "meanings",
    "evaluate_run": "pipeline",
    "generate": "pipeline",
    "generate_file": "pipeline",
    "run": "pipeline",
    "DatasetInfo": "registry",
    "Callback": "callbacks",
    "Trainer": "trainer",
    "TrainResult": "trainer",
    "Unroll": "unroll",
    "ganapps_version": "version",
}

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
    "MetricMeaning",
    "NoOptions",
    "OptimizerSpec",
    "Phase",
    "PluginError",
    "Step",
    "TensorData",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "Unroll",
    "evaluate_run",
    "ganapps_version",
    "generate",
    "generate_file",
    "hookimpl",
    "load_bundle",
    "run",
    "save_bundle",
]

if TYPE_CHECKING:
    from ganapps.core.app import App, Diagnostic, Evaluation, NoOptions, OptimizerSpec, Phase, Step
    from ganapps.core.bundle import load_bundle, save_bundle
    from ganapps.core.callbacks import Callback
    from ganapps.core.config import TrainConfig
    from ganapps.core.data import TensorData
    from ganapps.core.errors import BundleError, ConfigError, DataError, GanappsError, PluginError
    from ganapps.core.hookspecs import hookimpl
    from ganapps.core.meanings import MetricMeaning
    from ganapps.core.pipeline import evaluate_run, generate, generate_file, run
    from ganapps.core.registry import DatasetInfo
    from ganapps.core.trainer import Trainer, TrainResult
    from ganapps.core.unroll import Unroll
    from ganapps.core.version import ganapps_version


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ganapps.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ganapps.core.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
