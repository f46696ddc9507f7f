"""CTGAN's networks (Xu et al., NeurIPS 2019): a residual generator and a PacGAN critic.

Generator: each residual block is ``Linear → BatchNorm → ReLU`` whose output is *concatenated*
to its input (so the last layer sees every earlier representation), then one Linear to the
encoded row width. The span activations (tanh / softmax / sigmoid per column span) are applied
by the app, not here, because the conditional loss needs the raw logits.

Critic: ``pac`` rows are judged together (PacGAN, Lin et al. 2018) so that a generator that
repeats itself is easy to spot; LeakyReLU(0.2) and dropout 0.5 as in CTGAN (``core.nn.Dropout``,
the same distribution drawn faster on CPU).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ganapps.core.nn import Dropout


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
