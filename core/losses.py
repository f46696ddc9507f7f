"""Adversarial losses. Each takes discriminator outputs (logits or critic scores) and returns a scalar.

``d_*`` functions are minimised by the discriminator, ``g_*`` by the generator. ``LOSSES`` maps a
name to the pair so apps can offer ``--loss``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def d_bce(real: Tensor, fake: Tensor, smoothing: float = 0.0) -> Tensor:
    """Standard GAN discriminator loss on logits; ``smoothing`` is one-sided label smoothing."""
    real_target = torch.full_like(real, 1.0 - smoothing)
    return F.binary_cross_entropy_with_logits(real, real_target) + F.binary_cross_entropy_with_logits(
        fake, torch.zeros_like(fake)
    )


def g_nonsaturating(fake: Tensor) -> Tensor:
    """Non-saturating generator loss: −log D(G(z)) = softplus(−logit)."""
    return F.softplus(-fake).mean()


def g_minimax(fake: Tensor) -> Tensor:
    """The original (saturating) minimax generator loss log(1 − D(G(z))) = −softplus(logit)."""
    return -F.softplus(fake).mean()


def d_lsgan(real: Tensor, fake: Tensor) -> Tensor:
    """Least-squares GAN discriminator loss: ½E[(D(x) − 1)²] + ½E[D(G(z))²]."""
    return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()


def g_lsgan(fake: Tensor) -> Tensor:
    """Least-squares GAN generator loss: ½E[(D(G(z)) − 1)²]."""
    return 0.5 * ((fake - 1.0) ** 2).mean()


def d_wgan(real: Tensor, fake: Tensor) -> Tensor:
    """Wasserstein critic loss: E[D(G(z))] − E[D(x)] (add a gradient penalty or clipping)."""
    return fake.mean() - real.mean()


def g_wgan(fake: Tensor) -> Tensor:
    """Wasserstein generator loss: −E[D(G(z))]."""
    return -fake.mean()


def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """Hinge discriminator loss: E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def g_hinge(fake: Tensor) -> Tensor:
    """Hinge generator loss: −E[D(G(z))]."""
    return -fake.mean()


LossPair = tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]

#: name → (discriminator loss, generator loss). ``wgan-gp`` also needs :func:`gradient_penalty`.
LOSSES: dict[str, LossPair] = {
    "bce": (d_bce, g_nonsaturating),
    "minimax": (d_bce, g_minimax),
    "lsgan": (d_lsgan, g_lsgan),
    "wgan": (d_wgan, g_wgan),
    "wgan-gp": (d_wgan, g_wgan),
    "hinge": (d_hinge, g_hinge),
}
