"""Built-in plugin: the ``fraud`` app (adversarial denoising autoencoder fraud scorer)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type | str], None]) -> None:
    register("ganapps.plugins.fraud.app:Fraud")


@hookimpl
def register_scorers(register: Callable[[str, Callable[[Path], Any]], None]) -> None:
    # numpy only: `ganapps score` on a fraud bundle never imports torch
    from ganapps.plugins.fraud.scoring import Scorer

    register("fraud", Scorer.load)
