"""The fraud app: train on normal rows, calibrate, score files in chunks, bad rows, bundles, metrics."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from ganapps.cli.main import cli
from ganapps.core import load_bundle, run
from ganapps.core.io import read_json
from ganapps.core.testing import unexplained
from ganapps.datasets import HERE
from ganapps.plugins.fraud import metrics as M
from ganapps.plugins.fraud.scoring import Scorer, feature_matrix, score_frame

SAMPLE = HERE / "creditcard" / "creditcard_sample.csv"


def invoke(*args: str):
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result


def fails(*args: str, code: int = 2) -> str:
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code == code, result.output
    lines = [x for x in result.output.strip().splitlines() if x.strip()]
    assert len(lines) == 1, result.output  # one line, no traceback
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short CLI run on the shipped sample (labelled), shared by the tests of this module."""
    path = tmp_path_factory.mktemp("fraud") / "run"
    invoke("run", "fraud", "--epochs", "3", "--out", str(path), "--samples", "200")
    return path


def test_run_metrics_and_bundle(trained: Path) -> None:
    m = read_json(trained / "metrics.json")["metrics"]
    for key in ("roc_auc", "pr_auc", "recall_at_1pct_fpr", "precision_at_threshold", "confusion", "at_0_5pct_share"):
        assert key in m
    assert m["roc_auc"] > 0.85  # even 3 epochs separate frauds on the sample
    assert set(m["baselines"]) == {"isolation_forest", "mahalanobis", "knn5", "lof", "logistic_regression_supervised"}
    assert sum(m["confusion"].values()) == m["holdout_rows"] == 200
    for name, b in m["baselines"].items():  # each unsupervised detector at its own calibrated threshold
        assert ("confusion" in b) != name.endswith("_supervised")
        assert name.endswith("_supervised") or sum(b["confusion"].values()) == 200
    v = m["vs_best_baseline"]
    assert v["baseline"] == m["best_baseline"]
    for k in ("roc_auc", "pr_auc"):
        assert v[k]["difference"] == pytest.approx(m[k] - m["baselines"][m["best_baseline"]][k])
    for k in ("roc_auc", "pr_auc"):
        lo, hi = v[k]["ci95"]
        assert lo < hi and lo <= v[k]["difference"] <= hi  # an interval of some width around the point estimate
    app = load_bundle(trained)
    s = app.schema
    assert s["label"] == "Class" and "Class" not in s["features"] and len(s["features"]) == 30
    assert s["calibration"]["target_fpr"] == 0.01 and np.isfinite(s["threshold"])
    synthetic = pl.read_csv(trained / "synthetic.csv")
    assert synthetic.height == 200 and (synthetic["Class"] == 0).all()
    report = (trained / "report.html").read_text()
    assert unexplained(report) == []  # every metric explained; the score's best baseline beside it, named
    row = re.search(r"<tr class='metric'><td>roc_auc</td>.*?</tr>", report).group(0)
    best = max(("isolation_forest", "mahalanobis", "knn5", "lof"), key=lambda b: m["baselines"][b]["roc_auc"])
    assert f"best baseline ({best})" in row and f"{m['baselines'][best]['roc_auc']:.4g} <span" in row
    assert f"<code>ganapps score {trained} --data creditcard-sample --out scores.csv</code>" in report


