"""Issue #19: rolling-origin VaR/ES backtest of fints against GARCH-t and FHS on every finance series.

Per cell (an asset or a natural set of assets from ../shared/data/finance), the last ``--rows`` days are
kept; fints is trained once, with the app's defaults (chosen on validation inside the training span,
bench/RESULTS.md "Issue 8"), on the first 80% of returns; the last 20% is the test span, touched once.
At every origin of the test span (non-overlapping for each horizon: spaced at least the horizon apart,
at most ``--origins`` per horizon) fints continues the realised window through the same path as
``ganapps generate --data`` (``live.load_new_prices`` + ``scenarios.scenarios_after``: training
statistics, prices after the training period), and GARCH-t and FHS are fitted on the returns up to the
origin (refitted every ``--refit`` origins, filtered in between). Scores: ``plugins/fints/backtest.py``.

``--split validation`` (choosing a default, e.g. ``--vol-scaling``, without the test span): the cell's test
span is dropped and the same protocol runs inside its training span: fints is trained on its first 80%
(64% of the cell) and backtested on the last 20% (16% of the cell), the baselines likewise.
``--vol-scaling`` trains fints with that option (:mod:`ganapps.plugins.fints.volscale`). Each split and
scaling has its own default ``--dir``; ``--summary --versus DIR`` adds fints' pooled paired difference
against the fints of another result directory (same cells, same origins).

Resumable: each phase of each cell (train, backtest) writes ``--dir``/<cell>_<phase>.json and is skipped
when that exists (trained runs live under ``--work``);
the script stops starting new phases after ``--budget`` seconds. ``--summary`` prints the tables.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/fints_backtest.py --budget 420
    .venv/bin/python bench/fints_backtest.py --summary
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from ganapps.core import load_bundle, run
from ganapps.core.app import Evaluation
from ganapps.plugins.fints import evaluation as E
from ganapps.plugins.fints import live
from ganapps.plugins.fints.app import FinTS
from ganapps.plugins.fints.scenarios import scenarios_after

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "finance"
HERE = Path(__file__).resolve().parent
KEYS = ("crps", "energy", "fz0_95", "fz0_99", "pinball95", "pinball99", "hit95", "hit99", "realised", "var95")
CELLS = ("oil", "gafa", "eustock", "brent", "wti", "goog", "sp500")


def cell_frame(cell: str, rows: int) -> pl.DataFrame:
    """The cell's price table (wide or long), its last ``rows`` days."""

    def dated(name: str, col: str) -> pl.DataFrame:
        return pl.read_csv(SHARED / name).select(pl.col("Date").alias("date"), pl.col("Price").alias(col))

    if cell in ("brent", "wti"):
        df = dated(f"{cell}_daily.csv", cell.upper())
    elif cell == "oil":
        df = dated("brent_daily.csv", "BRENT").join(dated("wti_daily.csv", "WTI"), on="date").sort("date")
    elif cell == "goog":
        df = pl.read_csv(SHARED / "goog_daily_timegan.csv").select("Adj_Close")
    elif cell == "sp500":
        df = pl.read_csv(SHARED / "sp500_daily_1950_2018.csv").select(pl.col("Date").alias("date"), "Adj.Close")
    elif cell == "gafa":
        long = pl.read_csv(SHARED / "gafa_stock_daily.csv").select("Symbol", "Date", "Adj_Close")
        df = long.pivot(on="Symbol", index="Date", values="Adj_Close").sort("Date").drop_nulls()
    else:
        df = pl.read_csv(SHARED / "eustockmarkets_daily.csv").drop("rownames")
    return df.tail(rows)


def split_frame(df: pl.DataFrame, split: str) -> pl.DataFrame:
    """The whole frame (test: the run holds out its last 20%), or only its training span (validation)."""
    if split == "test":
        return df
    return df.head(len(df) - int(round((len(df) - 1) * 0.2)))  # the rows run() trains on (split_by_time)


def train_cell(cell: str, a: argparse.Namespace, where: Path) -> dict[str, Any]:
    data = where / "prices.csv"
    split_frame(cell_frame(cell, a.rows), a.split).write_csv(data)
    FinTS.evaluate = lambda self, real, synthetic, train=None: Evaluation()  # the backtest below is the evaluation
    t = time.time()
    train = {"seed": a.seed, **({"epochs": a.epochs} if a.epochs else {})}
    options = {"backtest_origins": 0, "vol_scaling": a.vol_scaling}
    run("fints", str(data), options=options, train=train, out=where / "run",
        samples=10, progress=False)  # fmt: skip
    return {"train_seconds": round(time.time() - t, 1)}


