"""``ganapps compare``: one protocol for every tabular app, through the command line (tiny tables, 1 epoch)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from scipy import stats

from ganapps.cli.main import cli
from ganapps.tabular.compare import (
    CEILING,
    DEFAULT_APPS,
    METRICS,
    PeakMemory,
    best_apps,
    interval,
    leaderboard,
    paired,
    summary,
)

FAST = ["--apps", "tabular,sdv-gaussiancopula", "--seeds", "1", "--epochs", "1"]


def mixed_table(n: int = 300, seed: int = 0) -> pl.DataFrame:
    """Numbers, a category and a yes/no target that depends on them (so ML efficacy has signal)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n).round()
    city = rng.choice(["Paris", "Lyon", "Nice"], n, p=[0.5, 0.3, 0.2])
    income = (age * 1000 + 6000 * (city == "Paris") + rng.normal(0, 5000, n)).round(2)
    score = rng.normal(0, 1, n)
    y = income + 8000 * score + rng.normal(0, 3000, n) > 44_000
    return pl.DataFrame({"age": age, "income": income, "city": city, "score": score, "y": np.where(y, "yes", "no")})


def invoke(*args: str):
    return CliRunner().invoke(cli, ["-q", "compare", *args])


def assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for f in fragments:
        assert f in result.output, result.output


def test_file_run_writes_leaderboard_json_and_html(in_tmp: Path) -> None:
    mixed_table().write_csv("t.csv")
    result = invoke("--data", "t.csv", "--target", "y", *FAST, "--out", "out")
    assert result.exit_code == 0, result.output
    assert "%|" not in result.output  # -q: no progress bar
    for word in ("quality test", "ML macro_f1", "tabular", "sdv-gaussiancopula", CEILING, "*", "compare.html"):
        assert word in result.output, word
    data = json.loads(Path("out/compare.json").read_text())
    (table,) = data["tables"]
    assert table["split"] == {"train": 240, "test": 60} and table["task"] == "classification"
    board = table["leaderboard"]
    assert set(board) == {"tabular", "sdv-gaussiancopula", CEILING}
    for app in ("tabular", "sdv-gaussiancopula"):
        assert board[app]["seeds_ok"] == 1 and board[app]["errors"] == []
        m = board[app]["metrics"]
        assert 0 < m["quality_train"]["mean"] <= 1 and 0 < m["quality_test"]["mean"] <= 1
        assert m["quality_test"]["low"] is None  # one seed: no interval
        assert 0 <= m["ml"]["mean"] <= 1 and 0 <= m["membership_auc"]["mean"] <= 1 and m["dcr_ratio"]["mean"] > 0
        assert m["fit_seconds"]["mean"] > 0 and m["sample_seconds"]["mean"] > 0
    run = next(r for r in table["runs"] if r["app"] == "sdv-gaussiancopula")
    assert run["metrics"]["ml_efficacy"]["rows"] == {"train": 240, "synthetic": 240, "test": 60}
    # the ceiling: the real training rows predict the real test rows well (the target depends on the columns)
    assert board[CEILING]["metrics"]["ml"]["mean"] > 0.7
    assert board[CEILING]["metrics"]["dcr_ratio"]["n"] == 0  # privacy of real rows vs themselves: not reported
    assert all(table["best"][m.key] for m in METRICS)
    html = Path("out/compare.html").read_text()
    assert html.count("data:image/png;base64,") >= 3  # metric chart + one column-shape figure per app
    for word in ("tabular: real training rows vs synthetic", "sdv-gaussiancopula", CEILING, "near 0.5 is better"):
        assert word in html, word


