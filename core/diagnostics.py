"""Training diagnostics for the classic GAN failure modes, each with its standard remedy.

- discriminator overpowering: D loss collapses towards 0 or the generator's gradient vanishes;
- non-convergence: the generator loss keeps oscillating in slow, large swings;
- mode collapse: generated samples are far less diverse than real ones.

The checks are heuristics on the step log and on generated samples; their thresholds are
documented in ``docs/engine.md`` and exercised by ``tests/test_diagnostics.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ganapps.core.app import Diagnostic

REMEDIES = {
    "d_overpowering": (
        "lower the discriminator's learning rate or raise the generator's (TTUR: --lr discriminator=1e-4 "
        "--lr generator=4e-4), add label smoothing or instance noise, spectral norm or a gradient penalty"
    ),
    "oscillation": (
        "lower both learning rates, keep Adam beta1 at 0.5 or below, add a gradient penalty (WGAN-GP or R1) "
        "and a generator EMA (--ema 0.999)"
    ),
    "mode_collapse": (
        "use minibatch discrimination / PacGAN packing or a Wasserstein loss with gradient penalty, "
        "lower the learning rates, or train the discriminator more (--n-critic 5)"
    ),
}


def _series(history: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    return np.asarray([r[key] for r in history if key in r and r[key] is not None], dtype=float)


def check_overpowering(d_loss: np.ndarray, g_grad: np.ndarray, name: str = "discriminator") -> Diagnostic | None:
    """D loss at ~0 (for non-negative losses) or a generator gradient that vanished."""
    reasons = []
    if len(d_loss) >= 20:
        w = max(5, len(d_loss) // 5)
        early, late = np.median(d_loss[:w]), np.median(d_loss[-w:])
        if d_loss.min() >= 0 and (late < 0.02 or late < 0.05 * early):
            reasons.append(f"{name} loss fell from {early:.3g} to {late:.3g}")
    if len(g_grad) >= 20:
        w = max(5, len(g_grad) // 5)
        early, late = np.median(g_grad[:w]), np.median(g_grad[-w:])
        if early > 0 and late < 0.02 * early:
            reasons.append(f"generator gradient norm vanished ({early:.3g} → {late:.3g})")
    if not reasons:
        return None
    return Diagnostic(
        "d_overpowering",
        "Discriminator overpowering the generator: " + "; ".join(reasons) + ".",
        REMEDIES["d_overpowering"],
    )


def check_oscillation(g_loss: np.ndarray, name: str = "generator") -> Diagnostic | None:
    """Slow, large, repeated swings of the (smoothed) loss over the second half of training."""
    half = g_loss[len(g_loss) // 2 :]
    if len(half) < 60:
        return None
    w = max(5, len(half) // 25)
    smooth = np.convolve(half, np.ones(w) / w, mode="valid")
    resid = half[w - 1 :] - smooth
    noise = float(np.std(resid)) + 1e-12
    centred = smooth - smooth.mean()
    signs = np.sign(centred[np.abs(centred) > 0.25 * np.std(centred)])
    crossings = int(np.sum(signs[1:] != signs[:-1]))
    amplitude = float(np.percentile(smooth, 95) - np.percentile(smooth, 5))
    if crossings >= 6 and amplitude > 3 * noise and amplitude > 0.1 * abs(float(smooth.mean())) + 1e-3:
        return Diagnostic(
            "oscillation",
            f"Non-convergence: the {name} loss oscillates (peak-to-peak {amplitude:.3g}, "
            f"{crossings // 2} swings in the second half of training) instead of settling.",
            REMEDIES["oscillation"],
        )
    return None


def check_training(history: Sequence[dict[str, Any]], roles: dict[str, str]) -> list[Diagnostic]:
    """Run the loss-based checks; ``roles`` maps step names to discriminator/generator."""
    out: list[Diagnostic] = []
    d_steps = [s for s, r in roles.items() if r == "discriminator"]
    g_steps = [s for s, r in roles.items() if r == "generator"]
    for d, g in zip(d_steps, g_steps, strict=False):
        diag = check_overpowering(_series(history, f"{d}/loss"), _series(history, f"grad_norm/{g}"), d)
        if diag:
            out.append(diag)
    for g in g_steps:
        diag = check_oscillation(_series(history, f"{g}/loss"), g)
        if diag:
            out.append(diag)
    return out


def mean_pairwise_distance(x: torch.Tensor, max_n: int = 512, seed: int = 0) -> float:
    """Mean Euclidean distance between distinct rows of ``x`` (a random subset of ``max_n``)."""
    x = x.reshape(x.shape[0], -1).float()
    if x.shape[0] > max_n:
        g = torch.Generator().manual_seed(seed)
        x = x[torch.randperm(x.shape[0], generator=g)[:max_n]]
    n = x.shape[0]
    if n < 2:
        return 0.0
    d = torch.cdist(x, x)
    return float(d.sum() / (n * (n - 1)))


def check_diversity(real: torch.Tensor, fake: torch.Tensor, threshold: float = 0.3) -> Diagnostic | None:
    """Mode collapse when synthetic samples are much closer to each other than real ones are."""
    if real.shape[0] < 2 or fake.shape[0] < 2:
        return None
    r = mean_pairwise_distance(real.cpu())
    f = mean_pairwise_distance(fake.cpu())
    if r <= 0:
        return None
    ratio = f / r
    if ratio < threshold:
        return Diagnostic(
            "mode_collapse",
            f"Mode collapse: synthetic samples are {ratio:.2f}× as diverse as real ones "
            f"(mean pairwise distance {f:.3g} vs {r:.3g}).",
            REMEDIES["mode_collapse"],
        )
    return None


def diversity_ratio(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Mean pairwise distance of synthetic samples relative to real ones (1 = as diverse)."""
    r = mean_pairwise_distance(real.cpu())
    return mean_pairwise_distance(fake.cpu()) / r if r > 0 else float("nan")
