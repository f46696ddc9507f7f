"""Failures around training: checked before it where possible, else one line (exit 2), the bundle
kept and ``run.json`` marked failed with the reason — never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ganapps.cli.testing import cli_fails as fails
from ganapps.core import hookimpl, load_bundle, run
from ganapps.core.errors import DataError, RunFailed
from ganapps.core.testing import RingApp, ring_data
from ganapps.plugins.medgan.data import load_codes

TRAIN = ["--epochs", "1", "--batch-size", "64"]


class Failing(RingApp):
    """The ring app, whose evaluation fails after training like scikit-learn on a degenerate sample."""

    name = "ring-fails"

    def evaluate(self, real: Any, synthetic: Any, train: Any = None) -> Any:
        raise ValueError("Found array with 0 feature(s) (shape=(40, 0))\nwhile a minimum of 1 is required.")


class Plugin:
    @hookimpl
    def register_apps(self, register: Any) -> None:
        register(Failing)


@pytest.fixture
def ring_csv(in_tmp: Path, plugin: Any) -> Path:
    """``ring.csv`` (x, y) in the working directory, with the failing ring app registered."""
    plugin(Plugin(), "failing-plugin")
    pl.DataFrame(ring_data(256).numpy(), schema=["x", "y"]).write_csv(in_tmp / "ring.csv")
    return in_tmp / "ring.csv"


def test_medgan_wide_table_without_codes_fails_before_training(in_tmp: Path) -> None:
    """The issue's case: subject_id plus hadm_id (an id, not a code) is refused before any training."""
    pl.DataFrame({"subject_id": range(1, 41), "hadm_id": range(100_001, 100_041)}).write_csv(in_tmp / "ehr.csv")
    line = fails("run", "medgan", "--data", "ehr.csv", "--epochs", "1", "--ae-epochs", "1", "--out", "run")
    assert "ehr.csv" in line and "'hadm_id'" in line and "looks like an id" in line
    assert not (in_tmp / "run").exists()  # refused before the run directory is made
    # one real code column is refused too: no co-occurrence to learn or evaluate
    pl.DataFrame({"subject_id": range(1, 41), "4019": [i % 2 for i in range(40)]}).write_csv(in_tmp / "one.csv")
    line = fails("run", "medgan", "--data", "one.csv", "--epochs", "1", "--out", "run")
    assert "one.csv" in line and "'4019'" in line and "at least 2" in line
    with pytest.raises(DataError, match="visit_id"):
        load_codes(pl.DataFrame({"patient_id": ["a", "b", "c", "d"], "visit_id": [1, 2, 3, 4], "c1": [1, 0, 1, 0]}))


def test_evaluation_failing_after_training_is_one_line_and_keeps_the_bundle(ring_csv: Path) -> None:
    line = fails("run", "ring-fails", "--data", str(ring_csv), *TRAIN, "--out", "run")
    assert "evaluation failed: ValueError: Found array with 0 feature(s)" in line
    assert "run/bundle" in line  # says where the trained model is
    out = ring_csv.parent / "run"
    assert load_bundle(out).name == "ring-fails"  # the trained bundle is kept and loads
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed"
    assert info["error"] == "evaluation failed: ValueError: Found array with 0 feature(s) (shape=(40, 0))"
    assert not (out / "metrics.json").exists() and not list(out.rglob("*.tmp"))


def test_report_failing_after_training_is_one_line(ring_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plot or the report failing is the same: one line, the bundle kept, run.json failed."""

    def broken(*_: Any, **__: Any) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr("ganapps.core.pipeline.write_report", broken)
    monkeypatch.setattr(Failing, "evaluate", RingApp.evaluate)
    line = fails("run", "ring-fails", "--data", str(ring_csv), *TRAIN, "--out", "run")
    assert "writing the report failed: OSError: No space left on device" in line
    info = json.loads((ring_csv.parent / "run" / "run.json").read_text())
    assert info["status"] == "failed" and info["error"].startswith("writing the report failed")
    assert (ring_csv.parent / "run" / "bundle" / "weights.safetensors").exists()


def test_python_api_raises_run_failed_with_the_run_directory(plugin: Any, tmp_path: Path) -> None:
    plugin(Plugin(), "failing-plugin")
    with pytest.raises(RunFailed, match="evaluation failed") as caught:
        run("ring-fails", ring_data(256), train={"epochs": 1}, out=tmp_path / "run", progress=False)
    assert caught.value.run_dir == tmp_path / "run"


def test_bad_settings_fail_before_the_run_directory(ring_csv: Path) -> None:
    assert "--samples" in fails("run", "ring-fails", "--data", str(ring_csv), *TRAIN, "--samples", "0", "--out", "a")
    assert "--eval-every" in fails(
        "run", "ring-fails", "--data", str(ring_csv), *TRAIN, "--patience", "2", "--out", "b"
    )
    assert not (ring_csv.parent / "a").exists() and not (ring_csv.parent / "b").exists()