def backtest_cell(where: Path, a: argparse.Namespace) -> dict[str, Any]:
    app = load_bundle(where / "run" / "bundle")
    prices = live.load_new_prices(app, str(where / "prices.csv"))  # the generate --data path
    returns = prices.returns()
    first = len(app.tensors["prices"]) - 1
    horizons = E.parse_horizons(a.horizons)
    origins = {h: E.origins_for(first, len(returns), h, a.origins) for h in horizons}
    torch.manual_seed(a.seed)
    models: dict[str, E.Forecaster] = {"ganapps": lambda t0, s: scenarios_after(app, prices, t0, a.n, s)[0]}
    fits: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(("garch_t", "fhs")):
        fits[name] = {}
        models[name] = E.garch_forecaster(
            name, returns, a.n, a.refit, np.random.default_rng(a.seed + 100 + k), fits[name]
        )
    t = time.time()
    records = E.backtest(returns, origins, models)
    out: dict[str, Any] = {"backtest_seconds": round(time.time() - t, 1), "baseline_fits": fits}
    out["train_days"], out["test_days"] = first, len(returns) - first
    out["dates"] = [prices.dates[first], prices.dates[-1]] if prices.dates else None
    for h in horizons:
        out[f"h{h}"] = {
            "summary": E.compare(records[h], "ganapps", a.seed),
            "per_origin": {m: {k: [r[k] for r in recs if k in r] for k in KEYS} for m, recs in records[h].items()},
        }
    return out


def work(a: argparse.Namespace) -> None:
    start = time.time()
    for cell in a.cells.split(","):
        where = Path(a.work) / cell
        where.mkdir(parents=True, exist_ok=True)
        Path(a.dir).mkdir(parents=True, exist_ok=True)
        phases = (
            ("train", lambda c=cell, w=where: train_cell(c, a, w)),
            ("backtest", lambda w=where: backtest_cell(w, a)),
        )
        for phase, fn in phases:
            done = Path(a.dir) / f"{cell}_{phase}.json"
            if done.exists():
                continue
            if time.time() - start > a.budget:
                print(f"budget spent; rerun to continue ({cell} {phase})")
                return
            print(f"{cell}: {phase} …", flush=True)
            done.write_text(json.dumps(fn(), indent=1))
    print("all cells done")


def pooled(cells: list[dict[str, Any]], h: int, base: str, key: str, seed: int) -> tuple[float, float, float]:
    diffs = []
    for c in cells:
        po = c[f"h{h}"]["per_origin"]
        d = np.array(po["ganapps"][key], dtype=float) - np.array(po[base][key], dtype=float)
        diffs.append(d[np.isfinite(d)])
    return E.block_bootstrap(diffs, seed=seed)


def load_cells(where: str, names: str) -> dict[str, dict[str, Any]]:
    return {c: json.loads((Path(where) / f"{c}_backtest.json").read_text()) for c in names.split(",")
            if (Path(where) / f"{c}_backtest.json").exists()}  # fmt: skip


def versus(a: argparse.Namespace, cells: dict[str, dict[str, Any]]) -> None:
    """fints here minus fints in ``--versus`` (pooled over the cells both have, paired by origin)."""
    other = load_cells(a.versus, ",".join(cells))
    print(f"\npooled paired difference fints − fints of {a.versus} (mean [95% interval]); < 0: this one better")
    print("| h | CRPS | FZ0 95% | FZ0 99% | pinball 95% | pinball 99% |\n|---|---|---|---|---|---|")
    for h in E.parse_horizons(a.horizons):
        vals = []
        for k in ("crps", "fz0_95", "fz0_99", "pinball95", "pinball99"):
            diffs = []
            for c in other:
                d = np.array(cells[c][f"h{h}"]["per_origin"]["ganapps"][k], dtype=float)
                d = d - np.array(other[c][f"h{h}"]["per_origin"]["ganapps"][k], dtype=float)
                diffs.append(d[np.isfinite(d)])
            vals.append(E.block_bootstrap(diffs, seed=a.seed))
        print(f"| {h} | " + " | ".join(f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for m, lo, hi in vals) + " |")


