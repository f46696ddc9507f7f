"""medGAN: long and wide EHR data, binary and count modes, the CLI end to end, bundles, metrics, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ganapps.cli.testing import cli_fails as fails
from ganapps.cli.testing import cli_ok as invoke
from ganapps.core import generate_file, load_bundle, run
from ganapps.core.errors import DataError
from ganapps.core.io import read_table
from ganapps.core.testing import unexplained
from ganapps.plugins.medgan import metrics as M
from ganapps.plugins.medgan.data import group_code, load_codes, split_by_patient

FAST = ["--epochs", "6", "--ae-epochs", "3", "--batch-size", "32", "--top-k", "5"]


def comorbid(n: int = 120, codes: int = 12, seed: int = 0) -> np.ndarray:
    """Patients × codes counts with two correlated clusters of codes."""
    rng = np.random.default_rng(seed)
    kind = rng.random(n) < 0.5
    p = np.where(kind[:, None], np.linspace(0.7, 0.1, codes), np.linspace(0.1, 0.6, codes))
    return (rng.random((n, codes)) < p) * rng.integers(1, 4, (n, codes))


def long_csv(path: Path, n: int = 120) -> Path:
    x = comorbid(n)
    rows = [(1000 + i, f"0{40 + j}{k}", 7000 + i) for i, j in zip(*np.nonzero(x), strict=True) for k in range(1)]
    pl.DataFrame(rows, schema=["subject_id", "icd9_code", "hadm_id"], orient="row").write_csv(path)
    return path


def wide_csv(path: Path, n: int = 120) -> Path:
    x = comorbid(n)
    cols = {"patient_id": [f"P{i}" for i in range(n)]} | {f"c{j}": x[:, j] for j in range(x.shape[1])}
    pl.DataFrame(cols).write_csv(path)
    return path


def test_cli_long_binary_on_the_shipped_sample(in_tmp: Path) -> None:
    """`ganapps run medgan` with no --data: long in → long out, metrics, report, generate, evaluate."""
    invoke("run", "medgan", *FAST, "--out", "run")
    out = in_tmp / "run"
    synthetic = read_table(out / "synthetic.csv", infer_schema_length=0)
    assert synthetic.columns == ["subject_id", "icd9_code"]
    assert synthetic["subject_id"].str.starts_with("S").all()  # fresh ids, never real ones
    m = json.loads((out / "metrics.json").read_text())
    metrics = m["metrics"]
    for key in ("dimension_wise_probability", "dimension_wise_prediction", "cooccurrence", "privacy", "collapse"):
        assert key in metrics, key
    assert -1 <= metrics["dimension_wise_probability"]["pearson_r"] <= 1
    # the headline: against held-out patients, its real-vs-real ceiling and the training figure beside it
    assert list(metrics)[:3] == ["dim_prob_r_holdout", "dim_prob_r_real_vs_real", "dim_prob_r"]
    dwp = metrics["dimension_wise_probability"]
    assert metrics["dim_prob_r_holdout"] == dwp["pearson_r_holdout"] != dwp["pearson_r"] == metrics["dim_prob_r"]
    assert 0 <= metrics["privacy"]["membership_auc"] <= 1
    assert "hamming_0" in metrics["privacy"]["presence_disclosure"]
    assert metrics["patients"] == {"train": 64, "holdout": 16, "synthetic": 1000}
    report = (out / "report.html").read_text()
    assert "dimension-wise probability" in report and "dimension-wise prediction" in report
    assert report.count("<img") >= 3
    assert unexplained(report) == []  # every metric with its meaning; the headline beside its real-vs-real ceiling
    head = re.search(r"<tr class='metric'><td>dim_prob_r_holdout</td>.*?</tr>", report).group(0)
    assert f"{metrics['dim_prob_r_real_vs_real']:.4g} <span" in head and "↑ higher" in head
    invoke("generate", "run", "-n", "1000", "--out", "more.parquet")
    more = read_table(in_tmp / "more.parquet")
    assert more["subject_id"].n_unique() <= 1000 and set(more.columns) == {"subject_id", "icd9_code"}
    assert set(more["icd9_code"].to_list()) <= set(load_bundle(out).codes)
    evaluated = json.loads(invoke("evaluate", "run", "--synthetic", "more.parquet", "--out", "e.json").output)
    assert "dimension_wise_probability" in evaluated["metrics"]


def test_wide_count_mode_bundle_round_trip_and_determinism(tmp_path: Path) -> None:
    data = wide_csv(tmp_path / "wide.csv")
    opts = {"mode": "count", "ae_epochs": 3, "top_k": 4}
    train = {"epochs": 5, "batch_size": 32, "seed": 1}
    a = run("medgan", str(data), options=opts, train=train, out=tmp_path / "a", progress=False, samples=200)
    b = run("medgan", str(data), options=opts, train=train, out=tmp_path / "b", progress=False, samples=200)
    wide_a, wide_b = read_table(a.samples_path), read_table(b.samples_path)
    assert wide_a.equals(wide_b)  # same seed, data, device → same output
    assert wide_a.columns == ["patient_id"] + [f"c{j}" for j in range(12)] and wide_a.height == 200
    assert all(wide_a[c].dtype == pl.Int64 and wide_a[c].min() >= 0 for c in wide_a.columns[1:])
    app = load_bundle(tmp_path / "a")
    assert app.options.mode == "count" and app.schema["layout"]["format"] == "wide"
    out = generate_file(tmp_path / "a", 50, tmp_path / "g1.csv", seed=3)
    again = generate_file(tmp_path / "a", 50, tmp_path / "g2.csv", seed=3)
    assert read_table(out).equals(read_table(again))


def test_long_visits_grouping_min_count_and_split(tmp_path: Path) -> None:
    path = tmp_path / "dx.csv"
    pl.DataFrame(
        {
            "pid": ["a", "a", "a", "b", "b", "c", "d", "d", "e"],
            "visit": ["1", "1", "2", "3", "3", "4", "5", "6", "7"],
            "dx": ["4019", "40190", "E8782", "4019", "25000", "V5861", "4280", "4280", "0389"],
        }
    ).write_csv(path)
    m, layout, _ = load_codes(path, patient_col="pid", code_col="dx", visit_col="visit", grouping="icd9-3digit")
    assert layout.format == "long" and len(m) == 7  # one row per visit
    assert m.codes == ["038", "250", "401", "428", "E878", "V58"]  # leading zero kept, E codes keep 4 chars
    assert m.x[m.ids.index("a/1"), m.codes.index("401")] == 2  # 4019 and 40190 group together
    train, hold = split_by_patient(m, 0.4, seed=0)
    assert not set(train.groups) & set(hold.groups)  # a patient's visits stay on one side
    assert group_code("250.00", "icd9-3digit") == "250"


def test_synthea_conditions_are_detected(shared: Path) -> None:
    m, layout, _ = load_codes(shared / "ehr" / "synthea_unmc" / "conditions.csv")
    assert (layout.patient_col, layout.code_col) == ("PATIENT", "CODE") and len(m) == 89


def test_bad_inputs_get_one_line_errors(in_tmp: Path) -> None:
    pl.DataFrame({"subject_id": [1, 1, 2, 2], "hadm_id": [5, 6, 7, 8]}).write_csv(in_tmp / "nocode.csv")
    assert "no code column" in fails("run", "medgan", "--data", "nocode.csv")
    (in_tmp / "empty.csv").write_text("")
    assert "empty.csv is empty" in fails("run", "medgan", "--data", "empty.csv")
    pl.DataFrame({"subject_id": [7, 7, 7], "icd9_code": ["4019", "4280", "0389"]}).write_csv(in_tmp / "one.csv")
    line = fails("run", "medgan", "--data", "one.csv")
    assert "only 1 patient" in line and "7" in line
    wide = pl.DataFrame({"id": ["a", "b", "c", "d"], "c1": ["1", "0", "x", "1"], "c2": ["0", "1", "1", "0"]})
    wide.write_csv(in_tmp / "wide.csv")
    line = fails("run", "medgan", "--data", "wide.csv")
    assert "'c1'" in line and "'x'" in line and "wide.csv" in line
    line = fails("run", "medgan", "--data", "one.csv", "--code-col", "dx")
    assert "--code-col" in line and "'dx'" in line
    fails("run", "medgan", "--min-count", "0")
    assert "--mean-match" in fails("run", "medgan", "--mean-match", "-1")


def test_metrics_by_hand() -> None:
    real = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0]], float)
    assert M.dimension_wise_probability(real, real)["pearson_r"] == pytest.approx(1.0)
    assert M.dimension_wise_probability(real, real)["rmse"] == 0
    # presence disclosure: synthetic copies of both members → every member found at h=0
    pd = M.presence_disclosure(real[:2], real[2:], real[:2], thresholds=(0, 1))
    assert pd["hamming_0"] == {"sensitivity": 1.0, "precision": 1.0, "claims": 2}
    assert pd["hamming_1"]["claims"] == 4 and pd["hamming_1"]["precision"] == 0.5
    assert M.cooccurrence(real, real) == pytest.approx(1.0)


def test_collapse_is_detected() -> None:
    rng = np.random.default_rng(0)
    real = (rng.random((200, 30)) < 0.2).astype(float)
    _, diags = M.collapse(real, np.zeros((200, 30)))
    assert {d.code for d in diags} == {"empty_patients", "mode_collapse"}
    common = np.zeros((200, 30))
    common[:, np.argsort(-real.mean(0), kind="stable")[:2]] = 1  # everyone gets the two commonest codes
    stats, diags = M.collapse(real, common)
    assert "common_code_collapse" in {d.code for d in diags} and stats["common_only_share_synthetic"] == 1.0
    assert M.collapse(real, (rng.random((200, 30)) < 0.2).astype(float))[1] == []  # a healthy sample: no warning


def test_wide_matrix_errors(tmp_path: Path) -> None:
    pl.DataFrame({"id": ["a", "a", "b", "c"], "c1": [1, 0, 1, 1]}).write_csv(tmp_path / "w.csv")
    with pytest.raises(DataError, match="repeats"):
        load_codes(tmp_path / "w.csv", fmt="wide")
    pl.DataFrame({"c1": [1, -2, 0, 1], "c2": [0, 1, 1, 1]}).write_csv(tmp_path / "neg.csv")
    with pytest.raises(DataError, match="'c1'"):
        load_codes(tmp_path / "neg.csv")
    m, layout, _ = load_codes(long_csv(tmp_path / "l.csv"))
    assert layout.format == "long" and len(m) == 120


def test_mean_matching_pulls_code_prevalences_to_the_real_ones(tmp_path: Path) -> None:
    data = wide_csv(tmp_path / "wide.csv")
    train = {"epochs": 15, "batch_size": 32, "seed": 0}
    rmse = {}
    for weight in (0.0, 30.0):
        opts = {"mode": "binary", "ae_epochs": 5, "top_k": 4, "mean_match": weight}
        res = run("medgan", str(data), options=opts, train=train, out=tmp_path / f"m{weight}", progress=False)
        rmse[weight] = res.metrics["metrics"]["dimension_wise_probability"]["rmse"]
        log = [json.loads(line) for line in (tmp_path / f"m{weight}" / "metrics.jsonl").read_text().splitlines()]
        assert any("generator/mean_match" in r for r in log) == bool(weight)
    assert rmse[30.0] < 0.75 * rmse[0.0]  # 0.019 vs 0.030 when written


def two_blocks(n: int = 200, codes: int = 12, seed: int = 0) -> np.ndarray:
    """0/1 patients × codes: two kinds of patients, each with its own block of common codes (0.75 vs 0.08)."""
    rng = np.random.default_rng(seed)
    kind = rng.random(n) < 0.5
    own = (np.arange(codes) < codes // 2)[None, :] == kind[:, None]
    return (rng.random((n, codes)) < np.where(own, 0.75, 0.08)).astype(np.int64)


def correlation_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference between the code-code correlations of two 0/1 matrices."""
    iu = np.triu_indices(a.shape[1], 1)
    ca, cb = np.nan_to_num(np.corrcoef(a.T)), np.nan_to_num(np.corrcoef(b.T))
    return float(np.abs(ca[iu] - cb[iu]).mean())


def test_medgan_learns_code_correlations_that_independent_codes_miss(tmp_path: Path) -> None:
    """On a correlated matrix, medGAN's patients keep the code-code correlations; independent Bernoulli codes
    with the real prevalences (the baseline, drawn here) have none."""
    x = two_blocks()
    cols = {"patient_id": [f"P{i}" for i in range(len(x))]} | {f"c{j}": x[:, j] for j in range(x.shape[1])}
    pl.DataFrame(cols).write_csv(tmp_path / "blocks.csv")
    opts = {"mode": "binary", "ae_epochs": 5, "top_k": 4}
    train = {"epochs": 40, "batch_size": 32, "seed": 0, "holdout": 0}
    res = run("medgan", str(tmp_path / "blocks.csv"), options=opts, train=train, out=tmp_path / "r", progress=False)
    synthetic = read_table(res.samples_path).drop("patient_id").to_numpy()
    independent = np.random.default_rng(1).random(synthetic.shape) < x.mean(0)
    ours, baseline = correlation_error(x, synthetic), correlation_error(x, independent)
    assert ours < 0.4 * baseline, (ours, baseline)  # 0.10 vs 0.45 when written
