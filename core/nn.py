"""Network building blocks shared by apps."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def mlp(
    dims: Sequence[int],
    activation: str = "relu",
    norm: str | None = None,
    dropout: float = 0.0,
    final_activation: bool = False,
) -> nn.Sequential:
    """Linear layers ``dims[0] → … → dims[-1]`` with activation, optional batch/layer norm and dropout."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        last = i == len(dims) - 2
        layers.append(nn.Linear(a, b))
        if last and not final_activation:
            break
        if norm == "batch":
            layers.append(nn.BatchNorm1d(b))
        elif norm == "layer":
            layers.append(nn.LayerNorm(b))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class ResidualLinear(nn.Module):
    """``x + act(norm(W x))``: the shortcut block of medGAN's generator and CTGAN-style nets."""

    def __init__(self, dim: int, activation: str = "relu", norm: str | None = "batch") -> None:
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.norm = nn.BatchNorm1d(dim) if norm == "batch" else nn.LayerNorm(dim) if norm == "layer" else nn.Identity()
        self.act = ACTIVATIONS[activation]()

    def forward(self, x: Tensor) -> Tensor:
        return x + self.act(self.norm(self.linear(x)))


class Dropout(nn.Module):
    """Inverted dropout that is cheap on CPU, where ``nn.Dropout``'s Bernoulli draws dominate small layers.

    On CPU, p = 0.5 takes each unit's keep/drop from one bit of a 32-bit random integer (a sixth
    of ``nn.Dropout``'s time on a 150×256 batch here) and other rates compare ``torch.rand`` with
    p; on other devices it is ``nn.functional.dropout``. Same distribution either way: each
    unit kept with probability 1 − p and scaled by 1 / (1 − p).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {p}")
        self.p = p
        self.register_buffer("shifts", torch.arange(32, dtype=torch.int64), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        if x.device.type != "cpu":
            return nn.functional.dropout(x, self.p, True)
        if self.p == 0.5:
            n = x.numel()
            words = torch.randint(0, 2**32, ((n + 31) // 32, 1), dtype=torch.int64)
            keep = ((words >> self.shifts) & 1).reshape(-1)[:n].reshape(x.shape)
        else:
            keep = torch.rand_like(x) >= self.p
        return x * keep.to(x.dtype) * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class MinibatchAverage(nn.Module):
    """Append the batch mean of the features to every sample (medGAN's minibatch averaging)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, x.mean(dim=0, keepdim=True).expand_as(x)], dim=1)


def pack(x: Tensor, pac: int) -> Tensor:
    """PacGAN: the discriminator judges ``pac`` samples at once, concatenated (batch % pac == 0)."""
    return x.reshape(x.shape[0] // pac, pac * x.shape[1], *x.shape[2:])


class RandomFeatures(nn.Module):
    """φ: a fixed conv3×3-ReLU stack with seeded He-normal weights, never trained (rebuilt from its seed)."""

    def __init__(self, widths: tuple[int, ...] = (3, 32, 32, 64), seed: int = 20170101) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:], strict=False))
        with torch.no_grad():
            for conv in self.convs:
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2.0 / (conv.in_channels * 9)) ** 0.5)
                conv.bias.zero_()
        self.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        for conv in self.convs:
            x = F.relu(conv(x))
        return x
