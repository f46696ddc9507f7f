"""Issue 18: what the preprocessing share trades — the histograms' σ_pre against DP-SGD's σ at ε = 3 —
and (``--epsilons``) DP-SGD's σ at the share of the defaults for the ε of bench/dp_decompose.py's cells.

A 3,000-row table (δ' = 0.9/(10·n)), expected batch 500 (q = 1/6), 80 epochs (480 steps), as in
bench/dp_utility.py's cells; each count's noise std is σ_pre·√H for H histograms. ``--epsilons``: the
2,400 fit rows of bench/dp_decompose.py (q = 500/2,400, 320 steps), share 0.5.

    .venv/bin/python bench/dp_share_noise.py
    .venv/bin/python bench/dp_share_noise.py --epsilons
"""

import sys

from ganapps.core.accounting import composed_noise_for, gaussian_noise_for

EPSILON, N, Q, STEPS = 3.0, 3000, 1 / 6, 480


def shares() -> None:
    delta = 0.9 / (10 * N)
    print("| share | σ_pre (histograms) | σ (DP-SGD) |\n|---|---|---|")
    for share in (0.05, 0.15, 0.3, 0.5, 0.7):
        pre = gaussian_noise_for(EPSILON * share, delta)
        print(f"| {share} | {pre:.2f} | {composed_noise_for(EPSILON, delta, Q, STEPS, pre):.2f} |")


def epsilons(n: int = 2400, batch: int = 500, steps: int = 320, share: float = 0.5) -> None:
    delta = 0.9 / (10 * n)
    print("| ε | σ (DP-SGD) | noise per coordinate σ·C/B (C = 1) |\n|---|---|---|")
    for eps in (1.0, 3.0, 10.0, 1e4, 1e6):
        sigma = composed_noise_for(eps, delta, batch / n, steps, gaussian_noise_for(eps * share, delta))
        print(f"| {eps:g} | {sigma:.3g} | {sigma / batch:.2g} |")


if __name__ == "__main__":
    epsilons() if "--epsilons" in sys.argv else shares()
