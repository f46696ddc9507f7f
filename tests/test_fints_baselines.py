"""fints Monte Carlo baselines (GARCH-t, GJR-t, FHS, GBM, bootstrap) and the backtest scores (issue #19)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from ganapps.core.errors import ConfigError
from ganapps.plugins.fints import backtest as S
from ganapps.plugins.fints import baselines as B

# true GARCH(1,1)-t parameters in percent units
MU, OMEGA, ALPHA, BETA, NU = 0.03, 0.05, 0.08, 0.90, 6.0


def garch_series(n: int, seed: int = 0, rho: float = 0.0, assets: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Log returns (n, assets) from a known GARCH(1,1) with standardised t(NU) innovations (Gaussian copula ``rho``),
    and the true conditional volatility (n, assets) of each day given the days before it."""
    from scipy.stats import norm, t

    rng = np.random.default_rng(seed)
    corr = np.full((assets, assets), rho) + (1 - rho) * np.eye(assets)
    g = rng.standard_normal((n, assets)) @ np.linalg.cholesky(corr).T
    z = t.ppf(norm.cdf(g), NU) * math.sqrt((NU - 2) / NU)
    s2 = np.full(assets, OMEGA / (1 - ALPHA - BETA))
    out, vol = np.empty((n, assets)), np.empty((n, assets))
    for i in range(n):
        vol[i] = np.sqrt(s2)
        eps = vol[i] * z[i]
        out[i] = MU + eps
        s2 = OMEGA + ALPHA * eps**2 + BETA * s2
    return out / 100, vol / 100


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    return garch_series(600, seed=1, rho=0.5, assets=2)[0]


# ------------------------------------------------------------------ the generators
@pytest.mark.parametrize("name", list(B.BASELINES))
def test_shape_determinism_and_no_lookahead(series: np.ndarray, name: str) -> None:
    gen = B.get_baseline(name)
    origin = 400
    a = B.scenarios_at(gen, series, origin, 64, 10, np.random.default_rng(3))
    assert a.shape == (64, 10, 2) and np.isfinite(a).all()
    b = B.scenarios_at(gen, series, origin, 64, 10, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, B.scenarios_at(gen, series, origin, 64, 10, np.random.default_rng(4)))
    future_changed = series.copy()
    future_changed[origin:] *= 5.0
    np.testing.assert_array_equal(a, B.scenarios_at(gen, future_changed, origin, 64, 10, np.random.default_rng(3)))
    past_changed = series.copy()
    past_changed[origin - 1] = -0.2  # a crash on the origin's day moves every conditional model
    c = B.scenarios_at(gen, past_changed, origin, 64, 10, np.random.default_rng(3))
    if name not in ("bootstrap",):  # the bootstrap may not draw that day
        assert not np.array_equal(a, c)


def test_univariate_history_is_accepted(series: np.ndarray) -> None:
    out = B.scenarios_at(B.garch_t, series[:, 0], 300, 8, 5, np.random.default_rng(0))
    assert out.shape == (8, 5, 1)


def test_garch_fit_recovers_the_parameters_and_the_origin_state() -> None:
    r, vol = garch_series(3000, seed=2)
    fit = B.fit_garch(r[:2999])
    assert abs(fit.alpha[0] - ALPHA) < 0.04 and abs(fit.beta[0] - BETA) < 0.05
    assert 4 < fit.nu[0] < 10
    # the first simulated day's volatility is the one filtered up to the origin
    assert abs(fit.vol_next[0] / vol[2999, 0] - 1) < 0.15
    # extend() with fixed parameters equals filtering the longer history
    ext = B.fit_garch(r[:2000]).extend(r[2000:2999])
    assert ext.std_resid.shape == (2999, 1)
    assert abs(ext.vol_next[0] / vol[2999, 0] - 1) < 0.2


