"""The canary audit of docs/privacy.md, on more table seeds than the test: right guesses of 40 and the
empirical ε lower bound for medgan without DP, with DP-SGD at ε = 1 and 3 (δ = 1e-5), and with DP-SGD's
noise switched off (clipping only).

    OMP_NUM_THREADS=2 .venv/bin/python bench/privacy_audit.py [SEEDS...]   # default: 0 1
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_privacy_audit as T  # noqa: E402

import ganapps.core.privacy as P  # noqa: E402


def right(scores: np.ndarray, inside: np.ndarray) -> int:
    order = np.argsort(-scores, kind="stable")
    return int(inside[order[: T.GUESSES]].sum() + (~inside[order[-T.GUESSES :]]).sum())


def main(seeds: list[int]) -> None:
    for seed in seeds:
        frame, inside = T.canary_table(seed)
        tmp = Path(tempfile.mkdtemp())
        runs = {"no DP": {}, "DP eps=1": {"dp_epsilon": 1.0}, "DP eps=3": {"dp_epsilon": 3.0}}
        for label, kw in runs.items():
            v = right(T.attack_scores(tmp, frame, **({"dp_delta": T.DELTA, **kw} if kw else {})), inside)
            print(f"seed {seed} {label:9s}: {v}/40 right, eps_lb = {P.audit_epsilon(T.CANARIES, 40, v, T.DELTA):.2f}")
        real = P.noise_for
        P.noise_for = lambda *a: 0.0
        try:
            v = right(T.attack_scores(tmp, frame, dp_epsilon=1.0, dp_delta=T.DELTA), inside)
        finally:
            P.noise_for = real
        print(f"seed {seed} no noise : {v}/40 right, eps_lb = {P.audit_epsilon(T.CANARIES, 40, v, T.DELTA):.2f}")


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [0, 1])