def test_dp_epsilon_adds_the_private_entries_with_their_accounting(in_tmp: Path) -> None:
    """--dp-epsilon: the apps that train privately also run at each ε (app@dpε), so a user sees on their own
    table what privacy costs; each such run records its accounting; apps that cannot are not repeated."""
    pytest.importorskip("opacus")
    mixed_table().write_csv("t.csv")
    result = invoke("--data", "t.csv", "--target", "y", *FAST, "--dp-epsilon", "1,3", "--out", "out")
    assert result.exit_code == 0, result.output
    data = json.loads(Path("out/compare.json").read_text())
    assert data["settings"]["apps"] == ["tabular", "sdv-gaussiancopula", "tabular@dp1", "tabular@dp3"]
    (table,) = data["tables"]
    for name, epsilon in (("tabular@dp1", 1.0), ("tabular@dp3", 3.0)):
        assert table["leaderboard"][name]["seeds_ok"] == 1 and name in result.output
        run = next(r for r in table["runs"] if r["app"] == name)
        assert run["differential_privacy"]["epsilon"] == epsilon >= run["differential_privacy"]["epsilon_spent"]
    assert "differential_privacy" not in next(r for r in table["runs"] if r["app"] == "tabular")
    assert "app@dpε: the app trained with --dp-epsilon ε" in Path("out/compare.html").read_text()


def test_manifest_folder_two_tables_json_and_reproducible(in_tmp: Path) -> None:
    Path("tables").mkdir()
    mixed_table().write_csv("tables/a.csv")
    mixed_table().write_csv("tables/b.csv")  # the same rows: every app must score the same on both
    manifest = [{"file": "a.csv", "target": "y", "rows": 300}, {"file": "b.csv", "target": "y"}]
    Path("tables/MANIFEST.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(cli, ["-q", "compare", "--data", "tables", *FAST, "--out", "out", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == json.loads(Path("out/compare.json").read_text())
    assert [t["name"] for t in data["tables"]] == ["a.csv", "b.csv"]
    assert set(data["summary"]) == {"tabular", "sdv-gaussiancopula"}
    assert {data["summary"][a]["quality_test"]["rank"] for a in data["summary"]} == {1.0, 2.0}
    a, b = ({r["app"]: r["values"] for r in t["runs"]} for t in data["tables"])
    timing = {"fit_seconds", "sample_seconds", "peak_mib"}
    for app in a:  # seeded per (seed, app): the second table repeats the first exactly
        assert {k: v for k, v in a[app].items() if k not in timing} == {
            k: v for k, v in b[app].items() if k not in timing
        }, app
    assert "Summary over 2 tables" in Path("out/compare.html").read_text()


def test_a_failing_app_is_recorded_and_the_others_kept(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ganapps.plugins.tabular.app import TabularGAN

    def boom(self, n, condition=None, **_):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(TabularGAN, "generate", boom)
    mixed_table().write_csv("t.csv")
    result = invoke("--data", "t.csv", "--target", "y", *FAST, "--out", "out")
    assert result.exit_code == 0, result.output
    assert "tabular (failed)" in result.output and "tabular seed 0: generate: RuntimeError: boom" in result.output
    (table,) = json.loads(Path("out/compare.json").read_text())["tables"]
    board = table["leaderboard"]
    assert board["tabular"]["seeds_ok"] == 0
    assert board["tabular"]["errors"] == [{"seed": 0, "error": "generate: RuntimeError: boom"}]
    assert board["sdv-gaussiancopula"]["seeds_ok"] == 1 and board["sdv-gaussiancopula"]["metrics"]["ml"]["n"] == 1
    assert table["best"]["quality_test"] == ["sdv-gaussiancopula"]
    assert "generate: RuntimeError: boom" in Path("out/compare.html").read_text()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--data", "t.csv", "--target", "y", "--apps", "tabular,nope"], "unknown app 'nope'"),
        (["--data", "t.csv", "--target", "y", "--apps", "dcgan"], "not tabular"),
        (["--data", "t.csv", "--target", "nope"], "no column 'nope' for --target"),
        (["--data", "t.csv"], "--target is required"),
        (["--data", "small.csv", "--target", "y"], "too small to compare: 40 rows give 32 training and 8 test rows"),
        (["--data", "t.csv", "--target", "y", "--train-rows", "250", "--test-rows", "100"], "300 rows are fewer"),
        (["--data", "t.csv", "--target", "y", "--seeds", "0"], "--seeds must be at least 1"),
        (["--data", "missing.csv", "--target", "y"], "missing.csv does not exist"),
        (["--data", "empty"], "has no MANIFEST.json"),
        (["--data", "broken"], "names gone.csv, which does not exist"),
        (["--data", "notjson"], "not valid JSON"),
        (["--data", "noentries"], "entry 0 needs string fields"),
        (["--data", "t.csv", "--target", "y", "--dp-epsilon", "3,x"], "--dp-epsilon takes comma-separated numbers"),
        (["--data", "t.csv", "--target", "y", "--dp-epsilon", "0"], "--dp-epsilon takes finite numbers > 0, got 0"),
        (["--data", "t.csv", "--target", "y", "--apps", "sdv-gaussiancopula", "--dp-epsilon", "3"], "trains privately"),
    ],
)
def test_bad_input_is_one_line_exit_2(in_tmp: Path, args: list[str], fragment: str) -> None:
    mixed_table().write_csv("t.csv")
    mixed_table(40).write_csv("small.csv")
    for folder in ("empty", "broken", "notjson", "noentries"):
        Path(folder).mkdir()
    Path("broken/MANIFEST.json").write_text(json.dumps([{"file": "gone.csv", "target": "y"}]))
    Path("notjson/MANIFEST.json").write_text("[{")
    Path("noentries/MANIFEST.json").write_text(json.dumps([{"table": "t.csv"}]))
    assert_user_error(invoke(*args, "--out", "out"), fragment)
    assert not Path("out").exists()  # refused before anything ran or was written


