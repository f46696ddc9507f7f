"""What each ``fints`` metric means in the report: one line, which direction is better, and its
reference (the best baseline of the same run, the realised period, the predictor trained on real data)."""

from __future__ import annotations

from ganapps.core.meanings import Better, MetricMeaning
from ganapps.plugins.fints.metrics import LAGS

# ------------------------------------------------------------ what the metrics mean
#: (meaning, better) of each per-method metric (ganapps, gbm, bootstrap): facts, risk, TimeGAN scores
PER_METHOD: dict[str, tuple[str, Better | None]] = {
    "w1_returns": (
        "Wasserstein-1 distance of daily returns to the realised held-out returns (mean over assets)",
        "lower",
    ),
    "kurtosis_error": ("error of the excess kurtosis (fat tails) against the realised period", "lower"),
    "tail_error": ("relative error of the 1% and 99% return quantiles against the realised ones", "lower"),
    "acf_returns_error": (f"error of the autocorrelation of returns, lags 1–{LAGS}", "lower"),
    "acf_abs_returns_error": (
        f"error of the autocorrelation of absolute returns (volatility clustering), lags 1–{LAGS}",
        "lower",
    ),
    "leverage_error": ("error of the leverage effect (today's return against later squared returns)", "lower"),
    "vol_error": ("relative error of the daily volatility against the realised one", "lower"),
    "cross_corr_error": ("error of the correlations between assets", "lower"),
    "predictive_mae_return": (
        "train on these paths, test on the realised one: MAE of a ridge next-return predictor",
        "lower",
    ),
    "predictive_mae_abs_return": ("the same for the next absolute return (volatility)", "lower"),
    "discriminative_score": (
        "|accuracy − 0.5| of a GRU telling real training continuations from these (0 = indistinguishable)",
        "lower",
    ),
}
for _tag in ("95", "99"):
    PER_METHOD[f"var{_tag}_error"] = (
        f"relative error of the one-day {_tag}% VaR of the equal-weight portfolio",
        "lower",
    )
    PER_METHOD[f"es{_tag}_error"] = (
        f"relative error of the one-day {_tag}% expected shortfall of that portfolio",
        "lower",
    )


def meanings() -> dict[str, MetricMeaning]:
    """The report's explanation of every metric :func:`evaluate` writes."""
    out: dict[str, MetricMeaning] = {}
    for key, (text, better) in PER_METHOD.items():
        baselines = (f"gbm.{key}", f"bootstrap.{key}")
        out[f"ganapps.{key}"] = MetricMeaning(f"scenarios: {text}", better, baselines, "best baseline")
        out[f"*.{key}"] = MetricMeaning(f"this baseline's paths: {text}", better)
    for key in ("predictive_mae_return", "predictive_mae_abs_return"):
        out[f"ganapps.{key}"] = MetricMeaning(
            f"scenarios: {PER_METHOD[key][0]}", "lower", f"real_train.{key}", "trained on real"
        )
        out[f"real_train.{key}"] = MetricMeaning("the same predictor trained on the real training returns")
    for tag, share in (("95", 0.05), ("99", 0.01)):
        out[f"*.var{tag}"] = MetricMeaning(
            f"one-day {tag}% value at risk of the equal-weight portfolio (a loss)",
            None,
            f"*.var{tag}_realised",
            "realised",
        )
        out[f"*.es{tag}"] = MetricMeaning(
            f"one-day {tag}% expected shortfall of that portfolio (a loss)", None, f"*.es{tag}_realised", "realised"
        )
        out[f"*.var{tag}_realised"] = MetricMeaning(f"the {tag}% VaR of the realised held-out period")
        out[f"*.es{tag}_realised"] = MetricMeaning(f"the {tag}% expected shortfall of the realised held-out period")
        out[f"*.exceed{tag}"] = MetricMeaning(
            f"share of realised days losing more than this {tag}% VaR (closest to {share:g} is best)",
            None,
            share,
            "nominal",
        )
    out["*.nn_ratio"] = MetricMeaning(
        "median distance of generated windows to their nearest training window over that between training windows "
        "(≈1 fine, ≪1 copies)",
        None,
        1.0,
        "real to real",
    )
    out["*.copy_share"] = MetricMeaning(
        "share of generated windows closer to a training window than 99% of training windows are to each other",
        "lower",
        0.01,
        "real to real",
    )
    out["facts_better_than_gbm"] = MetricMeaning(
        "stylized-fact errors (of facts_compared) where the scenarios beat GBM", "higher", "facts_compared", "all facts"
    )
    out["facts_compared"] = MetricMeaning("stylized facts compared with the realised period")
    out["block_vol_ramp.real"] = MetricMeaning("the same ratio in the real continuations: the reference, ≈1")
    out["block_vol_ramp.*"] = MetricMeaning(
        "return spread over the last days of a generated block over its first days (>1: a volatility saw-tooth)",
        None,
        "block_vol_ramp.real",
        "real",
    )
    out["regime_vol.*"] = MetricMeaning(
        "realised daily volatility of the portfolio in a block generated for this regime"
    )
    out.update(backtest_meanings())
    return out


