"""Issue 18: what the preprocessing share trades — the histograms' σ_pre against DP-SGD's σ at ε = 3.

A 3,000-row table (δ' = 0.9/(10·n)), expected batch 500 (q = 1/6), 80 epochs (480 steps), as in
bench/dp_utility.py's cells; each count's noise std is σ_pre·√H for H histograms.

    .venv/bin/python bench/dp_share_noise.py
"""

from ganapps.core.accounting import composed_noise_for, gaussian_noise_for

EPSILON, N, Q, STEPS = 3.0, 3000, 1 / 6, 480

if __name__ == "__main__":
    delta = 0.9 / (10 * N)
    print("| share | σ_pre (histograms) | σ (DP-SGD) |\n|---|---|---|")
    for share in (0.05, 0.15, 0.3, 0.5, 0.7):
        pre = gaussian_noise_for(EPSILON * share, delta)
        print(f"| {share} | {pre:.2f} | {composed_noise_for(EPSILON, delta, Q, STEPS, pre):.2f} |")
