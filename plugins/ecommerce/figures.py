"""Figures of the ``ecommerce`` report: real (blue) against synthetic (orange) orders.

Plotting only; :func:`.metrics.evaluate` computes what they show.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ganapps.core.report import figure_png, new_figure

REAL, SYNTH = "#4a7ab0", "#e08a3c"


def histogram(real: np.ndarray, synth: np.ndarray, title: str, xlabel: str, log: bool = True) -> bytes:
    fig, ax = new_figure(5.5, 3.2)
    both = np.concatenate([real, synth])
    lo, hi = max(both.min(), 1e-2 if log else both.min()), np.quantile(both, 0.995)
    bins = np.geomspace(lo, max(hi, lo * 1.01), 40) if log else np.linspace(lo, max(hi, lo + 1), 40)
    ax.hist(np.clip(real, lo, hi), bins=bins, density=True, alpha=0.55, label="real", color=REAL)
    ax.hist(np.clip(synth, lo, hi), bins=bins, density=True, alpha=0.55, label="synthetic", color=SYNTH)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return figure_png(fig)


def time_profiles(rp: dict[str, np.ndarray], sp: dict[str, np.ndarray]) -> bytes:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3))
    labels = {"hour": list(range(24)), "weekday": ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"],
              "month": ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"]}  # fmt: skip
    for ax, k in zip(axes, ("hour", "weekday", "month"), strict=True):
        pos = np.arange(len(rp[k]))
        ax.bar(pos - 0.2, rp[k], 0.4, label="real", color=REAL)
        ax.bar(pos + 0.2, sp[k], 0.4, label="synthetic", color=SYNTH)
        ax.set_xticks(pos[:: 2 if k == "hour" else 1])
        ax.set_xticklabels(labels[k][:: 2 if k == "hour" else 1], fontsize=7)
        ax.set_title(f"invoices by {k}", fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return figure_png(fig)


def price_per_product(reference: pl.DataFrame, synth: pl.DataFrame) -> bytes:
    rm = reference.group_by("prod").agg(pl.col("price").median().alias("r"))
    sm = synth.group_by("prod").agg(pl.col("price").median().alias("s"), pl.len().alias("n"))
    both = rm.join(sm, on="prod")
    fig, ax = new_figure(4.5, 4)
    if both.height:
        ax.scatter(both["r"], both["s"], s=np.clip(both["n"].to_numpy(), 4, 60), alpha=0.5, color=SYNTH)
        lo, hi = (
            float(both.select(pl.min_horizontal("r", "s").min()).item()),
            float(both.select(pl.max_horizontal("r", "s").max()).item()),
        )
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("real median unit price")
    ax.set_ylabel("synthetic median unit price")
    ax.set_title("price per product", fontsize=10)
    return figure_png(fig)


def copurchase_maps(r: np.ndarray, s: np.ndarray) -> bytes:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    v = max(0.05, float(np.quantile(np.abs(r[np.triu_indices(len(r), 1)]), 0.99))) if len(r) > 1 else 1.0
    for ax, m, t in zip(axes, (r, s), ("real", "synthetic"), strict=True):
        m = m.copy()
        np.fill_diagonal(m, 0)
        im = ax.imshow(m, cmap="RdBu_r", vmin=-v, vmax=v)
        ax.set_title(f"co-purchase (phi), top products: {t}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.8)
    return figure_png(fig)
