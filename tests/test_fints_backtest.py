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


def garch_with_sigma(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Log returns (n, 1) of :func:`garch_series`'s process and the conditional σ of the *next* day after each."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(6, n) * np.sqrt(4 / 6)
    s2, out, nxt = 0.05 / 0.02, np.empty(n), np.empty(n)
    for t in range(n):
        out[t] = np.sqrt(s2) * z[t]
        s2 = 0.05 + 0.08 * out[t] ** 2 + 0.9 * s2
        nxt[t] = np.sqrt(s2)
    return out[:, None] / 100, nxt / 100


def test_ewma_vol_scaling_makes_the_var_follow_the_conditional_sigma() -> None:
    """A generator that ignores its window (the same noise block every time) gives a VaR that tracks the
    true conditional σ under --vol-scaling ewma, and a constant one without."""
    from types import SimpleNamespace

    from ganapps.plugins.fints.scenarios import rollout

    r, sigma = garch_with_sigma(1500)
    w, h = 48, 5
    noise = np.random.default_rng(1).standard_normal((400, h, 1))
    origins = np.arange(w, len(r), 7)
    past = np.stack([r[t - w : t] for t in origins])  # window of returns up to origin t - 1
    var = {}
    for mode in ("none", "ewma"):
        schema = {"mu": r.mean(0).tolist(), "sd": r.std(0).tolist(), "vol_scaling": mode,
                  "regime_transitions": np.full((3, 3), 1 / 3).tolist()}  # fmt: skip
        app = SimpleNamespace(options=SimpleNamespace(window=w, horizon=h, regime="none"), schema=schema)
        app._continue = lambda p, c: np.tile(noise, (len(p) // len(noise), 1, 1))
        paths, _ = rollout(app, np.repeat(past, len(noise), 0), 1, None, np.zeros((len(past) * len(noise), 0)))
        var[mode] = -np.quantile(paths.reshape(len(past), len(noise)), 0.05, axis=1)
    true = np.log(sigma[origins - 1])
    assert np.corrcoef(np.log(var["ewma"]), true)[0, 1] > 0.8
    assert np.ptp(var["none"]) < 1e-12  # without scaling the window's volatility does not reach the scenarios
    # with it, the 95% VaR of a N(0,1) block is 1.645 × the window's EWMA σ
    from ganapps.plugins.fints.volscale import ewma_sigma

    assert np.allclose(var["ewma"] / ewma_sigma(past)[:, 0], -np.quantile(noise[:, 0, 0], 0.05))


def test_live_generate_with_ewma_scaling_uses_the_windows_own_volatility(in_tmp: Path) -> None:
    """--vol-scaling ewma through generate --data: the model sees the window over its own EWMA σ; prices
    after the origin change nothing; a window twice as volatile gives scenarios exactly twice as large."""
    import torch

    from ganapps.core import run
    from ganapps.plugins.fints.volscale import ewma_sigma

    full = prices_frame(300)
    full.head(240).write_csv("train.csv")
    opts = {"window": 10, "horizon": 5, "hidden": 8, "vol_scaling": "ewma", "backtest_origins": 0, "disc_steps": 5}
    run("fints", "train.csv", options=opts, train={"epochs": 1}, out="run", samples=5, progress=False)
    app = load_bundle("run/bundle")
    assert app.schema["vol_scaling"] == "ewma"
    day, t0 = "2001-09-20", full.get_column("date").to_list().index("2001-09-20")
    p = full.select("AAA", "BBB").to_numpy()
    r = np.diff(np.log(p), axis=0)

    def scenarios(prices: np.ndarray, name: str) -> np.ndarray:
        full.with_columns(AAA=prices[:, 0], BBB=prices[:, 1]).write_csv(name)
        torch.manual_seed(0)
        table = app.generate(50, horizon=3, start_window=day, data=name)
        return table.select("AAA_return", "BBB_return").to_numpy()

    base = scenarios(p, "a.csv")
    later = p.copy()
    later[t0 + 1 :] *= 1.5  # a jump after the origin
    assert np.array_equal(scenarios(later, "b.csv"), base)
    loud = p.copy()  # the window's returns doubled, the price on the origin kept
    loud[: t0 + 1] = p[t0] * np.exp(2 * (np.log(p[: t0 + 1]) - np.log(p[t0])))
    assert np.allclose(scenarios(loud, "c.csv"), 2 * base)
    seen: list[np.ndarray] = []
    app._continue = lambda past, cond: seen.append(past) or np.zeros((len(past), 5, 2))  # type: ignore[method-assign]
    app.generate(2, horizon=3, start_window=day, data="a.csv")
    win = r[t0 - 10 : t0]
    assert np.allclose(seen[0][0], win / ewma_sigma(win))