def test_garch_t_one_day_var99_coverage_and_volatility_tracking() -> None:
    """Held-out days: 99% VaR from garch_t's simulator is breached about 1% of the time, and its first-day
    volatility tracks the true conditional one far better than GBM's constant one."""
    r, vol = garch_series(4000, seed=5)
    state = B.fit_garch(r[:2000])
    corr = np.ones((1, 1))
    rng = np.random.default_rng(0)
    hits, pred = [], []
    for t in range(2000, 4000):
        z = B.t_copula_innovations(state, corr, (2000, 1), rng)
        sims = B.simulate(state, z)[:, 0, 0]
        v, _ = S.var_es(sims, 0.99)
        hits.append(r[t, 0] < v)
        pred.append(state.vol_next[0])
        state = state.extend(r[t : t + 1])
    rate = float(np.mean(hits))
    assert 0.004 <= rate <= 0.018, rate
    assert S.kupiec_pvalue(hits, 0.01) > 0.01
    true = vol[2000:4000, 0]
    gbm_rmse = np.sqrt(np.mean((r[:2000, 0].std() - true) ** 2))
    garch_rmse = np.sqrt(np.mean((np.asarray(pred) - true) ** 2))
    assert garch_rmse < 0.5 * gbm_rmse, (garch_rmse, gbm_rmse)
    # the full generator, refitted at an origin, has the same first-day spread as the filtered state
    sims = B.garch_t(r[:3000], 4000, 1, np.random.default_rng(1))[:, 0, 0]
    assert abs(sims.std() / vol[3000, 0] - 1) < 0.2


@pytest.mark.parametrize("name", ["garch_t", "fhs"])
def test_cross_asset_correlation_is_kept(name: str) -> None:
    r, _ = garch_series(1500, seed=3, rho=0.6, assets=2)
    sims = B.BASELINES[name](r, 4000, 1, np.random.default_rng(0))[:, 0]
    assert abs(np.corrcoef(sims.T)[0, 1] - np.corrcoef(r.T)[0, 1]) < 0.08


def test_gjr_picks_up_leverage() -> None:
    rng = np.random.default_rng(4)
    n, s2, out = 3000, 1.0, []
    for _ in range(n):  # GJR with a strong asymmetry: only negative shocks raise volatility
        eps = math.sqrt(s2) * rng.standard_normal()
        out.append(eps)
        s2 = 0.05 + (0.0 + 0.15 * (eps < 0)) * eps**2 + 0.87 * s2
    fit = B.fit_garch(np.asarray(out)[:, None] / 100, gjr=True)
    assert fit.gamma[0] > 0.08 and fit.alpha[0] < 0.05


def test_missing_arch_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch, series: np.ndarray) -> None:
    monkeypatch.setitem(sys.modules, "arch", None)
    for name in B.NEEDS_ARCH:
        with pytest.raises(ConfigError) as err:
            B.get_baseline(name)
        assert "pip install 'ganapps[finance]'" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError):
        B.garch_t(series, 4, 2, np.random.default_rng(0))
    assert B.get_baseline("gbm")(series, 4, 2, np.random.default_rng(0)).shape == (4, 2, 2)


def test_unknown_baseline_and_short_history() -> None:
    with pytest.raises(ConfigError, match="unknown baseline"):
        B.get_baseline("arima")
    from ganapps.core.errors import DataError

    with pytest.raises(DataError):
        B.garch_t(np.zeros((20, 1)), 4, 2, np.random.default_rng(0))


# ------------------------------------------------------------------------ the scores
def test_var_es_of_a_known_sample() -> None:
    x = np.arange(1, 101, dtype=float) - 50.5  # -49.5 .. 49.5
    v, e = S.var_es(x, 0.95)
    assert v == pytest.approx(np.quantile(x, 0.05))
    assert e == pytest.approx(np.mean(x[x <= v]))
    assert e <= v < 0


def test_kupiec_known_values() -> None:
    # exactly the expected number of hits: LR = 0, p = 1
    assert S.kupiec_pvalue([1] * 5 + [0] * 95, 0.05) == pytest.approx(1.0)
    # no hit in 250 days at 1%: LR = -2·250·log(0.99) = 5.025, p = 0.02498
    lr = -2 * 250 * math.log(0.99)
    assert lr == pytest.approx(5.0251, abs=1e-4)
    assert S.kupiec_pvalue([0] * 250, 0.01) == pytest.approx(math.erfc(math.sqrt(lr / 2)), rel=1e-9)
    assert S.kupiec_pvalue([0] * 250, 0.01) == pytest.approx(0.02498, abs=1e-5)
    # 1 hit in 100 at 5%, by hand
    lr = -2 * (99 * math.log(0.95) + math.log(0.05)) + 2 * (99 * math.log(0.99) + math.log(0.01))
    assert S.kupiec_pvalue([1] + [0] * 99, 0.05) == pytest.approx(math.erfc(math.sqrt(lr / 2)), rel=1e-9)


