"""Issue 20: ``dcgan --unroll K`` on the shipped digits, with and without unrolling.

A short run of the ``dcgan`` app through the Python API (``ganapps.core.run``) on ``mnist-sample``
(5,000 digits, 4,000 for training), half-width networks (``--ngf 32 --ndf 32``, as the cgan demo),
the app's defaults otherwise (batch 32, Adam 2e-4, β1 = 0.5). Reported: what the app's judge reads
in 1,000 generated digits — class coverage (classes making up ≥ 2 % of them), class entropy (1 =
all ten equally often), the Fréchet distance in its feature space and the diversity ratio — and
the milliseconds per adversarial iteration from the step log. One JSON cell per (K, seed),
skipped when already there:

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/unrolled_digits.py \
        --unroll 0,5 --seeds 0 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from ganapps.core import run

KEYS = ("class_coverage", "class_entropy", "frechet_distance", "frechet_distance_real_vs_real", "diversity_ratio")


def cell(k: int, seed: int, epochs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = run(
            "dcgan",
            "mnist-sample",
            train={"epochs": epochs, "unroll": k, "seed": seed, "device": "cpu"},
            options={"ngf": 32, "ndf": 32, "classifier_epochs": 2},
            samples=1000,
            out=Path(tmp) / "run",
            progress=False,
        )
    adv = [r for r in out.train.history if r["phase"] == "adversarial"]
    ms = 1000 * (adv[-1]["time"] - adv[0]["time"]) / (len(adv) - 1)
    return {
        "unroll": k,
        "seed": seed,
        "epochs": epochs,
        "adversarial_steps": len(adv),
        "ms_per_step": round(ms, 2),
        **{key: round(float(out.metrics["metrics"][key]), 4) for key in KEYS},
        "diagnostics": [d["message"] for d in out.metrics["diagnostics"]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--unroll", default="0,5")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    ap.add_argument("--budget", type=float, default=300.0, help="stop starting cells after this many seconds")
    args = ap.parse_args()
    torch.set_num_threads(2)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    start = time.perf_counter()
    for seed in map(int, args.seeds.split(",")):
        for k in map(int, args.unroll.split(",")):
            key = f"unroll{k}/seed{seed}/epochs{args.epochs}"
            if key in results:
                continue
            if time.perf_counter() - start > args.budget:
                print("budget spent; run again to continue")
                return
            results[key] = cell(k, seed, args.epochs)
            print(key, results[key], flush=True)
            out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
