"""fints: the rolling-origin backtest (issue #19) and "train once, generate every day" (generate --data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ganapps.cli.testing import cli_fails as fails
from ganapps.cli.testing import cli_ok as invoke
from ganapps.core import load_bundle
from ganapps.core.errors import ConfigError
from ganapps.core.testing import unexplained
from ganapps.plugins.fints import evaluation as E

pytest.importorskip("arch", reason="the GARCH baselines need arch (the test extra)")


def garch_series(n: int, seed: int = 0) -> np.ndarray:
    """A GARCH(1,1) with Student-t(6) innovations: ω = 0.05, α = 0.08, β = 0.9 (percent units), as log returns."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(6, n) * np.sqrt(4 / 6)
    s2, out = 0.05 / 0.02, np.empty(n)
    for t in range(n):
        out[t] = np.sqrt(s2) * z[t]
        s2 = 0.05 + 0.08 * out[t] ** 2 + 0.9 * s2
    return out[:, None] / 100


def test_garch_passes_its_own_coverage_test_and_a_half_scaled_model_fails() -> None:
    r = garch_series(1400)
    origins = {1: E.origins_for(600, len(r), 1, 800)}
    assert len(origins[1]) == 800 and origins[1][0] == 600
    info: dict = {}
    garch = E.garch_forecaster("garch_t", r, 400, 100, np.random.default_rng(1), info)
    twin = E.garch_forecaster("garch_t", r, 400, 100, np.random.default_rng(1), {})
    records = E.backtest(r, origins, {"garch_t": garch, "half": lambda o, s: 0.5 * twin(o, s)})[1]
    out = E.compare(records, "half")
    assert out["garch_t"]["kupiec_p95"] > 0.05 and out["garch_t"]["kupiec_p99"] > 0.05, out["garch_t"]
    assert abs(out["garch_t"]["hit_rate95"] - 0.05) < 0.02
    assert out["half"]["kupiec_p95"] < 0.01 and out["half"]["kupiec_p99"] < 0.01, out["half"]
    assert out["half"]["hit_rate95"] > 0.12
    # paired FZ0 and pinball: the mis-scaled model is worse, its interval clear of zero
    assert out["vs_garch_t"]["fz0_99_lo"] > 0 and out["vs_garch_t"]["pinball95_lo"] > 0, out["vs_garch_t"]
    assert info["fits"] == 8 and info["nonstationary_fits"] == 0 and 0.9 < info["max_persistence"] < 1


def test_origins_do_not_overlap_and_the_bootstrap_interval_covers_the_mean() -> None:
    os_ = E.origins_for(100, 400, 20, 12)
    assert os_[0] == 100 and os_[-1] + 20 <= 400 and min(np.diff(os_)) >= 20 and len(os_) <= 12
    assert E.origins_for(100, 110, 20, 5) == []
    d = np.random.default_rng(0).normal(1.0, 1.0, 200)
    mean, lo, hi = E.block_bootstrap([d])
    assert lo < mean < hi and lo > 0.7 and hi < 1.3 and mean == pytest.approx(d.mean())
    with pytest.raises(ConfigError, match="--backtest-horizons"):
        E.parse_horizons("1,x")


def prices_frame(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((n, 2)) * [0.01, 0.02]
    p = 100 * np.exp(np.cumsum(r, 0))
    dates = pl.date_range(pl.date(2001, 1, 1), pl.date(2001, 1, 1) + pl.duration(days=n - 1), eager=True)
    return pl.DataFrame({"date": dates.cast(pl.Utf8), "AAA": p[:, 0], "BBB": p[:, 1]})


def test_train_once_generate_every_day(in_tmp: Path) -> None:
    full = prices_frame(320)
    full.head(260).write_csv("train.csv")
    full.write_csv("later.csv")
    invoke(
        "run", "fints", "--data", "train.csv", "--epochs", "1", "--window", "10", "--horizon", "5", "--hidden", "8",
        "--disc-steps", "5", "--backtest-origins", "4", "--backtest-scenarios", "60", "--backtest-horizons", "1,5",
        "--out", "run",
    )  # fmt: skip
    # the report: the backtest table (fints and both baselines, paired differences) and its figure
    metrics = json.loads(Path("run/metrics.json").read_text())["metrics"]
    h5 = metrics["backtest"]["h5"]
    assert {"ganapps", "garch_t", "fhs", "vs_garch_t", "vs_fhs"} <= set(h5) and h5["ganapps"]["origins"] == 4
    assert {"kupiec_p95", "christoffersen_p99", "crps", "energy", "fz0_95"} <= set(h5["garch_t"])
    assert h5["vs_fhs"]["crps_lo"] <= h5["vs_fhs"]["crps"] <= h5["vs_fhs"]["crps_hi"]
    lo, hi = metrics["ganapps"]["kurtosis_error_ci"]
    assert lo <= hi and lo <= metrics["ganapps"]["discriminative_score"] + 1  # an interval, in the metric's units
    report = Path("run/report.html").read_text()
    assert "backtest: realised horizon returns" in report and unexplained(report) == []

    # generate from the last day of a file that runs past training: the window is the file's, the scaling training's
    invoke("generate", "run", "--data", "later.csv", "--start-window", "last", "--scenarios", "7", "--horizon", "3",
           "--out", "today.csv")  # fmt: skip
    today = pl.read_csv("today.csv")
    last = full.row(-1, named=True)
    first = today.filter(pl.col("step") == 1)
    assert today.height == 21 and np.allclose(first["AAA_price"] / np.exp(first["AAA_return"]), last["AAA"])
    app = load_bundle("run/bundle")
    seen: list[np.ndarray] = []
    app._continue = lambda past, cond: seen.append(past) or np.zeros((len(past), 5, 2))  # type: ignore[method-assign]
    app.generate(2, horizon=3, start_window="2001-11-01", data="later.csv")
    t0 = full.get_column("date").to_list().index("2001-11-01")
    r = np.diff(np.log(full.select("AAA", "BBB").to_numpy()[t0 - 10 : t0 + 1]), axis=0)
    assert np.allclose(seen[0][0], (r - np.array(app.schema["mu"])) / np.array(app.schema["sd"]))

    # bad inputs: one line each, exit 2
    full.with_columns(pl.col("AAA").alias("CCC")).write_csv("extra.csv")
    assert "unknown ticker 'CCC'" in fails("generate", "run", "--data", "extra.csv")
    full.drop("BBB").write_csv("lacks.csv")
    assert "'BBB'" in fails("generate", "run", "--data", "lacks.csv")
    full.tail(6).write_csv("short.csv")
    assert "--window 10" in fails("generate", "run", "--data", "short.csv")
    full.filter((pl.arange(0, 320) < 300) | (pl.arange(0, 320) > 315)).write_csv("gap.csv")
    assert "gap of 17 days" in fails("generate", "run", "--data", "gap.csv")
    assert "'nope'" in fails("run", "fints", "--data", "train.csv", "--backtest-baselines", "garch_t,nope")
    assert "--backtest-horizons" in fails("run", "fints", "--data", "train.csv", "--backtest-horizons", "0,5")
    assert "outside" in fails("generate", "run", "--data", "later.csv", "--start-window", "2030-01-01")
