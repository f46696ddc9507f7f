"""bench/dp_utility.py's pieces that run without smartnoise or ../shared: resumable cell names, the
dtype repair of a rival's CSV, and the goal lines of its report."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import polars as pl

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _bench(name: str):
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


def test_cell_names_separate_eps_and_no_dp(tmp_path: Path) -> None:
    du = _bench("dp_utility")
    names = {du.cell_path(tmp_path, "t", "ours", e, 0).name for e in (None, 1.0, 3.0, 10.0)}
    assert len(names) == 4 and "t__ours__nodp__s0.json" in names and "t__ours__eps3__s0.json" in names


def test_like_restores_training_dtypes() -> None:
    du = _bench("dp_utility")
    train = pl.DataFrame({"a": ["1", "0"], "n": [3, 4], "x": [0.5, 1.5]})
    rival = pl.DataFrame({"a": [1, 0], "n": [2.6, 4.2], "x": ["0.25", "bad"]})  # as a CSV round trip reads it
    out = du.like(rival, train)
    assert out.schema == train.schema
    assert out["a"].to_list() == ["1", "0"] and out["n"].to_list() == [3, 4]
    assert out["x"].to_list() == [0.25, None]


def _cell(folder: Path, dataset: str, synth: str, eps: float | None, q: float, ml: float) -> None:
    record = {"dataset": dataset, "synth": synth, "epsilon": eps, "seed": 0, "error": None, "wall_seconds": 1.0}
    record["values"] = {"quality_test": q, "quality_train": q, "ml": ml, "membership_auc": 0.5, "dcr_ratio": 1.0}
    tag = "nodp" if eps is None else f"eps{eps:g}"
    (folder / f"{dataset}__{synth}__{tag}__s0.json").write_text(json.dumps(record))


def test_goals_say_met_and_not_met(tmp_path: Path) -> None:
    rep = _bench("dp_utility_report")
    _cell(tmp_path, "cps1988", "ours", None, 0.95, 0.80)
    _cell(tmp_path, "cps1988", "ours", 3.0, 0.90, 0.70)  # 12.5% below non-DP: NOT met
    _cell(tmp_path, "cps1988", "dpctgan", 3.0, 0.80, 0.75)  # ahead on quality, behind on ML
    _cell(tmp_path, "cps1988", "patectgan", 3.0, 0.70, 0.60)
    line = rep.goals(rep.load(tmp_path))[0]
    assert "quality_test vs dpctgan +0.100 met" in line
    assert "ml vs dpctgan -0.050 NOT met" in line
    assert "ml vs patectgan +0.100 met" in line
    assert "ML 12.5% below our non-DP NOT met" in line
    assert "vs mst: not measured" in line
    table = rep.report(tmp_path)
    assert "| cps1988 | tabular | no DP | 0.950 |" in table and "| cps1988 | dpctgan | 3 | 0.800 |" in table
