"""Options of the ``fints`` app: ``ganapps run fints`` (FinTSOptions) and ``ganapps generate`` (FinTSGenerateOptions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class FinTSOptions:
    window: int = field(default=48, metadata={"help": "Past trading days the generator is conditioned on."})
    horizon: int = field(default=24, metadata={"help": "Days generated jointly per block (longer scenarios roll out)."})
    price_col: str = field(
        default="", metadata={"help": "Price column (default Adj_Close, Close or Price if present)."}
    )
    date_col: str = field(default="", metadata={"help": "Date column (default: a column named date/Date, if any)."})
    symbol_col: str = field(default="", metadata={"help": "Long form: ticker column (default symbol/ticker)."})
    tickers: str = field(default="", metadata={"help": "Comma-separated tickers to keep (default: all)."})
    missing: Literal["drop", "ffill"] = field(
        default="drop", metadata={"help": "A ticker missing on a date: drop the date, or carry the last price."}
    )
    regime: Literal["vol", "none"] = field(
        default="vol", metadata={"help": "Condition on the realised-volatility regime (low/mid/high) or not."}
    )
    vol_scaling: Literal["none", "ewma"] = field(
        default="none",
        metadata={
            "help": "Units of each window: the training span's (none), or its own EWMA volatility at the origin "
            "(ewma, λ 0.94; generated blocks are scaled back by it, so scenarios follow today's volatility)."
        },
    )
    condition_cols: str = field(
        default="", metadata={"help": "Comma-separated user condition columns (e.g. VIX), known at the window end."}
    )
    arch: Literal["tcn", "tcn-ar", "gru", "garch"] = field(
        default="tcn",
        metadata={
            "help": "Generator and critic: temporal convolutions (tcn; tcn-ar: the generator rolls out day by "
            "day, each generated day fed back), recurrent (gru), or a neural-GARCH generator (σ_t·ε_t, returns "
            "fed back) with the tcn critic (garch)."
        },
    )
    critic_ends: bool = field(
        default=False,
        metadata={
            "help": "The TCN critic also reads the first and the last quarter of the generated block on their "
            "own, so it sees volatility ramping up through a block."
        },
    )
    hidden: int = field(default=64, metadata={"help": "Width of generator and critic."})
    nz: int = field(default=8, metadata={"help": "Noise size per generated step."})
    loss: Literal["wgan-gp", "bce", "hinge", "lsgan"] = field(default="wgan-gp", metadata={"help": "Adversarial loss."})
    gp_weight: float = field(default=10.0, metadata={"help": "Gradient-penalty weight λ for wgan-gp."})
    regime_weight: float = field(
        default=1.0, metadata={"help": "Weight of the regime loss: a block's realised vol must lie in its regime."}
    )
    moment_weight: float = field(
        default=1.0,
        metadata={
            "help": "Weight of the moment-matching loss: generated vs real batch ACF of returns and of |returns|, "
            "leverage, return quantiles and cross-asset correlations (0 = off)."
        },
    )
    moment_lags: int = field(default=10, metadata={"help": "Lags 1..N of the moment-matching loss."})
    moment_facts: str = field(
        default="acf,acf_abs,leverage,quantiles,corr*20",
        metadata={
            "help": "Comma-separated facts the moment loss matches (of acf,acf_zero,acf_abs,leverage,quantiles,corr), "
            "each optionally weighted (corr*3)."
        },
    )
    moment_by_regime: bool = field(
        default=False,
        metadata={"help": "Match the moments within each volatility regime (conditional facts), not over the batch."},
    )
    disc_steps: int = field(
        default=500, metadata={"help": "Evaluation: Adam steps of the post-hoc GRU real/synthetic classifier."}
    )
    disc_repeats: int = field(default=1, metadata={"help": "Evaluation: discriminative score averaged over N seeds."})
    backtest_horizons: str = field(
        default="1,10,20", metadata={"help": "Evaluation: comma-separated horizons (days) of the VaR/ES backtest."}
    )
    backtest_origins: int = field(
        default=12,
        metadata={
            "help": "Evaluation: at most N forecast origins per horizon over the held-out span (0 = no backtest)."
        },
    )
    backtest_scenarios: int = field(default=500, metadata={"help": "Evaluation: scenarios per origin and model."})
    backtest_baselines: str = field(
        default="garch_t,fhs",
        metadata={"help": "Evaluation: comma-separated baselines of the backtest (garch_t,gjr_t,fhs,gbm,bootstrap)."},
    )
    backtest_refit: int = field(
        default=5, metadata={"help": "Evaluation: refit the GARCH baselines every N origins (filtered in between)."}
    )


@dataclass
class FinTSGenerateOptions:
    scenarios: int | None = field(default=None, metadata={"help": "Number of scenario paths (overrides -n)."})
    horizon: int | None = field(
        default=None, metadata={"help": "Steps per scenario (default: the run's held-out length, else --horizon)."}
    )
    start_window: str = field(
        default="last",
        metadata={
            "help": "Start after the last day (last) or after DATE (YYYY-MM-DD), of the training data or --data."
        },
    )
    data: str = field(
        default="",
        metadata={
            "help": "A price file with the training tickers (e.g. one extending past training): the window is "
            "taken from it, standardised with the training statistics."
        },
    )
