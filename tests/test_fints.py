"""The fints app: price tables (wide and long), bad inputs, CLI end to end, bundles, conditions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ganapps.cli.testing import cli_fails as fails
from ganapps.cli.testing import cli_ok as invoke
from ganapps.core import load_bundle
from ganapps.core.errors import DataError
from ganapps.core.testing import unexplained
from ganapps.plugins.fints import metrics as M
from ganapps.plugins.fints.data import load_prices


def regime_prices(n: int = 700, seed: int = 0) -> pl.DataFrame:
    """Two correlated assets whose volatility switches between calm (0.5%) and wild (3%) spells."""
    rng = np.random.default_rng(seed)
    vol = np.where((np.arange(n) // 40) % 2 == 0, 0.005, 0.03)
    common = rng.standard_normal(n)
    r = np.stack([common, 0.6 * common + 0.8 * rng.standard_normal(n)], 1) * vol[:, None]
    prices = 100 * np.exp(np.cumsum(r, 0))
    dates = pl.date_range(pl.date(2000, 1, 3), pl.date(2000, 1, 3) + pl.duration(days=n - 1), eager=True)
    return pl.DataFrame({"date": dates.cast(pl.Utf8), "AAA": prices[:, 0], "BBB": prices[:, 1]})


@pytest.fixture
def wide_csv(tmp_path: Path) -> Path:
    path = tmp_path / "wide.csv"
    regime_prices().write_csv(path)
    return path


def test_wide_and_long_forms_give_the_same_returns(tmp_path: Path) -> None:
    wide = regime_prices(60)
    wide = wide.with_columns(pl.when(pl.arange(0, 60) == 10).then(None).otherwise(pl.col("BBB")).alias("BBB"))
    wide.write_csv(tmp_path / "w.csv")
    long = wide.unpivot(index="date", variable_name="symbol", value_name="Close").drop_nulls()
    long.sort(["symbol", "date"]).write_csv(tmp_path / "l.csv")
    a = load_prices(tmp_path / "w.csv")
    b = load_prices(tmp_path / "l.csv", price_col="Close")
    assert a.tickers == b.tickers == ["AAA", "BBB"]
    assert len(a) == len(b) == 59  # the date with BBB missing is dropped for both tickers
    assert np.allclose(a.returns(), b.returns())
    assert a.dates == b.dates and "2000-01-13" not in a.dates
    # the return over the gap spans it: log(p[11] / p[9])
    full = wide.get_column("AAA").to_numpy()
    assert np.isclose(a.returns()[9, 0], np.log(full[11] / full[9]))
    f = load_prices(tmp_path / "w.csv", missing="ffill")
    assert len(f) == 60 and f.returns()[9, 1] == 0.0  # carried price: a zero return that day
    one = load_prices(tmp_path / "l.csv", price_col="Close", tickers="BBB")
    assert one.tickers == ["BBB"] and len(one) == 59


def test_single_asset_ohlcv_without_dates(tmp_path: Path) -> None:
    p = 50 + np.arange(40.0)
    pl.DataFrame({"Open": p, "High": p + 1, "Low": p - 1, "Close": p, "Adj_Close": p * 2, "Volume": p * 1e6}).write_csv(
        tmp_path / "goog.csv"
    )
    data = load_prices(tmp_path / "goog.csv")
    assert data.tickers == ["Adj_Close"] and data.dates is None
    assert load_prices(tmp_path / "goog.csv", price_col="Close").tickers == ["Close"]


def test_bad_inputs_are_one_line_errors(in_tmp: Path) -> None:
    df = regime_prices(50)
    df.with_columns(pl.col("date").reverse()).write_csv("backwards.csv")
    assert "not increasing" in fails("run", "fints", "--data", "backwards.csv") and "'date'" in fails(
        "run", "fints", "--data", "backwards.csv"
    )
    df.with_columns(pl.when(pl.arange(0, 50) == 7).then(-1.0).otherwise(pl.col("AAA")).alias("AAA")).write_csv(
        "negative.csv"
    )
    msg = fails("run", "fints", "--data", "negative.csv")
    assert "non-positive" in msg and "'AAA'" in msg and "2000-01-10" in msg
    df.head(1).write_csv("one.csv")
    assert "at least two" in fails("run", "fints", "--data", "one.csv")
    df.write_csv("good.csv")
    msg = fails("run", "fints", "--data", "good.csv", "--tickers", "AAA,ZZZ")
    assert "unknown ticker 'ZZZ'" in msg
    df.unpivot(index="date", variable_name="symbol", value_name="price").write_csv("long.csv")
    assert "unknown ticker 'ZZZ'" in fails("run", "fints", "--data", "long.csv", "--tickers", "ZZZ")
    df.head(30).write_csv("short.csv")
    assert "--window" in fails("run", "fints", "--data", "short.csv")
    assert "--moment-facts" in fails("run", "fints", "--data", "good.csv", "--moment-facts", "acf,skew")
    assert "'corr*x'" in fails("run", "fints", "--data", "good.csv", "--moment-facts", "corr*x")


def test_cli_end_to_end_bundle_and_conditions(in_tmp: Path, wide_csv: Path) -> None:
    invoke(
        "run", "fints", "--data", str(wide_csv), "--epochs", "30", "--window", "10", "--horizon", "5",
        "--hidden", "32", "--batch-size", "64", "--disc-steps", "20", "--out", "run",
    )  # fmt: skip
    metrics = json.loads((in_tmp / "run" / "metrics.json").read_text())["metrics"]
    for method in ("ganapps", "gbm", "bootstrap"):
        assert {"w1_returns", "acf_abs_returns_error", "cross_corr_error", "var99", "discriminative_score"} <= set(
            metrics[method]
        )
    # the stylized facts of regime-switching returns, against i.i.d. Gaussian returns with the real mean and
    # covariance (GBM, fitted and scored in the same run): fat tails and volatility clustering
    ours, gbm = metrics["ganapps"], metrics["gbm"]
    assert ours["kurtosis_error"] < 0.5 * gbm["kurtosis_error"], (ours, gbm)  # 0.36 vs 2.40 when written
    assert ours["acf_abs_returns_error"] < 0.9 * gbm["acf_abs_returns_error"], (ours, gbm)  # 0.16 vs 0.21
    assert metrics["bootstrap"]["kurtosis_error"] >= 0 and 0 <= metrics["ganapps"]["exceed95"] <= 1
    ramp = metrics["block_vol_ramp"]  # last-6 over first-6 days' spread in a block: generated, real, chained
    assert set(ramp) == {"ganapps", "real", "scenarios"} and all(0.2 < v < 5 for v in ramp.values()), ramp
    report = (in_tmp / "run" / "report.html").read_text()
    assert "ACF" in report or "autocorrelation" in report
    assert report.count("<img") >= 5 and "volatility by day of a generated block" in report
    assert unexplained(report) == [] and "best baseline (" in report  # the better of GBM and bootstrap, named

    invoke(
        "generate", "run", "--scenarios", "40", "--horizon", "30", "--condition", "regime=high", "--out", "hi.csv",
        "--seed", "3",
    )  # fmt: skip
    hi = pl.read_csv("hi.csv")
    assert hi.height == 40 * 30 and set(hi.get_column("regime").unique()) == {"high"}
    assert {"scenario", "step", "AAA_price", "AAA_return", "BBB_price", "BBB_return"} <= set(hi.columns)
    assert (hi.get_column("AAA_price") > 0).all() and hi.get_column("step").max() == 30
    invoke("generate", "run", "-n", "40", "--horizon", "30", "--condition", "regime=low", "--out", "lo.parquet")
    lo = pl.read_parquet("lo.parquet")
    assert lo.get_column("scenario").n_unique() == 40

    def vol(df: pl.DataFrame) -> float:
        return float(df.get_column("AAA_return").std())

    assert vol(hi) > 1.5 * vol(lo), (vol(hi), vol(lo))  # the condition moves the scenarios

    # bundle round trip: same seed, same scenarios; a start date inside the training period
    app = load_bundle(in_tmp / "run" / "bundle")
    import torch

    torch.manual_seed(5)
    a = app.generate(8, horizon=7, start_window="2000-06-01")
    torch.manual_seed(5)
    b = app.generate(8, horizon=7, start_window="2000-06-01")
    assert a.equals(b) and a.height == 56
    invoke("evaluate", "run", "--synthetic", "hi.csv", "--out", "again.json")
    assert "ganapps" in json.loads((in_tmp / "again.json").read_text())["metrics"]
    assert "low, mid, high" in fails("generate", "run", "--condition", "regime=extreme")
    assert "VIX" in fails("generate", "run", "--condition", "VIX=30")
    assert "after the training period" in fails("generate", "run", "--start-window", "2030-01-01")


def test_shipped_sample_runs_with_gru(in_tmp: Path) -> None:
    invoke(
        "run", "fints", "--epochs", "1", "--arch", "gru", "--hidden", "16", "--window", "20", "--horizon", "10",
        "--disc-steps", "5", "--samples", "20", "--backtest-origins", "3", "--backtest-scenarios", "100", "--out", "run",
    )  # fmt: skip
    info = json.loads((in_tmp / "run" / "run.json").read_text())
    assert info["status"] == "finished" and info["data"] == "oil-sample"
    m = json.loads((in_tmp / "run" / "metrics.json").read_text())["metrics"]
    assert "cross_corr_error" in m["ganapps"] and m["facts_compared"] == 7


def test_user_condition_column(in_tmp: Path) -> None:
    df = regime_prices(300)
    df.with_columns(pl.Series("VIX", np.linspace(10, 40, 300))).write_csv("vix.csv")
    invoke(
        "run", "fints", "--data", "vix.csv", "--condition-cols", "VIX", "--regime", "none", "--epochs", "1",
        "--window", "10", "--horizon", "5", "--hidden", "8", "--disc-steps", "5", "--arch", "garch",
        "--moment-weight", "1", "--out", "run",
    )  # fmt: skip
    app = load_bundle(in_tmp / "run" / "bundle")
    assert app.schema["tickers"] == ["AAA", "BBB"] and app.schema["cond_names"] == ["VIX"]
    out = app.generate(5, condition={"VIX": "35"}, horizon=4)
    assert out.height == 20 and "regime" not in out.columns


def test_metrics_on_known_processes() -> None:
    rng = np.random.default_rng(0)
    iid = rng.standard_normal((50, 500, 1)) * 0.01
    # GARCH(1,1): volatility clustering the i.i.d. paths lack
    n = 500
    garch = np.zeros((50, n, 1))
    for s in range(50):
        var, r = 1e-4, 0.0
        for t in range(n):
            var = 1e-6 + 0.1 * r**2 + 0.88 * var
            r = np.sqrt(var) * rng.standard_normal()
            garch[s, t, 0] = r
    acf_iid = M.acf(np.abs(iid[:, :, 0])).mean(0)
    acf_garch = M.acf(np.abs(garch[:, :, 0])).mean(0)
    assert acf_garch[:5].mean() > 0.1 > abs(acf_iid[:5].mean())
    assert M.excess_kurtosis(garch[:, :, 0]).mean() > M.excess_kurtosis(iid[:, :, 0]).mean() + 0.5
    # against realised GARCH histories, GARCH scenarios get the clustering right and i.i.d. ones do not
    err_garch = np.mean([M.fact_errors(garch[10:], garch[i])["acf_abs_returns_error"] for i in range(10)])
    err_iid = np.mean([M.fact_errors(iid, garch[i])["acf_abs_returns_error"] for i in range(10)])
    assert err_garch < err_iid
    v, e = M.var_es(np.linspace(-1, 1, 2001), 0.95)
    assert np.isclose(v, 0.9, atol=1e-3) and e > v
    train = iid[0]
    copies = M.copy_check(np.stack([train[i : i + 10] for i in range(0, 400, 7)]), np.stack(
        [train[i : i + 10] for i in range(490)]), 10)  # fmt: skip
    fresh = M.copy_check(iid[1, :400].reshape(40, 10, 1), np.stack([train[i : i + 10] for i in range(490)]), 10)
    assert copies["nn_ratio"] < 0.01 and copies["copy_share"] == 1.0
    assert fresh["nn_ratio"] > 0.5 and fresh["copy_share"] < 0.2
    real = iid[0, :480].reshape(-1, 24, 1) / 0.01
    assert M.discriminative_score(real, np.abs(real), steps=150) > 0.3  # obvious fakes are caught


def test_moment_matching_terms() -> None:
    import torch

    from ganapps.plugins.fints.losses import batch_moments, moment_loss

    rng = np.random.default_rng(1)
    iid = torch.tensor(rng.standard_normal((256, 24, 1)), dtype=torch.float32)
    # a volatility-clustered series with leverage: σ_t rises after a negative return
    x = np.zeros((256, 24))
    sig = np.ones(256)
    for t in range(24):
        x[:, t] = sig * rng.standard_normal(256)
        sig = np.sqrt(0.2 + 0.5 * sig**2 + 0.3 * np.where(x[:, t] < 0, 2 * x[:, t] ** 2, 0.0))
    clustered = torch.tensor(x[:, :, None], dtype=torch.float32)
    m_iid, m_cl = batch_moments(iid, 3), batch_moments(clustered, 3)
    assert list(m_cl) == ["acf", "acf_abs", "leverage", "quantiles"]  # one asset: no cross-asset correlation
    assert abs(float(m_iid["acf"][0])) < 0.05 and abs(float(m_iid["acf_abs"][0])) < 0.05
    assert float(m_cl["acf_abs"][0]) > 0.1 and float(m_cl["leverage"][0]) < -0.05  # clustering and leverage
    assert torch.allclose(m_iid["quantiles"], torch.quantile(iid.flatten(), torch.tensor(
        [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99])))  # fmt: skip
    fake = iid.clone().requires_grad_(True)
    loss = moment_loss(fake, clustered, 3)
    loss.backward()
    assert float(loss.detach()) > 0.05 and fake.grad is not None and fake.grad.abs().sum() > 0
    assert float(moment_loss(clustered, clustered, 3)) == 0.0
    # each fact counts the same: the loss is the mean over facts of each fact's mean absolute difference
    per_fact = [float((m_iid[k] - m_cl[k]).abs().mean()) for k in m_iid]
    assert np.isclose(float(moment_loss(iid, clustered, 3)), np.mean(per_fact), atol=1e-6)
    weighted = float(moment_loss(iid, clustered, 3, facts={"acf": 1.0, "acf_abs": 3.0}))
    assert np.isclose(weighted, (per_fact[0] + 3 * per_fact[1]) / 4, atol=1e-6)
    # acf_zero: the ACF of returns is pulled to 0, not to the real batch's
    zero = batch_moments(clustered, 3, ("acf_zero",), target=True)["acf_zero"]
    assert zero.shape == (3,) and float(zero.abs().sum()) == 0.0
    assert np.isclose(float(moment_loss(iid, clustered, 3, facts=("acf_zero",))), m_iid["acf"].abs().mean().item())
    pair = torch.cat([iid, 0.6 * iid + 0.8 * torch.randn(iid.shape, generator=torch.Generator().manual_seed(0))], 2)
    m_pair = batch_moments(pair, 3)
    assert m_pair["acf"].shape == (6,) and abs(float(m_pair["corr"][0]) - 0.6) < 0.05  # cross-asset correlation
    # by regime: two calm/wild groups of i.i.d. windows show "clustering" only when pooled together
    mixed = torch.cat([iid[:128], 3 * iid[128:]])
    groups = torch.cat([torch.zeros(128), torch.ones(128)]).long()
    assert float(batch_moments(mixed, 3)["acf_abs"][0]) > 0.2
    assert all(abs(float(batch_moments(mixed[groups == g], 3)["acf_abs"][0])) < 0.08 for g in (0, 1))
    assert float(moment_loss(mixed, mixed, 3, groups)) == 0.0
    # matched within regimes, windows without clustering fit; pooled, they would have to switch volatility
    by_regime = float(moment_loss(iid, mixed, 3, groups, ("acf_abs",)))
    assert by_regime < 0.08 < float(moment_loss(iid, mixed, 3, facts=("acf_abs",)))


def test_data_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("date,A\n2020-01-01,1\n2020-01-02,abc\n")
    with pytest.raises(DataError, match="x.csv.*'A'.*'abc'"):
        load_prices(tmp_path / "x.csv")
    (tmp_path / "d.csv").write_text("date,symbol,price\n2020-01-01,A,1\n2020-01-01,A,2\n")
    with pytest.raises(DataError, match="two rows for date 2020-01-01"):
        load_prices(tmp_path / "d.csv")