def summary(a: argparse.Namespace) -> None:
    cells = load_cells(a.dir, a.cells)
    horizons = E.parse_horizons(a.horizons)
    print(
        "| cell | h | origins | hit 95% (Kupiec p) fints / garch_t / fhs | hit 99% (Kupiec p) fints / garch_t / fhs |"
    )
    print("|---|---|---|---|---|")
    for c, res in cells.items():
        for h in horizons:
            s = res[f"h{h}"]["summary"]
            row = [
                f"{s[m][f'hit_rate{t}']:.1%} ({s[m][f'kupiec_p{t}']:.2f})"
                for t in ("95", "99")
                for m in ("ganapps", "garch_t", "fhs")
            ]
            print(f"| {c} | {h} | {s['ganapps']['origins']} | {' / '.join(row[:3])} | {' / '.join(row[3:])} |")
    print("\npooled paired difference fints − baseline (mean [95% block-bootstrap interval]); < 0: fints better")
    print("| h | baseline | CRPS | FZ0 95% | FZ0 99% | pinball 95% | pinball 99% |")
    print("|---|---|---|---|---|---|---|")
    for h in horizons:
        for base in ("garch_t", "fhs"):
            vals = [
                pooled(list(cells.values()), h, base, k, a.seed)
                for k in ("crps", "fz0_95", "fz0_99", "pinball95", "pinball99")
            ]
            print(f"| {h} | {base} | " + " | ".join(f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for m, lo, hi in vals) + " |")
    print("\npooled mean CRPS fints / garch_t / fhs (fints relative to garch_t)")
    for h in horizons:
        means = {
            m: np.mean([x for r in cells.values() for x in r[f"h{h}"]["per_origin"][m]["crps"]])
            for m in ("ganapps", "garch_t", "fhs")
        }
        rel = means["ganapps"] / means["garch_t"] - 1
        print(f"h{h}: " + " / ".join(f"{v:.5f}" for v in means.values()) + f" ({rel:+.1%})")
    print(
        "\nwidth: median over origins of fints' 95% VaR over garch_t's (>1: fints wider), and how the two move together"
    )
    for c, res in cells.items():
        ratios = []
        for h in horizons:
            po = res[f"h{h}"]["per_origin"]
            v, g = np.abs(po["ganapps"]["var95"]), np.abs(po["garch_t"]["var95"])
            corr = np.corrcoef(np.log(v), np.log(g))[0, 1]
            ratios.append(f"h{h} {np.median(v / g):.2f} (corr of log VaR {corr:.2f})")
        print(f"{c}: " + ", ".join(ratios))
    print("\nspread: RMS over origins of realised / (|VaR95| / 1.645), fints / garch_t (1: right; > 1 too narrow)")
    for c, res in cells.items():
        parts = []
        for h in horizons:
            po = res[f"h{h}"]["per_origin"]
            z = [np.array(po[m]["realised"]) / (np.abs(po[m]["var95"]) / 1.645) for m in ("ganapps", "garch_t")]
            parts.append(f"h{h} " + " / ".join(f"{np.sqrt(np.mean(x**2)):.2f}" for x in z))
        print(f"{c}: " + ", ".join(parts))
    print("\nper-cell means: CRPS and FZ0 99% (fints / garch_t / fhs)")
    for c, res in cells.items():
        parts = []
        for h in horizons:
            s = res[f"h{h}"]["summary"]
            crps = " / ".join(f"{s[m]['crps']:.4f}" for m in ("ganapps", "garch_t", "fhs"))
            fz = " / ".join(f"{s[m]['fz0_99']:.3f}" for m in ("ganapps", "garch_t", "fhs"))
            parts.append(f"h{h}: {crps} | {fz}")
        print(f"{c} ({res['test_days']} test days, train {res.get('train_days')}): " + "; ".join(parts))
    rejected = sum(
        res[f"h{h}"]["summary"]["ganapps"][f"kupiec_p{t}"] < 0.05 for res in cells.values() for h in horizons
        for t in ("95", "99")
    )  # fmt: skip
    print(f"\nfints Kupiec rejections at 5%: {rejected} of {2 * len(horizons) * len(cells)}")
    if a.versus:
        versus(a, cells)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", default=",".join(CELLS))
    p.add_argument("--rows", type=int, default=1500, help="keep the last N days of each series")
    p.add_argument("--horizons", default="1,10,20")
    p.add_argument("--origins", type=int, default=150, help="at most N origins per horizon")
    p.add_argument("--n", type=int, default=500, help="scenarios per origin and model")
    p.add_argument("--refit", type=int, default=10, help="refit GARCH every N origins")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=420.0, help="seconds after which no new phase starts")
    p.add_argument("--split", choices=("test", "validation"), default="test")
    p.add_argument("--vol-scaling", choices=("none", "ewma"), default="none", help="fints' --vol-scaling")
    p.add_argument("--dir", default="", help="per-cell JSON results (default: by split and scaling)")
    p.add_argument("--work", default="", help="price files and trained runs (not kept; default: by split and scaling)")
    p.add_argument("--versus", default="", help="--summary: also fints here minus fints of this result directory")
    p.add_argument("--epochs", type=int, default=0, help="override the app's epochs (smoke tests only)")
    p.add_argument("--summary", action="store_true")
    args = p.parse_args()
    tag = "" if (args.split, args.vol_scaling) == ("test", "none") else f"_{args.split}_{args.vol_scaling}"
    args.dir = args.dir or str(HERE / f"fints_backtest{tag}")
    args.work = args.work or f"/tmp/fints_backtest{tag}"
    summary(args) if args.summary else work(args)
