"""Fraud detection quality: the fraud app against classical detectors on the same split.

For each seed, ``ganapps run fraud`` (Python API) on the ULB credit-card subset with a
stratified 20% holdout; the run itself fits IsolationForest, Mahalanobis, kNN-5 and LOF on the
same normal training rows and a supervised logistic regression, and scores everything on the
same holdout, at its fraud share (~11%) and at 0.5% (frauds subsampled, 20 draws).
Prints mean ± std over seeds and writes the numbers as JSON.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/fraud_quality.py
    ... bench/fraud_quality.py --augment   # + the supervised head with / without GAN-made frauds
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from ganapps.core import run

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fraud" / "creditcard_ulb_subset.csv"
KEYS = ("roc_auc", "pr_auc", "recall_at_1pct_fpr")
#: at each detector's own threshold, calibrated on the validation rows (--target-fpr 0.01)
AT_THRESHOLD = ("precision_at_threshold", "recall_at_threshold", "fpr_at_threshold")


def rows_of(m: dict) -> dict[str, dict[str, float]]:
    """{detector: {metric: value}} for both fraud shares from one run's metrics."""

    def row(d: dict) -> dict[str, float]:
        at = {k: d[k] for k in AT_THRESHOLD if k in d}  # not for the supervised reference
        return {**{k: d[k] for k in KEYS}, **{f"{k}@0.5%": d["at_0_5pct_share"][k] for k in KEYS}, **at}

    out = {"fraud (ours)": row(m)}
    for name, b in m["baselines"].items():
        out[name] = row(b)
    if "augmented_head" in m:  # --augment: the supervised head without / with GAN-made frauds
        for part in ("without_synthetic", "with_synthetic"):
            b = m["augmented_head"][part]
            name = f"supervised_head_{part}"
            out[name] = row(b)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=None, help="default: the app's")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", help="fraud app option")
    ap.add_argument(
        "--augment", action="store_true", help="also train the GAN-augmented supervised head (fraud --augment)"
    )
    args = ap.parse_args()
    options = {k.replace("-", "_"): json.loads(v) for k, _, v in (o.partition("=") for o in args.option)}
    if args.augment:
        options["augment"] = True
    per_seed, extra = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            train = {"seed": seed, "holdout": 0.2}
            if args.epochs:
                train["epochs"] = args.epochs
            start = time.perf_counter()
            r = run("fraud", args.data, options=options, train=train, out=Path(tmp) / f"seed{seed}", progress=False)
            m = r.metrics["metrics"]
            per_seed.append(rows_of(m))
            extra.append(
                {
                    "seed": seed,
                    "seconds": round(time.perf_counter() - start, 1),
                    "train_seconds": r.metrics["training"]["seconds"],
                    "threshold": m["threshold"],
                    "precision_at_threshold": m["precision_at_threshold"],
                    "recall_at_threshold": m["recall_at_threshold"],
                    "fpr_at_threshold": m["fpr_at_threshold"],
                    "confusion": m["confusion"],
                    "calibration": r.app.schema["calibration"],
                    "holdout_rows": m["holdout_rows"],
                    "holdout_frauds": m["holdout_frauds"],
                    "synthetic_flag_rate": m.get("synthetic_flag_rate"),
                    "augment": {k: v for k, v in m.get("augmented_head", {}).items() if not isinstance(v, dict)},
                }
            )
            print(f"seed {seed}: {extra[-1]['seconds']} s, " + json.dumps(per_seed[-1]["fraud (ours)"]))
    names = list(per_seed[0])
    cols = [*KEYS, *(f"{k}@0.5%" for k in KEYS), *AT_THRESHOLD]
    summary = {
        n: {c: [float(np.mean(v)), float(np.std(v))] for c in cols if (v := [s[n][c] for s in per_seed if c in s[n]])}
        for n in names
    }
    print("\n| detector | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for n in names:
        cells = (f"{summary[n][c][0]:.4f} ± {summary[n][c][1]:.4f}" if c in summary[n] else "–" for c in cols)
        print(f"| {n} | " + " | ".join(cells) + " |")
    unsup = [n for n in names if n != "fraud (ours)" and "supervised" not in n]
    for c in ("roc_auc", "pr_auc", "roc_auc@0.5%", "pr_auc@0.5%"):
        best = max(unsup, key=lambda n: summary[n][c][0])
        d = summary["fraud (ours)"][c][0] - summary[best][c][0]
        # the seeds change the split, which moves every detector: the paired per-seed difference is what counts
        paired = np.array([s["fraud (ours)"][c] - s[best][c] for s in per_seed])
        se = paired.std(ddof=1) / np.sqrt(len(paired)) if len(paired) > 1 else float("nan")
        print(
            f"{c}: ours {summary['fraud (ours)'][c][0]:.4f} vs best classical {best} {summary[best][c][0]:.4f} "
            f"({d:+.4f}; paired per seed {paired.mean():+.4f} ± {se:.4f} s.e., ours ahead in {int((paired > 0).sum())} "
            f"of {len(paired)} seeds)"
        )
    result = {"seeds": args.seeds, "options": options, "summary": summary, "per_seed": per_seed, "runs": extra}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
