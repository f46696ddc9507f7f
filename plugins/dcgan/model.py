"""DCGAN networks (Radford et al., 2016), with optional class conditioning (Mirza & Osindero, 2014).

The DCGAN guidelines, as in the paper: no pooling (strided convolutions in D, fractionally
strided ones in G), batch norm in both nets (not on G's output or D's input), ReLU in G with a
Tanh output, LeakyReLU(0.2) in D. A conditional model feeds the class to G as a learned
embedding concatenated to z, and to D as one-hot planes concatenated to the image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _start_size(image_size: int) -> int:
    """Spatial size of G's first feature map: 7 for 28×28 (MNIST), 4 for powers of two."""
    return 7 if image_size == 28 else 4


def _ups(image_size: int) -> int:
    return int(math.log2(image_size // _start_size(image_size)))


class Generator(nn.Module):
    """z (and a class) → image in [-1, 1]: project to a small map, then upsample ×2 per layer."""

    def __init__(self, nz: int, ngf: int, channels: int, image_size: int, n_classes: int = 0) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.embed = nn.Embedding(n_classes, n_classes) if n_classes else None
        ups = _ups(image_size)
        width = ngf * 2 ** (ups - 1)
        # "project and reshape": a transposed convolution from 1×1 to the start size
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz + n_classes, width, _start_size(image_size), 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(ups - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)
        return self.main(z[:, :, None, None])


class Discriminator(nn.Module):
    """Image (and a class) → one logit: strided convolutions halve the size per layer."""

    def __init__(self, ndf: int, channels: int, image_size: int, n_classes: int = 0, norm: str = "batch") -> None:
        super().__init__()
        self.n_classes = n_classes
        ups = _ups(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels + n_classes, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        width = ndf
        for _ in range(ups - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                _norm(norm, width * 2),
                nn.LeakyReLU(0.2, True),
            ]
            width *= 2
        layers += [nn.Conv2d(width, 1, _start_size(image_size), 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.n_classes:
            planes = F.one_hot(labels, self.n_classes).to(x.dtype)[:, :, None, None]
            x = torch.cat([x, planes.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
        return self.main(x).reshape(-1)


def _norm(kind: str, width: int) -> nn.Module:
    # A WGAN-GP critic must not use batch norm (the penalty is per sample); use layer-style norm.
    if kind == "batch":
        return nn.BatchNorm2d(width)
    if kind == "instance":
        return nn.InstanceNorm2d(width, affine=True)
    return nn.Identity()
