"""CTGAN's networks (Xu et al., NeurIPS 2019): a residual generator and a PacGAN critic.

Generator: each residual block is ``Linear → BatchNorm → ReLU`` whose output is *concatenated*
to its input (so the last layer sees every earlier representation), then one Linear to the
encoded row width. The span activations (tanh / softmax / sigmoid per column span) are applied
by the app, not here, because the conditional loss needs the raw logits.

Critic: ``pac`` rows are judged together (PacGAN, Lin et al. 2018) so that a generator that
repeats itself is easy to spot; LeakyReLU(0.2) and dropout 0.5 as in CTGAN (``core.nn.Dropout``,
the same distribution drawn faster on CPU).

The objectives (:func:`critic_objective`, :func:`generator_objective`), each row ⊕ its
conditional vector c, judged in packs:

    L_D = E[D(G(z, c) ⊕ c)] − E[D(x ⊕ c)] + λ · E[(‖∇ D(x̂ ⊕ c)‖ − 1)²],  x̂ = αx + (1 − α)G(z, c)
    L_G = −E[D(G(z, c) ⊕ c)] + CE(G(z, c)'s conditioned span, c) [+ w · downstream loss]

(WGAN-GP, Gulrajani et al. 2017; CTGAN's conditional cross-entropy; ``--loss hinge`` or ``bce``
swaps the adversarial terms for the hinge or the non-saturating GAN loss and drops the penalty:
``bce`` is what ``--dp-epsilon`` uses, since opacus cannot clip the penalty's double backward.)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ganapps.core import losses as L
from ganapps.core.nn import Dropout, pack
from ganapps.core.regularizers import gradient_norm_penalty, interpolates


class Residual(nn.Module):
    """``cat([relu(bn(W x)), x])``: CTGAN's concatenating residual block."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc = nn.Linear(i, o)
        self.bn = nn.BatchNorm1d(o)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    """Noise ⊕ conditional vector → raw (pre-activation) encoded row."""

    def __init__(self, input_dim: int, hidden: Sequence[int], data_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        dim = input_dim
        for h in hidden:
            layers.append(Residual(dim, h))
            dim += h
        layers.append(nn.Linear(dim, data_dim))
        self.seq = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.seq(z)


class Critic(nn.Module):
    """Packs of ``pac`` rows (encoded row ⊕ conditional vector each) → one score per pack."""

    def __init__(self, input_dim: int, hidden: Sequence[int], pac: int = 10, dropout: float = 0.5) -> None:
        super().__init__()
        self.pac = pac
        layers: list[nn.Module] = []
        dim = input_dim * pac
        for h in hidden:
            layers += [nn.Linear(dim, h), nn.LeakyReLU(0.2), Dropout(dropout)]
            dim = h
        layers.append(nn.Linear(dim, 1))
        self.seq = nn.Sequential(*layers)

    def forward(self, packed: Tensor) -> Tensor:
        """Score packs of rows: (n/pac, pac·d), as ``ganapps.core.nn.pack`` makes them."""
        return self.seq(packed)


class Downstream(nn.Module):
    """CTAB-GAN+'s auxiliary model: the target column predicted from the other columns of a row.

    Trained on real encoded rows; the generator is then penalised when its rows' target
    disagrees with what this model reads off their other columns (:func:`downstream_loss`).
    """

    def __init__(self, features: Tensor, target: Tensor, classify: bool, hidden: int = 256) -> None:
        super().__init__()
        self.register_buffer("features", features, persistent=False)
        self.register_buffer("target", target, persistent=False)
        self.classify = classify
        out = len(target) if classify else 1
        self.seq = nn.Sequential(
            nn.Linear(len(features), hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, out),
        )

    def forward(self, rows: Tensor) -> Tensor:
        """Logits (classification) or the predicted target value (regression) for encoded rows."""
        return self.seq(rows[:, self.features])


def downstream_loss(model: Downstream, rows: Tensor) -> Tensor:
    """Cross-entropy against the rows' (soft) one-hot target, or squared error against its value."""
    pred = model(rows)
    target = rows[:, model.target]
    if model.classify:
        return -(target * torch.log_softmax(pred, 1)).sum(1).mean()
    return ((pred - target) ** 2).mean()


def critic_objective(
    critic: Critic, real: Tensor, fake: Tensor, cond: Tensor, *, loss: str = "wgan-gp", gp_weight: float = 0.0
) -> dict[str, Tensor]:
    """L_D on real rows and generated rows (detached), both with their conditional vectors.

    Real packs, generated packs and (with ``gp_weight`` > 0) their interpolates go through the
    critic in one call; the penalty takes one gradient norm per pack, as the critic sees it.
    """
    real_in = pack(torch.cat([real, cond], 1), critic.pac)
    fake_in = pack(torch.cat([fake.detach(), cond], 1), critic.pac)
    penalise = loss == "wgan-gp" and gp_weight > 0
    parts = [real_in, fake_in, *([interpolates(real_in, fake_in)] if penalise else [])]
    scores = critic(torch.cat(parts)).split(len(real_in))
    d_real, d_fake = scores[0], scores[1]
    if loss == "hinge":
        return {"loss": L.d_hinge(d_real, d_fake), "d_real": d_real.mean(), "d_fake": d_fake.mean()}
    if loss == "bce":
        return {"loss": L.d_bce(d_real, d_fake), "d_real": torch.sigmoid(d_real).mean()}
    wasserstein = L.d_wgan(d_real, d_fake)  # E[D(fake)] − E[D(real)]
    out = {"loss": wasserstein, "wasserstein": -wasserstein}
    if penalise:
        out["gp"] = gradient_norm_penalty(scores[2], parts[2])
        out["loss"] = wasserstein + gp_weight * out["gp"]
    return out


def generator_objective(critic: Critic, fake: Tensor, cond: Tensor, *, loss: str = "wgan-gp") -> dict[str, Tensor]:
    """The adversarial part of L_G (the app adds the conditional and downstream terms)."""
    d_fake = critic(pack(torch.cat([fake, cond], 1), critic.pac))
    adv = {"hinge": L.g_hinge, "bce": L.g_nonsaturating}.get(loss, L.g_wgan)(d_fake)
    return {"loss": adv, "adversarial": adv}
