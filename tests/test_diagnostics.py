"""Diagnostics fire on the failure modes they name, and stay quiet on healthy runs."""

from __future__ import annotations

import numpy as np
import torch

from ganapps.core.diagnostics import check_diversity, check_oscillation, check_overpowering, check_training


def history(d: np.ndarray, g: np.ndarray, gn: np.ndarray) -> list[dict]:
    return [
        {"step": i + 1, "discriminator/loss": float(a), "generator/loss": float(b), "grad_norm/generator": float(c)}
        for i, (a, b, c) in enumerate(zip(d, g, gn, strict=True))
    ]


ROLES = {"discriminator": "discriminator", "generator": "generator"}
rng = np.random.default_rng(0)
N = 400


def test_healthy_run_has_no_warnings() -> None:
    d = 1.3 + 0.05 * rng.normal(size=N)
    g = 0.8 + 0.05 * rng.normal(size=N)
    gn = 1.0 + 0.1 * rng.normal(size=N)
    assert check_training(history(d, g, gn), ROLES) == []


def test_discriminator_collapse_to_zero_loss() -> None:
    d = np.r_[np.full(N // 2, 1.3), np.full(N // 2, 0.001)]
    found = check_training(history(d, np.full(N, 5.0), np.ones(N)), ROLES)
    assert [x.code for x in found] == ["d_overpowering"]
    assert "TTUR" in found[0].remedy


def test_vanishing_generator_gradient() -> None:
    gn = np.r_[np.full(N // 2, 2.0), np.full(N // 2, 1e-4)]
    diag = check_overpowering(np.full(N, -0.5), gn)  # WGAN-style losses may be negative: grads decide
    assert diag is not None and "vanished" in diag.message


def test_oscillation() -> None:
    t = np.arange(N)
    g = 2.0 + 1.0 * np.sin(2 * np.pi * t / 40) + 0.1 * rng.normal(size=N)
    assert check_oscillation(g) is not None
    noisy_flat = 2.0 + 0.3 * rng.normal(size=N)
    assert check_oscillation(noisy_flat) is None
    converging = 3.0 * np.exp(-t / 50) + 0.05 * rng.normal(size=N)
    assert check_oscillation(converging) is None


def test_mode_collapse_by_diversity() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.randn(300, 8, generator=g)
    assert check_diversity(real, torch.randn(300, 8, generator=g)) is None
    collapsed = torch.randn(1, 8, generator=g) + 0.01 * torch.randn(300, 8, generator=g)
    found = check_diversity(real, collapsed)
    assert found is not None and found.code == "mode_collapse" and "PacGAN" in found.remedy
