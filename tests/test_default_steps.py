"""An app's ``default_steps`` sizes the epochs to the data unless the user gives ``epochs``."""

from __future__ import annotations

import json
from pathlib import Path

from ganapps.core import hookimpl, run
from ganapps.core.testing import RingApp, ring_data


class Budgeted(RingApp):
    name = "ring-budget"
    train_defaults = {"epochs": 50, "batch_size": 64}
    default_steps = 10  # 409 training rows // 64 = 6 batches an epoch → 2 epochs


class Plugin:
    @hookimpl
    def register_apps(self, register) -> None:
        register(Budgeted)


def steps_and_epochs(out: Path) -> tuple[int, int]:
    info = json.loads((out / "run.json").read_text())
    return json.loads((out / "metrics.json").read_text())["training"]["steps"], info["train"]["epochs"]


def test_default_steps_sizes_epochs_unless_given(plugin, tmp_path: Path) -> None:
    plugin(Plugin(), "budget-plugin")
    run("ring-budget", ring_data(512), out=tmp_path / "auto", progress=False, samples=64)
    assert steps_and_epochs(tmp_path / "auto") == (12, 2)
    run("ring-budget", ring_data(512), train={"epochs": 3}, out=tmp_path / "given", progress=False, samples=64)
    assert steps_and_epochs(tmp_path / "given") == (18, 3)
    # a config file's epochs count as given too
    run("ring-budget", ring_data(512), config_file={"epochs": 1}, out=tmp_path / "file", progress=False, samples=64)
    assert steps_and_epochs(tmp_path / "file") == (6, 1)
