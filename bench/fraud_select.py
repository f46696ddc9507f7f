"""How the fraud app's whitening ridge and latent weight were chosen: validation rows only (~3 min).

For each seed, the app is trained (``ganapps.core.run``, app defaults, the split of
``bench/fraud_quality.py``) once per ridge (``ganapps.plugins.fraud.data.RIDGE``, added to the
standardised covariance before whitening). The score rec + w·lat is then recomputed from those same
networks for each latent weight w. Each variant is judged on the **validation rows** (the 20% of
the training split that the networks and every fit never saw), against the whitened Mahalanobis
distance on the same rows. Holdout numbers are printed beside them for the record; they are not
used to choose.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/fraud_select.py
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

import ganapps.plugins.fraud.data as fraud_data
from ganapps.core import run
from ganapps.plugins.fraud import metrics as M

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fraud" / "creditcard_ulb_subset.csv"
COLS = ("roc_auc", "pr_auc", "pr_auc@0.5%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--ridges", type=float, nargs="+", default=[1e-4, 1e-6])
    ap.add_argument("--weights", type=float, nargs="+", default=[0.5, 1, 2, 3, 4])
    ap.add_argument("--out", default="/tmp/fraud_select.json")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    df = pl.read_csv(args.data)
    rows: dict[str, list[list[float]]] = {}
    default_ridge = fraud_data.RIDGE
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            train_idx, hold_idx = fraud_data.stratified(df, "Class", 0.2, seed)
            train = df[train_idx.tolist()]
            _, val_idx = fraud_data.stratified(train, "Class", 0.2, seed + 1)
            parts = {"val": train[val_idx.tolist()], "hold": df[hold_idx.tolist()]}
            for ridge in args.ridges:
                fraud_data.RIDGE = ridge
                r = run(
                    "fraud",
                    df,
                    train={"seed": seed, "holdout": 0.2},
                    out=Path(tmp) / f"{seed}-{ridge:g}",
                    progress=False,
                )
                scorer = r.app.scorer()
                for part, frame in parts.items():
                    x = frame.select(r.app.schema["features"]).to_numpy().astype(np.float32)
                    y = frame["Class"].to_numpy()
                    draws = M.low_share_draws(y, seed=seed)
                    rec, lat = scorer.components(x)
                    variants = {"mahalanobis": (scorer.whiten(x).astype(np.float64) ** 2).sum(1)}
                    variants.update({f"rec + {w:g}·lat": rec + w * lat for w in args.weights})
                    for name, s in variants.items():
                        low = np.mean([average_precision_score(y[i], s[i]) for i in draws])
                        key = f"{part} | ridge {ridge:g} | {name}"
                        rows.setdefault(key, []).append([roc_auc_score(y, s), average_precision_score(y, s), low])
            print(f"seed {seed} done", flush=True)
    fraud_data.RIDGE = default_ridge
    print("\n| rows | ridge | score | " + " | ".join(COLS) + " | paired vs Mahalanobis (same ridge) ± s.e. |")
    print("|---" * (len(COLS) + 4) + "|")
    for key, v in rows.items():
        part, ridge, name = key.split(" | ")
        v = np.array(v)
        d = v - np.array(rows[f"{part} | {ridge} | mahalanobis"])
        se = d.std(0, ddof=1) / np.sqrt(len(d))
        paired = ", ".join(f"{a:+.4f} ± {b:.4f}" for a, b in zip(d.mean(0), se, strict=True))
        print(f"| {part} | {ridge} | {name} | " + " | ".join(f"{m:.4f}" for m in v.mean(0)) + f" | {paired} |")
    Path(args.out).write_text(json.dumps({"seeds": args.seeds, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