def test_score_cli_csv_parquet_chunks(trained: Path, in_tmp: Path) -> None:
    result = CliRunner().invoke(cli, ["score", str(trained), "--data", str(SAMPLE), "--out", "whole.csv"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ignoring 1 column(s)" in out and "Class" in out  # the label is extra when scoring
    invoke("score", str(trained), "--data", str(SAMPLE), "--out", "chunked.csv", "--chunk-size", "7")
    whole, chunked = pl.read_csv("whole.csv"), pl.read_csv("chunked.csv")
    assert whole.columns == ["row", "score", "fraud", "error"] and whole.height == 1000
    assert whole["row"].to_list() == list(range(1000))
    assert whole.equals(chunked)  # bit for bit, whatever the chunking
    pl.read_csv(SAMPLE).write_parquet("in.parquet")
    invoke("score", str(trained), "--data", "in.parquet", "--out", "out.parquet", "--chunk-size", "333")
    assert pl.read_parquet("out.parquet").equals(whole)
    app = load_bundle(trained)
    flagged = whole["fraud"].sum()
    assert 0 < flagged < 1000 and whole["error"].null_count() == 1000
    assert np.array_equal(whole["fraud"].to_numpy(), whole["score"].to_numpy() >= app.schema["threshold"])


def test_bad_rows_are_flagged_not_fatal(trained: Path, bad_transactions: list[str]) -> None:
    Path("good.csv").write_text("\n".join(bad_transactions) + "\n")
    out = invoke("score", str(trained), "--data", "bad.csv", "--out", "bad_scores.csv").output
    assert "2 with errors" in out
    got, ref = pl.read_csv("bad_scores.csv"), None
    invoke("score", str(trained), "--data", "good.csv", "--out", "good_scores.csv")
    ref = pl.read_csv("good_scores.csv")
    assert got["error"].to_list() == [
        None,
        "column 'V3': missing or not a number",
        None,
        "column 'Amount': missing or not a number",
        None,
    ]
    assert got["score"].null_count() == 2 and got["fraud"].null_count() == 2
    ok = [0, 2, 4]
    assert got["score"].gather(ok).equals(ref["score"].gather(ok))


def test_score_a_sample_dataset_by_name(trained: Path, in_tmp: Path) -> None:
    invoke("score", str(trained), "--data", "creditcard-sample", "--out", "s.csv")
    assert pl.read_csv("s.csv").height == pl.read_csv(SAMPLE).height


def test_score_errors(trained: Path, in_tmp: Path) -> None:
    pl.read_csv(SAMPLE).drop("V7").write_csv("short.csv")
    line = fails("score", str(trained), "--data", "short.csv", "--out", "s.csv")
    assert "short.csv" in line and "'V7'" in line
    assert not Path("s.csv").exists()  # nothing half-written
    assert "nope.csv" in fails("score", str(trained), "--data", "nope.csv", "--out", "s.csv")
    assert ".xlsx" in fails("score", str(trained), "--data", str(SAMPLE), "--out", "s.xlsx")


def test_bundle_round_trip_pandas_and_polars(trained: Path) -> None:
    """score_frame is the per-batch function a Spark mapInPandas UDF calls: same numbers for pandas."""
    app = load_bundle(trained)
    scorer = Scorer.load(trained)  # what `ganapps score` uses: numpy, no torch
    frame = pl.read_csv(SAMPLE).head(300)
    polars_scores = score_frame(scorer, frame)
    pandas_scores = score_frame(scorer, _to_pandas(frame))
    assert app.score(frame).equals(polars_scores)  # the trained app scores through the same numpy code
    assert list(pandas_scores.columns) == ["row", "score", "fraud", "error"]
    assert np.array_equal(pandas_scores["score"].to_numpy(dtype=float), polars_scores["score"].to_numpy())
    # the score is reconstruction error + latent_weight × latent Mahalanobis distance
    x, _ = feature_matrix(frame, app.schema["features"], np.float32)
    rec, lat = scorer.components(x)
    assert app.schema["score"]["latent_weight"] == 4.0 and (rec > 0).all() and (lat > 0).all()
    assert np.array_equal(polars_scores["score"].to_numpy(), rec + 4.0 * lat)
    # a batch of one row scores the same as inside the whole frame
    one = score_frame(scorer, frame.slice(123, 1), row_offset=123)
    assert one["row"][0] == 123 and one["score"][0] == polars_scores["score"][123]
    samples = app.generate(50)
    assert samples.columns[:1] == ["Time"] and samples.height == 50


def test_numpy_scorer_matches_the_torch_networks(trained: Path) -> None:
    """The numpy forward pass is the networks' own (guards the layout against drift in build())."""
    import torch

    app = load_bundle(trained)
    scorer = Scorer.load(trained)
    x, _ = feature_matrix(pl.read_csv(SAMPLE).head(500), app.schema["features"], np.float32)
    xw = scorer.whiten(x)
    with torch.no_grad():
        z = app.nets.encoder(torch.from_numpy(xw))
        back = app.nets.decoder(z).numpy()
    np.testing.assert_allclose(scorer.encode(xw), z.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scorer.decode(z.numpy()), back, rtol=1e-4, atol=1e-5)
    rec, _ = scorer.components(x)
    np.testing.assert_allclose(rec, ((back - xw) ** 2).sum(1), rtol=1e-4)


def test_cli_score_does_not_import_torch(trained: Path, in_tmp: Path) -> None:
    """`ganapps score` on a fraud bundle runs the numpy scorer: no torch import, fast start-up."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ganapps.cli.main import cli\n"
        f"cli(['-q', 'score', {str(trained)!r}, '--data', {str(SAMPLE)!r}, '--out', 's.csv'], standalone_mode=False)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert pl.read_csv("s.csv").height == pl.read_csv(SAMPLE).height


def test_scorer_refuses_other_bundles(tmp_path: Path, trained: Path) -> None:
    import json
    import shutil

    from ganapps.core import BundleError

    shutil.copytree(trained / "bundle", tmp_path / "b")
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    (tmp_path / "b" / "config.json").write_text(json.dumps({**cfg, "app": "medgan"}))
    with pytest.raises(BundleError, match="medgan"):
        Scorer.load(tmp_path / "b")
    (tmp_path / "b" / "config.json").write_text(json.dumps(cfg))
    schema = (tmp_path / "b" / "schema.json").read_text()
    (tmp_path / "b" / "schema.json").write_text("{}")
    with pytest.raises(BundleError, match="no feature list"):
        Scorer.load(tmp_path / "b")
    (tmp_path / "b" / "schema.json").write_text(schema)
    (tmp_path / "b" / "weights.safetensors").write_bytes(b"\x80\x04not safetensors")
    with pytest.raises(BundleError, match="never loads pickled"):
        Scorer.load(tmp_path / "b")


def _to_pandas(frame: pl.DataFrame):
    import pandas as pd

    return pd.DataFrame({c: frame[c].to_numpy() for c in frame.columns})


def test_unlabelled_id_column_and_determinism(in_tmp: Path) -> None:
    frame = pl.read_csv(SAMPLE).drop("Class").head(400).with_row_index("TxID", offset=1000)
    frame.write_csv("tx.csv")
    opts = {"id_col": "TxID", "hidden": 16}
    a = run("fraud", "tx.csv", options=opts, train={"epochs": 2}, out="a", progress=False, samples=50)
    b = run("fraud", frame, options=opts, train={"epochs": 2}, out="b", progress=False, samples=50)
    assert a.app.schema["label"] is None and "TxID" not in a.app.schema["features"]
    assert "roc_auc" not in a.metrics["metrics"] and 0 <= a.metrics["metrics"]["flag_rate"] <= 1
    assert a.app.schema["threshold"] == b.app.schema["threshold"]  # same seed and data → same model
    invoke("score", "a", "--data", "tx.csv", "--out", "s.csv")
    s = pl.read_csv("s.csv")
    assert s.columns[0] == "TxID" and s["TxID"].to_list() == list(range(1000, 1400))
    # unflagged rows on unlabelled validation rows: about the target FPR of 1%
    assert s["fraud"].mean() < 0.05


def test_run_option_errors(in_tmp: Path) -> None:
    assert "'Klass'" in fails("run", "fraud", "--label", "Klass", "--epochs", "1")
    assert "--latent-weight" in fails("run", "fraud", "--latent-weight", "-1", "--epochs", "1")
    pl.read_csv(SAMPLE).drop("Class").head(100).write_csv("nolabel.csv")
    assert "--target-precision" in fails("run", "fraud", "--data", "nolabel.csv", "--target-precision", "0.9")
    pl.read_csv(SAMPLE).head(100).with_columns(pl.Series("Merchant", ["shop", "cafe"] * 50)).write_csv("text.csv")
    line = fails("run", "fraud", "--data", "text.csv", "--epochs", "1")
    assert "'Merchant'" in line and "--exclude" in line
    pl.read_csv(SAMPLE).head(100).with_columns(pl.col("Class") * 2).write_csv("badlabel.csv")
    assert "'Class'" in fails("run", "fraud", "--data", "badlabel.csv", "--epochs", "1")


def test_target_precision_threshold(in_tmp: Path) -> None:
    r = run("fraud", str(SAMPLE), options={"target_precision": 0.9, "hidden": 16}, train={"epochs": 2}, progress=False)
    c = r.app.schema["calibration"]
    assert c["target_precision"] == 0.9 and c["precision"] >= 0.9


def test_metric_helpers() -> None:
    y = np.array([0, 0, 0, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.95])
    assert M.recall_at_fpr(y, s, 0.0) == 0.5  # only the 0.95 fraud is above every normal row
    r = M.at_threshold(y, s, 0.5)
    assert r["confusion"] == {"tp": 2, "fp": 1, "tn": 3, "fn": 0}
    assert r["precision_at_threshold"] == pytest.approx(2 / 3) and r["fpr_at_threshold"] == 0.25
    # paired bootstrap: a detector against itself differs by exactly 0; a clearly better one by an interval above 0
    rng = np.random.default_rng(0)
    yb = np.r_[np.zeros(300, int), np.ones(30, int)]
    good, noisy = yb + rng.normal(0, 0.3, 330), yb + rng.normal(0, 1.0, 330)
    same = M.paired_bootstrap(yb, good, good, resamples=50)
    assert same["roc_auc"] == {"difference": 0.0, "ci95": [0.0, 0.0]}
    better = M.paired_bootstrap(yb, good, noisy, resamples=50)
    assert better["roc_auc"]["ci95"][0] > 0 and better["pr_auc"]["ci95"][0] > 0
    assert better["pr_auc"]["ci95"][0] <= better["pr_auc"]["difference"] <= better["pr_auc"]["ci95"][1]
    # the width: against a constant detector (ROC-AUC 0.5 on every resample) the difference varies as our
    # ROC-AUC alone, whose variance DeLong's formula gives, var(V10)/n1 + var(V01)/n0 (V: placement values)
    noisy_pos, noisy_neg = noisy[yb == 1], noisy[yb == 0]
    above = noisy_pos[:, None] > noisy_neg[None, :]
    se = np.sqrt(above.mean(1).var(ddof=1) / len(noisy_pos) + above.mean(0).var(ddof=1) / len(noisy_neg))
    alone = M.paired_bootstrap(yb, noisy, np.zeros(330), resamples=200)["roc_auc"]
    assert alone["difference"] == pytest.approx(above.mean() - 0.5)
    assert alone["ci95"][1] - alone["ci95"][0] == pytest.approx(2 * 1.96 * se, rel=0.25)
    y = np.r_[np.zeros(995, int), np.ones(50, int)]
    subsets = M.low_share_draws(y, 0.005, draws=3, seed=0)
    assert all(len(i) == 1000 and y[i].sum() == 5 for i in subsets)


def two_clusters(normal: int, frauds: int, seed: int) -> pl.DataFrame:
    """Normal rows: a main cluster and a rare one (5% of them) 4.2 units away; frauds: rows of the rare cluster."""
    rng = np.random.default_rng(seed)
    rare = np.r_[rng.random(normal) < 0.05, np.ones(frauds, bool)]
    x = rng.normal(0, 0.5, (len(rare), 4)) + rare[:, None] * np.array([3.0, 3.0, 0.0, 0.0])
    label = np.r_[np.zeros(normal, np.int64), np.ones(frauds, np.int64)]
    return pl.DataFrame({f"V{j + 1}": x[:, j] for j in range(4)} | {"Class": label})


def test_latent_term_finds_frauds_the_reconstruction_error_misses(tmp_path: Path) -> None:
    """Frauds that look like rare normal rows: the autoencoder learned to reconstruct those, so the reconstruction
    error cannot tell them apart; their codes lie where normal codes are sparse, which the latent term sees."""
    from sklearn.metrics import roc_auc_score

    r = run("fraud", two_clusters(600, 30, 0), train={"epochs": 30}, out=tmp_path / "r", progress=False, samples=10)
    test = two_clusters(400, 40, 1)
    y = test["Class"].to_numpy()
    score = r.app.score(test)["score"].to_numpy()
    rec, _ = r.app.scorer().components(feature_matrix(test, r.app.schema["features"], np.float32)[0])
    auc, auc_rec = roc_auc_score(y, score), roc_auc_score(y, rec)
    assert auc > 0.9 and auc > auc_rec + 0.25, (auc, auc_rec)  # 0.97 and 0.52 when written