#: the backtest's per-model scores (``backtest.h<H>.<model>.<key>``): meaning and direction
BACKTEST: dict[str, tuple[str, Better | None]] = {
    "origins": ("forecast origins scored at this horizon (non-overlapping)", None),
    "crps": ("CRPS of the portfolio's horizon return (proper score)", "lower"),
    "energy": ("energy score of the assets' horizon returns (proper, multivariate)", "lower"),
}
for _tag, _share in (("95", 0.05), ("99", 0.01)):
    BACKTEST[f"pinball{_tag}"] = (f"quantile (pinball) loss of the {_tag}% VaR", "lower")
    BACKTEST[f"fz0_{_tag}"] = (f"FZ0 joint loss of the {_tag}% VaR and ES (Patton-Ziegel-Chen)", "lower")
    BACKTEST[f"fz0_undefined{_tag}"] = (f"origins whose {_tag}% ES forecast was not a loss (FZ0 undefined)", "lower")
    BACKTEST[f"hit_rate{_tag}"] = (f"share of origins whose realised return fell below the {_tag}% VaR", None)
    BACKTEST[f"kupiec_p{_tag}"] = (f"Kupiec test p-value, hit rate = {_share:g} (< 0.05: coverage rejected)", None)
    BACKTEST[f"christoffersen_p{_tag}"] = (
        f"Christoffersen p-value, {_tag}% hits independent of the previous origin's (< 0.05: clustered)",
        None,
    )


def backtest_meanings() -> dict[str, MetricMeaning]:
    """Meanings of the rolling-origin backtest's metrics (:mod:`.evaluation`) and of the sampling intervals."""
    out: dict[str, MetricMeaning] = {}
    for key, (text, better) in BACKTEST.items():
        out[f"backtest.*.*.{key}"] = MetricMeaning(f"backtest: {text}", better)
        if key in ("crps", "energy") or key.startswith(("pinball", "fz0")):
            out[f"backtest.*.vs_*.{key}"] = MetricMeaning(
                f"ganapps minus this baseline, mean over origins, of the {text.split(' (')[0]} (< 0: ganapps better)"
            )
            out[f"backtest.*.vs_*.{key}_lo"] = MetricMeaning("lower end of its 95% block-bootstrap interval")
            out[f"backtest.*.vs_*.{key}_hi"] = MetricMeaning("upper end of that interval (< 0: ganapps surely better)")
    out["backtest.baseline_fits.*.fits"] = MetricMeaning("GARCH fits of this baseline over the backtest")
    out["backtest.baseline_fits.*.nonstationary_fits"] = MetricMeaning(
        "fits with persistence α+γ/2+β ≥ 1 (not covariance-stationary: long-horizon variance explodes)", "lower"
    )
    out["backtest.baseline_fits.*.max_persistence"] = MetricMeaning("largest persistence α+γ/2+β of those fits")
    out["*.*_ci"] = MetricMeaning("90% interval of the metric over resamples of the scenario paths (sampling noise)")
    out["*.discriminative_score_ci"] = MetricMeaning(
        "90% interval of the score from the classifier's test-set size (binomial sampling noise)"
    )
    return out


# ---------------------------------------------------------- the app's evaluation
