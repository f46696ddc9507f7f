"""The fraud networks and losses: an adversarial denoising autoencoder of normal transactions.

After Zheng et al. 2018 ("Generative adversarial network based telecom fraud detection at the
receiving bank", Neural Networks 102) and the adversarial autoencoder (Makhzani et al. 2016).
Transactions x ∈ ℝᵈ arrive whitened with the covariance of normal training rows
(``data.fit_whitening``), so every direction of normal variation has unit scale. Three MLPs
(``core.nn.mlp``, LeakyReLU 0.2), code size k (``--latent-dim``), width h (``--hidden``):

- encoder E: d → h → h → k, decoder D: k → h → h → d (a denoising autoencoder);
- latent discriminator C: k → h → h → 1, a logit telling draws of the prior N(0, I) from codes.

The objective, on normal rows only, with σ = ``--noise`` and λ = ``--adv-weight``:

    min_{E,D}  E_{x,ε}[ ‖D(E(x + σε)) − x‖² / d ]  +  λ · E_{x,ε}[ −log s(C(E(x + σε))) ]
    min_C      E_{z~N(0,I)}[ −log s(C(z)) ]  +  E_x[ −log(1 − s(C(E(x)))) ]          (s: the sigmoid)

E learns to fool C (non-saturating loss), which packs normal transactions into a tight,
Gaussian-shaped region of code space, and makes D a generator of normal ones:
x = D(z) + σ_r ⊙ ε, z ~ N(0, I), σ_r the per-dimension residual spread of normal rows.

After training (``calibration.py``; computed in numpy by ``scoring.Scorer``) the fraud score is

    score(x) = ‖D(E(x)) − x‖²  +  w · (E(x) − μ)ᵀ Σ⁻¹ (E(x) − μ),      w = ``--latent-weight``

the reconstruction error (x is off the normal manifold) plus the Mahalanobis distance of its code
to the codes of normal training rows (mean μ, covariance Σ: x lands where normal codes are
sparse). With w = 1 it is twice the negative log of the joint Gaussian density of (x, z), up to a
constant; higher is more suspicious.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganapps.core import losses as L
from ganapps.core.nn import mlp


def networks(features: int, hidden: int, latent_dim: int) -> dict[str, nn.Module]:
    """E, D and C, built in this order (the seed's draws depend on it)."""
    return {
        "encoder": mlp([features, hidden, hidden, latent_dim], activation="leaky_relu"),
        "decoder": mlp([latent_dim, hidden, hidden, features], activation="leaky_relu"),
        "discriminator": mlp([latent_dim, hidden, hidden, 1], activation="leaky_relu"),
    }


def autoencoder_loss(
    encoder: nn.Module, decoder: nn.Module, discriminator: nn.Module, x: Tensor, noise: float, adv_weight: float
) -> dict[str, Tensor]:
    """Denoising reconstruction + fooling the latent discriminator (codes look like N(0, I))."""
    z = encoder(x + noise * torch.randn_like(x))
    reconstruction = ((decoder(z) - x) ** 2).mean()
    adversarial = L.g_nonsaturating(discriminator(z))
    return {
        "loss": reconstruction + adv_weight * adversarial,
        "reconstruction": reconstruction,
        "adversarial": adversarial,
    }


def discriminator_loss(encoder: nn.Module, discriminator: nn.Module, x: Tensor) -> dict[str, Tensor]:
    """Latent discriminator: prior draws are real, codes of transactions are fake."""
    with torch.no_grad():
        z = encoder(x)
    prior = torch.randn_like(z)
    d_prior, d_code = discriminator(prior), discriminator(z)
    return {
        "loss": L.d_bce(d_prior, d_code),
        "d_prior": torch.sigmoid(d_prior).mean(),
        "d_code": torch.sigmoid(d_code).mean(),
    }


def sample_normal(decoder: nn.Module, residual_std: Tensor, n: int, latent_dim: int, device: torch.device) -> Tensor:
    """``n`` synthetic normal transactions in the whitened space: D(z) + σ_r ⊙ ε, z ~ N(0, I)."""
    with torch.no_grad():
        z = torch.randn(n, latent_dim, device=device)
        return decoder(z) + residual_std * torch.randn(n, len(residual_std), device=device)