def test_statistics_over_seeds() -> None:
    apps = ["a", "b", "c"]
    quality = {"a": [0.80, 0.82, 0.78], "b": [0.70, 0.75, 0.65], "c": [0.81, 0.84, 0.80]}
    runs = [
        {"app": app, "seed": s, "error": None, "values": {"quality_test": q[s], "dcr_ratio": [0.9, 1.3, 1.0][s]}}
        for app, q in quality.items()
        for s in range(3)
    ]
    runs.append({"app": "b", "seed": 3, "error": "fit: ValueError: x"})
    board = leaderboard(runs, apps)
    q = board["a"]["metrics"]["quality_test"]
    half = stats.t.ppf(0.975, 2) * np.std(quality["a"], ddof=1) / math.sqrt(3)
    assert q["mean"] == pytest.approx(0.8) and q["high"] - q["mean"] == pytest.approx(half) and q["n"] == 3
    assert board["b"]["seeds_ok"] == 3 and board["b"]["errors"] == [{"seed": 3, "error": "fit: ValueError: x"}]
    assert interval([0.5]) == {"mean": 0.5, "low": None, "high": None, "n": 1}
    assert interval([None]) == {"mean": None, "low": None, "high": None, "n": 0}
    best = best_apps(board, apps)
    assert best["quality_test"] == ["c"] and best["dcr_ratio"] == ["a", "b", "c"]  # a tie: all three
    pairs = paired(runs, board, apps)
    assert pairs["a"]["quality_test"]["vs"] == "c" and pairs["c"]["quality_test"]["vs"] == "a"
    assert pairs["a"]["quality_test"]["mean"] == pytest.approx(np.mean([-0.01, -0.02, -0.02]))
    table = {"leaderboard": board}
    over = summary([table, table], apps)
    assert [over[a]["quality_test"]["rank"] for a in apps] == [2.0, 3.0, 1.0]
    assert over["c"]["quality_test"]["mean"] == pytest.approx(np.mean(quality["c"])) and over["c"]["ml"]["rank"] is None


def test_peak_memory_sees_an_allocation() -> None:
    with PeakMemory() as memory:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        time.sleep(0.15)
        del block
    assert memory.mib is not None and memory.mib > 50


def test_cli_default_apps_match_the_api() -> None:
    from ganapps.cli.compare import DEFAULT_APPS as CLI_DEFAULT

    assert ",".join(DEFAULT_APPS) == CLI_DEFAULT
