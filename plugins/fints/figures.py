"""Report figures: scenario paths against the realised path, ACF curves, log-scale return histograms,
and the volatility by position inside a generated block."""

from __future__ import annotations

import numpy as np

from ganapps.core.report import figure_png, new_figure
from ganapps.plugins.fints.metrics import LAGS, acf

COLOURS = {
    "ganapps": "#c0392b",
    "gbm": "#7f8c8d",
    "bootstrap": "#2e86c1",
    "realised": "black",
    "garch_t": "#27ae60",
    "gjr_t": "#16a085",
    "fhs": "#8e44ad",
}


def paths_figure(methods: dict[str, np.ndarray], realised: np.ndarray, tickers: list[str], k: int = 20) -> bytes:
    """Cumulative log return of the first ticker: ``k`` scenarios per method and the realised path."""
    fig, axes = new_figure(4.0 * len(methods), 3.2)
    fig.clf()
    axes = fig.subplots(1, len(methods), sharey=True, squeeze=False)[0]
    real_cum = np.cumsum(realised[:, 0])
    for ax, (name, paths) in zip(axes, methods.items(), strict=True):
        for p in paths[:k, :, 0]:
            ax.plot(np.cumsum(p), color=COLOURS.get(name, "C0"), alpha=0.35, lw=0.7)
        ax.plot(real_cum, color="black", lw=1.6, label="realised")
        ax.set_title(f"{name}: {tickers[0]}")
        ax.set_xlabel("trading day")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cumulative log return")
    axes[0].legend(fontsize=8)
    return figure_png(fig)


def acf_figure(methods: dict[str, np.ndarray], realised: np.ndarray) -> bytes:
    """Mean ACF (first ticker) of returns and of absolute returns, lags 1–20."""
    fig, _ = new_figure(9, 3.2)
    fig.clf()
    axes = fig.subplots(1, 2)
    lags = np.arange(1, LAGS + 1)
    for ax, fn, title in ((axes[0], lambda x: x, "returns"), (axes[1], np.abs, "absolute returns")):
        for name, paths in methods.items():
            ax.plot(lags, acf(fn(paths[:, :, 0])).mean(0), color=COLOURS.get(name), marker=".", label=name)
        ax.plot(lags, acf(fn(realised[None, :, 0]))[0], color="black", lw=2, label="realised")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(f"ACF of {title}")
        ax.set_xlabel("lag (days)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    return figure_png(fig)


def histogram_figure(methods: dict[str, np.ndarray], realised: np.ndarray) -> bytes:
    """Density of daily returns (first ticker), log scale, so the tails show."""
    fig, ax = new_figure(6, 3.4)
    lo, hi = np.quantile(realised[:, 0], [0.001, 0.999])
    span = max(abs(lo), abs(hi)) * 2.5
    bins = np.linspace(-span, span, 61)
    for name, paths in methods.items():
        d, e = np.histogram(paths[:, :, 0].ravel(), bins=bins, density=True)
        ax.step(e[:-1], np.where(d > 0, d, np.nan), where="post", color=COLOURS.get(name), label=name)
    d, e = np.histogram(realised[:, 0], bins=bins, density=True)
    ax.step(e[:-1], np.where(d > 0, d, np.nan), where="post", color="black", lw=2, label="realised")
    ax.set_yscale("log")
    ax.set_xlabel("daily log return")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return figure_png(fig)


def block_figure(profiles: dict[str, np.ndarray]) -> bytes:
    """Spread of standardised returns at each day of a generated block (``block_profile``), per source:
    flat for real windows; rising when volatility ramps up through each generated block."""
    fig, ax = new_figure(6, 3.2)
    colours = {"generated (in sample)": COLOURS["ganapps"], "real (in sample)": "black", "scenarios": "#e67e22"}
    for name, prof in profiles.items():
        ax.plot(np.arange(1, len(prof) + 1), prof, marker=".", color=colours.get(name), label=name)
    ax.set_xlabel("day of the block")
    ax.set_ylabel("spread (standardised)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return figure_png(fig)


def backtest_figure(records: dict[int, dict[str, list[dict[str, float]]]], dates: list[str] | None) -> bytes:
    """One panel per horizon: the realised horizon return of the equal-weight portfolio at each origin
    (dots), each model's 95% (solid) and 99% (dashed) VaR, and the exceedances of ganapps' VaR (red ×: 95%,
    circled: 99%)."""
    fig, _ = new_figure(4.2 * len(records), 3.4)
    fig.clf()
    axes = fig.subplots(1, len(records), squeeze=False)[0]
    for ax, (h, models) in zip(axes, records.items(), strict=True):
        for k, (name, recs) in enumerate(models.items()):
            x = np.arange(len(recs))
            colour = COLOURS.get(name, f"C{k}")
            ax.plot(x, [r["var95"] for r in recs], color=colour, lw=1.1, label=f"{name} VaR 95/99")
            ax.plot(x, [r["var99"] for r in recs], color=colour, lw=1.1, ls="--")
        recs = models["ganapps"]
        x, y = np.arange(len(recs)), np.array([r["realised"] for r in recs])
        ax.plot(x, y, "o", color="black", ms=3, label="realised")
        hit95, hit99 = np.array([r["hit95"] for r in recs]) > 0, np.array([r["hit99"] for r in recs]) > 0
        ax.plot(x[hit95], y[hit95], "x", color="red", ms=8, mew=2, label="ganapps exceedance")
        ax.plot(x[hit99], y[hit99], "o", mfc="none", color="red", ms=11)
        if dates is not None and len(recs):
            ticks = x[:: max(1, len(x) // 4)]
            ax.set_xticks(ticks, [dates[int(recs[i]["origin"])] for i in ticks], fontsize=7)
        ax.set_title(f"{h}-day horizon")
        ax.set_xlabel("origin")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("portfolio log return over the horizon")
    axes[0].legend(fontsize=7)
    return figure_png(fig)
