"""How much of stylegan's judge-space FD a grey background alone would cost (issue 20; no training of a GAN).

Stop 30's timeline found the default's samples with a grey background (median pixel −0.8, where 81 % of the
real digits' pixels are exactly −1). This reads *real* validation digits with their background lifted —
every pixel v becomes max(v, −1 + δ) ("floor") or v + δ·(1 − v)/2 ("lift": the background moves by δ, the
strokes' +1 stays) — against the unchanged real digits, with the bench's own judge (``stylegan_vs_dcgan``:
same split, same judge, same FD). If a lift of ~0.2 alone costs FD in the hundreds, the background level is
a lever worth a training run; if it costs little, it is not.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/stylegan_background.py --seed 0
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import stylegan_vs_dcgan as B  # noqa: E402

from ganapps.core.plugins import dataset_path  # noqa: E402
from ganapps.datasets.digits import load_digits  # noqa: E402

DELTAS = (0.0, 0.05, 0.1, 0.2, 0.3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _, train_idx, eval_idx = B.splits("val", args.seed, Path(tmp))
    x, y = load_digits(dataset_path("mnist-sample"))
    real_train, real_eval = B.to_32(x[train_idx]), B.to_32(x[eval_idx])
    judge = B.train_judge(real_train, torch.from_numpy(y[train_idx].astype(np.int64)))
    half = len(real_train) // 2  # the "fake" side: real training digits, the floor's comparison
    print(f"val split seed {args.seed}: {len(real_eval)} held digits; fake side = {half} training digits, altered")
    print(f"median pixel of real digits: {real_train.median().item():.3f}")
    for mode in ("floor", "lift"):
        for d in DELTAS:
            v = real_train[:half]
            fake = v.clamp(min=-1 + d) if mode == "floor" else v + d * (1 - v) / 2
            m = B.scores(judge, fake, real_eval, real_train)
            print(
                f"{mode:5s} δ {d:4.2f}: FD {m['frechet_distance']:8.2f}  precision {m['precision']:.3f}  "
                f"recall {m['recall']:.3f}  coverage {m['class_coverage']:.1f}"
            )


if __name__ == "__main__":
    main()
