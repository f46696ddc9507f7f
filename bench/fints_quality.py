"""Scenario quality of the fints app against GBM Monte Carlo and a block bootstrap, in one run.

On GOOG (TimeGAN's "stocks", one asset) and GAFA (AAPL, AMZN, FB, GOOG jointly, long form), it
trains fints on the first 80% of the returns, generates scenarios from the last training day over
the held-out 20%, and reports for ganapps and both baselines: out-of-sample stylized-fact errors,
VaR/ES 95/99% against the realised period, the TSTR predictive score, and in-sample TimeGAN
discriminative score (post-hoc GRU, |acc − 0.5|) with the nearest-neighbour copy check.

    flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/fints_quality.py [--shared ../shared/data] \
        [--epochs 30] [--out bench/fints_quality.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ganapps.core import run
from ganapps.plugins.fints.metrics import FACTS

DATASETS = {
    "GOOG": ("finance/goog_daily_timegan.csv", {}),
    "GAFA": ("finance/gafa_stock_daily.csv", {"price_col": "Adj_Close"}),
}
ROWS = [
    *FACTS,
    "vol_error",
    "var95_error",
    "es95_error",
    "var99_error",
    "es99_error",
    "exceed95",
    "exceed99",
    "predictive_mae_return",
    "predictive_mae_abs_return",
    "discriminative_score",
    "nn_ratio",
    "copy_share",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenarios", type=int, default=200)
    ap.add_argument("--disc-steps", type=int, default=2000)
    ap.add_argument("--disc-repeats", type=int, default=3)
    ap.add_argument("--arch", default="tcn")
    ap.add_argument("--ema", type=float, default=0.99, help="Generator EMA decay (the app's default).")
    ap.add_argument("--moment-weight", type=float, default=1.0, help="Moment-matching weight (the app's default).")
    ap.add_argument("--datasets", default="GOOG,GAFA", help="Comma-separated subset of GOOG,GAFA.")
    ap.add_argument("--out", default=str(Path(__file__).with_name("fints_quality.json")))
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (rel, options) in DATASETS.items():
            if name not in args.datasets.split(","):
                continue
            t0 = time.time()
            res = run(
                "fints",
                str(Path(args.shared) / rel),
                train={"epochs": args.epochs, "seed": args.seed, "device": "cpu", "ema": args.ema},
                options={
                    **options,
                    "arch": args.arch,
                    "moment_weight": args.moment_weight,
                    "disc_steps": args.disc_steps,
                    "disc_repeats": args.disc_repeats,
                },
                samples=args.scenarios,
                out=Path(tmp) / name,
                progress=False,
            )
            m = res.metrics["metrics"]
            results[name] = {
                "tickers": res.app.schema["tickers"],
                "train_days": res.run_dir.read_info()["rows"]["train"],
                "holdout_days": res.app.schema["eval_steps"],
                "train_seconds": round(res.train.seconds, 1),
                "total_seconds": round(time.time() - t0, 1),
                "metrics": m,
            }
            print(f"{name}: {results[name]['total_seconds']} s", flush=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "results": results}, indent=2) + "\n")
    for name, r in results.items():
        m = r["metrics"]
        print(
            f"\n### {name} ({', '.join(r['tickers'])}; {r['train_days']} training days, {r['holdout_days']} held out; "
            f"training {r['train_seconds']} s)\n"
        )
        print("| metric | ganapps | GBM | block bootstrap |\n|---|---|---|---|")
        for row in ROWS:
            if row not in m["ganapps"]:
                continue
            vals = [m[k].get(row) for k in ("ganapps", "gbm", "bootstrap")]
            print(f"| {row} | " + " | ".join(f"{v:.4g}" for v in vals) + " |")
        print(
            f"\nfacts better than GBM: {m['facts_better_than_gbm']} of {m['facts_compared']}; "
            f"realised-train predictive MAE (TRTR): {m['real_train']['predictive_mae_return']:.4g} / "
            f"{m['real_train']['predictive_mae_abs_return']:.4g}; regime vol (low/mid/high): "
            + " / ".join(f"{v:.4g}" for v in m["regime_vol"].values())
        )


if __name__ == "__main__":
    main()