def test_christoffersen_known_values() -> None:
    hits = [0, 1, 1, 0, 0, 0, 1, 0]  # n00=2 n01=2 n10=2 n11=1
    pi, p01, p11 = 3 / 7, 2 / 4, 1 / 3
    null = 4 * math.log(1 - pi) + 3 * math.log(pi)
    alt = 2 * math.log(1 - p01) + 2 * math.log(p01) + 2 * math.log(1 - p11) + math.log(p11)
    lr = -2 * (null - alt)
    assert S.christoffersen_pvalue(hits) == pytest.approx(math.erfc(math.sqrt(lr / 2)), rel=1e-9)
    # hits that cluster in one block are dependent: a small p-value
    assert S.christoffersen_pvalue([0] * 90 + [1] * 10 + [0] * 100) < 1e-6
    # equal transition rates: LR = 0
    assert S.christoffersen_pvalue([0, 0, 1, 1, 0, 0, 1, 1, 0]) == pytest.approx(1.0)


def test_pinball_by_hand() -> None:
    assert S.pinball(-0.03, -0.02, 0.05) == pytest.approx(0.0095)
    assert S.pinball(0.01, -0.02, 0.05) == pytest.approx(0.0015)


def test_fz0_by_hand_and_minimised_by_the_truth() -> None:
    # -1/(0.05·-0.03)·(-0.02+0.05) + (-0.02/-0.03) + log(0.03) - 1
    expected = 20.0 + 2 / 3 + math.log(0.03) - 1
    assert S.fz0(-0.05, -0.02, -0.03, 0.05) == pytest.approx(expected)
    assert S.fz0(0.01, -0.02, -0.03, 0.05) == pytest.approx(2 / 3 + math.log(0.03) - 1)
    with pytest.raises(ValueError):
        S.fz0(0.0, -0.01, 0.01, 0.05)
    from scipy.stats import norm

    y = np.random.default_rng(0).standard_normal(200_000)
    alpha = 0.05
    v = norm.ppf(alpha)
    e = -norm.pdf(v) / alpha
    best = np.mean(S.fz0(y, v, e, alpha))
    for dv, de in ((0.3, 0.0), (-0.3, 0.0), (0.0, 0.3), (0.0, -0.3)):
        assert np.mean(S.fz0(y, v + dv, e + de, alpha)) > best


def test_crps_by_hand_and_against_the_gaussian_closed_form() -> None:
    assert S.crps(np.array([0.0, 1.0]), 0.0) == pytest.approx(0.25)
    from scipy.stats import norm

    x = norm.ppf((np.arange(20_000) + 0.5) / 20_000)
    for y in (0.0, 1.5):
        closed = y * (2 * norm.cdf(y) - 1) + 2 * norm.pdf(y) - 1 / math.sqrt(math.pi)
        assert S.crps(x, y) == pytest.approx(closed, abs=2e-4)
    assert S.crps(x, 0.0) == pytest.approx((math.sqrt(2) - 1) / math.sqrt(math.pi), abs=2e-4)


def test_energy_score_by_hand_and_reduces_to_crps() -> None:
    assert S.energy_score(np.array([[0.0, 0.0], [3.0, 4.0]]), np.zeros(2)) == pytest.approx(1.25)
    x = np.random.default_rng(0).standard_normal((700, 1))
    assert S.energy_score(x, np.array([0.3]), chunk=128) == pytest.approx(S.crps(x[:, 0], 0.3))


def test_score_origin_and_summary() -> None:
    rng = np.random.default_rng(0)
    per = []
    for _ in range(50):
        sims = rng.normal(0, 0.01, size=(500, 5, 2))
        real = rng.normal(0, 0.01, size=(5, 2))
        per.append(S.score_origin(sims, real))
    assert {"crps", "var95", "es99", "hit99", "pinball95", "fz0_99", "energy"} <= set(per[0])
    out = S.summarise(per)
    assert out["origins"] == 50
    assert 0 <= out["hit_rate95"] <= 0.2 and out["kupiec_p95"] > 0.01
    assert {"crps", "energy", "fz0_95", "pinball99", "christoffersen_p99"} <= set(out)
