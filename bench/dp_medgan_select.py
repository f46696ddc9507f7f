"""Issue 18: medGAN's schedule under ``--dp-epsilon``, chosen on validation patients only.

The generated comorbidity matrix of bench/medgan_vs_sdv.py (4,000 training patients after its
20% hold-out, which this script never reads) is split again by patient: 80% fit, 20% validation.
Each candidate trains on the fit patients at ε = 3 (δ = 1/(10·n)) and is judged against the
validation patients: dimension-wise probability r and co-occurrence r (the medGAN paper's
measures). One JSON per (candidate, seed) under ``--out``, skipped when present.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/dp_medgan_select.py --budget 300
    .venv/bin/python bench/dp_medgan_select.py --report
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
OUT = REPO / "bench" / "dp_medgan_select"
EPSILON = 3.0

#: name → (app options, private steps, batch size); "steps" are discriminator updates on real rows
CANDIDATES: dict[str, tuple[dict[str, Any], int, int]] = {
    "no-release_b1000_s40": ({"mean_match": 0.0}, 40, 1000),
    "no-release_b1000_s120": ({"mean_match": 0.0}, 120, 1000),
    # first round: the release at K = 32 (the option's default then; cells record "options": {})
    "release-no-warmup_b1000_s40": ({"dp_warmup_steps": 0, "dp_max_codes": 32}, 40, 1000),
    "release_b1000_s40": ({"dp_max_codes": 32}, 40, 1000),
    "release_b1000_s120": ({"dp_max_codes": 32}, 120, 1000),
    "release_b250_s160": ({"dp_max_codes": 32}, 160, 250),
    # second round (prevalence RMSE recorded): the clipping bound K of the release
    "release_b250_s160_k32": ({"dp_max_codes": 32}, 160, 250),
    "release_b250_s160_k64": ({"dp_max_codes": 64}, 160, 250),
    # third round (stop 31; k64 the default): the discriminator's optimizer. Tabular's critic lost its
    # joint structure to Adam under DP-SGD (bench/RESULTS.md, stop 30); medGAN's is Adam too. These ran
    # at commit eb4ccde, which had medgan's --dp-optimizer; level with Adam, the option went again at stop 31
    **{
        f"release_b250_s160_k64_sgd{lr:g}": ({"dp_max_codes": 64, "dp_optimizer": "sgd"}, 160, 250)
        for lr in (0.1, 0.3, 1.0)
    },
}
#: train settings beyond the schedule, per candidate (the SGD candidates' learning rate)
EXTRA: dict[str, dict[str, Any]] = {
    f"release_b250_s160_k64_sgd{lr:g}": {"lr": {"discriminator": lr}} for lr in (0.1, 0.3, 1.0)
}


def split() -> tuple[Any, Any]:
    """(fit, validation) frames: the training patients of medgan_vs_sdv's comorbid split, split 80/20."""
    import medgan_vs_sdv as M

    train, _, _ = M.load("comorbid")
    order = np.random.default_rng(1).permutation(len(train))
    cut = int(0.8 * len(train))
    return train.iloc[order[:cut]].reset_index(drop=True), train.iloc[order[cut:]].reset_index(drop=True)


def cell(name: str, seed: int) -> dict[str, Any]:
    import medgan_vs_sdv as M

    from ganapps.plugins.medgan import metrics as MM

    options, steps, batch = CANDIDATES[name]
    fit, val = split()
    epochs = math.ceil(steps / (len(fit) // batch))
    settings = {"dp_epsilon": EPSILON, "dp_delta": 1.0 / (10 * len(fit)), "epochs": epochs, "batch_size": batch}
    settings.update(EXTRA.get(name, {}))
    x, seconds, info = M.run_medgan(fit, len(fit), seed, settings, options)
    v, s = val.to_numpy().astype(np.float64), (x > 0).astype(np.float64)
    return {
        "candidate": name,
        "seed": seed,
        "options": options,
        "batch_size": batch,
        "epochs": epochs,
        "dim_prob_r_val": round(MM.dimension_wise_probability(v, s)["pearson_r"], 4),
        "dim_prob_rmse_val": round(MM.dimension_wise_probability(v, s)["rmse"], 5),
        "cooccurrence_r_val": round(MM.cooccurrence(v, s), 4),
        "codes_per_patient": round(float(s.sum(1).mean()), 2),
        "codes_per_patient_val": round(float(v.sum(1).mean()), 2),
        "seconds": round(seconds, 1),
        "privacy": info["privacy"],
        "steps": info["steps"],
    }


def report(out: Path) -> None:
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    head = "| candidate | seeds | dim_prob_r | prevalence RMSE | co-occurrence r | codes/patient (real) | seconds |"
    print(head + "\n" + "|---" * 7 + "|")
    keys = ("dim_prob_r_val", "dim_prob_rmse_val", "cooccurrence_r_val", "codes_per_patient", "seconds")
    for name in CANDIDATES:
        got = [r for r in rows if r["candidate"] == name]
        if not got:
            continue
        mean = {k: np.mean([r[k] for r in got]) if all(k in r for r in got) else float("nan") for k in keys}
        print(
            f"| {name} | {len(got)} | {mean['dim_prob_r_val']:.3f} | {mean['dim_prob_rmse_val']:.4f} | "
            f"{mean['cooccurrence_r_val']:.3f} | {mean['codes_per_patient']:.1f} ({got[0]['codes_per_patient_val']:.1f}) "
            f"| {mean['seconds']:.0f} |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidates", default=",".join(CANDIDATES))
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--budget", type=float, default=300.0, help="stop starting cells after this many seconds")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--report", action="store_true")
    args = p.parse_args()
    out = Path(args.out)
    if args.report:
        return report(out)
    import torch

    torch.set_num_threads(2)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    for seed in range(args.seeds):
        for name in args.candidates.split(","):
            path = out / f"{name}__s{seed}.json"
            if path.exists():
                continue
            if time.perf_counter() - began > args.budget:
                return
            record = cell(name, seed)
            path.write_text(json.dumps(record, indent=1) + "\n")
            print(path.name, record["dim_prob_r_val"], record["cooccurrence_r_val"], record["seconds"], flush=True)


if __name__ == "__main__":
    main()
