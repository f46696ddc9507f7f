"""fraud --augment: the fraud-class GAN oversampler and the supervised head it feeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ganapps.cli.testing import cli_fails, cli_ok
from ganapps.core.errors import DataError
from ganapps.core.io import read_json
from ganapps.datasets import HERE
from ganapps.plugins.fraud import augment as A

SAMPLE = HERE / "creditcard" / "creditcard_sample.csv"


def test_augment_cli_reports_both_heads(in_tmp: Path) -> None:
    cli_ok("run", "fraud", "--epochs", "2", "--augment", "--augment-epochs", "5", "--out", "r", "--samples", "50")
    m = read_json(Path("r") / "metrics.json")["metrics"]
    head = m["augmented_head"]
    frame = pl.read_csv(SAMPLE)
    frauds = int(frame["Class"].sum())
    # the fit part of the training split: 80% of 80% of the frauds (stratified), never the holdout
    assert head["real_frauds"] == pytest.approx(0.64 * frauds, abs=2)
    normals = round(0.64 * (frame.height - frauds))
    assert head["synthetic_frauds"] == pytest.approx(normals - head["real_frauds"], abs=3)  # balanced classes
    assert head["gan_steps"] > 0
    for part in ("without_synthetic", "with_synthetic"):
        for k in ("roc_auc", "pr_auc", "recall_at_1pct_fpr"):
            assert 0.5 < head[part][k] <= 1 and 0 < head[part]["at_0_5pct_share"][k] <= 1
    assert head["roc_auc_gain"] == head["with_synthetic"]["roc_auc"] - head["without_synthetic"]["roc_auc"]
    # the unsupervised score is untouched by --augment
    cli_ok("run", "fraud", "--epochs", "2", "--out", "plain", "--samples", "50")
    plain = read_json(Path("plain") / "metrics.json")["metrics"]
    assert "augmented_head" not in plain and plain["roc_auc"] == m["roc_auc"]


def test_augment_needs_labels(in_tmp: Path) -> None:
    pl.read_csv(SAMPLE).drop("Class").write_csv("unlabelled.csv")
    line = cli_fails("run", "fraud", "--data", "unlabelled.csv", "--epochs", "1", "--augment")
    assert "--augment" in line and "label" in line


def test_oversampler_learns_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=256)
    frauds = np.column_stack([3 + a, -2 - a + 0.1 * rng.normal(size=256)])  # correlation ≈ -1
    x1, info = A.oversample(frauds, 500, seed=3, epochs=150)
    x2, _ = A.oversample(frauds, 500, seed=3, epochs=150)
    assert np.array_equal(x1, x2) and x1.shape == (500, 2) and info["gan_steps"] == 150 * 4
    assert np.corrcoef(x1.T)[0, 1] < -0.7  # the GAN reproduces the dependence between columns
    assert np.allclose(x1.mean(0), [3, -2], atol=0.5)
    assert (x1.std(0) > 0.6).all()  # not collapsed (an untrained generator gives std ≈ 0.1)
    with pytest.raises(DataError, match="--augment"):
        A.oversample(frauds[:3], 10, seed=0, epochs=1)
