"""Networks of pix2pix (Isola et al., 2017) and CycleGAN (Zhu et al., 2017), as in the papers.

- :class:`UnetGenerator`: an encoder-decoder whose i-th decoder layer also sees the i-th encoder
  layer (skip connections), so low-level structure shared by input and output (edges, layout)
  bypasses the bottleneck. ``unet_256`` has 8 downsamplings (256 → 1); dropout in three inner
  decoder layers is the generator's only noise.
- :class:`ResnetGenerator`: CycleGAN's generator: two stride-2 convolutions, ``n_blocks`` residual
  blocks (9 for 256×256, 6 for 128×128 and smaller), two transposed convolutions.
- :class:`PatchDiscriminator`: the 70×70 PatchGAN: a fully convolutional net whose every output
  unit classifies one 70×70 input patch as real or fake.

Weights start as N(0, 0.02) (norm scales as N(1, 0.02)), as in the reference code.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

Norm = Literal["batch", "instance"]


def norm_layer(kind: Norm) -> Callable[[int], nn.Module]:
    """Batch norm (pix2pix; with batch size 1 it normalises per image) or instance norm (CycleGAN)."""
    if kind == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)


def init_weights(module: nn.Module) -> None:
    """N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales, zero biases (the reference init)."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def unet_depth(size: int) -> int:
    """Downsamplings of a U-Net for ``size``×``size`` images: down to 1×1 (8 for 256)."""
    depth = int(math.log2(size))
    if 2**depth != size or depth < 5:
        raise ValueError(f"U-Net image size must be a power of two ≥ 32, got {size}")
    return depth


class UnetBlock(nn.Module):
    """One level of the U-Net: down, the inner levels, up, then concatenate the skip (except outermost)."""

    def __init__(
        self,
        outer: int,
        inner: int,
        norm: Norm,
        submodule: nn.Module | None = None,
        in_channels: int | None = None,
        outermost: bool = False,
        innermost: bool = False,
        dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        make_norm = norm_layer(norm)
        bias = norm == "instance"  # batch norm has its own shift
        in_channels = outer if in_channels is None else in_channels
        down = nn.Conv2d(in_channels, inner, 4, 2, 1, bias=bias)
        if outermost:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)
            layers = [down, submodule, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:  # 1×1 at the bottom: no norm on the way down
            up = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, make_norm(outer)]
        else:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down, make_norm(inner), submodule, nn.ReLU(True), up, make_norm(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*[m for m in layers if m is not None])

    def forward(self, x: Tensor) -> Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """U-Net with skips; ``depth`` downsamplings (8 = unet_256), dropout in the inner ngf·8 layers."""

    def __init__(self, in_channels: int, out_channels: int, depth: int, ngf: int = 64, norm: Norm = "batch") -> None:
        super().__init__()
        block = UnetBlock(ngf * 8, ngf * 8, norm, innermost=True)
        for _ in range(depth - 5):  # the reference puts dropout in these (3 of them for unet_256)
            block = UnetBlock(ngf * 8, ngf * 8, norm, block, dropout=True)
        block = UnetBlock(ngf * 4, ngf * 8, norm, block)
        block = UnetBlock(ngf * 2, ngf * 4, norm, block)
        block = UnetBlock(ngf, ngf * 2, norm, block)
        self.model = UnetBlock(out_channels, ngf, norm, block, in_channels=in_channels, outermost=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), reflection padded."""

    def __init__(self, dim: int, norm: Norm) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = norm == "instance"
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, bias=bias),
            make_norm(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, bias=bias),
            make_norm(dim),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: c7s1-ngf, d2ngf, d4ngf, n_blocks × R4ngf, u2ngf, ungf, c7s1-3 (Tanh)."""

    def __init__(
        self, in_channels: int, out_channels: int, ngf: int = 64, norm: Norm = "instance", n_blocks: int = 9
    ) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = norm == "instance"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7, bias=bias),
            make_norm(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            mult = 2**i
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1, bias=bias),
                make_norm(ngf * mult * 2),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(ngf * 4, norm) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            layers += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1, bias=bias),
                make_norm(ngf * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN (``n_layers=3``): C64-C128-C256-C512, then a 1-channel map of patch logits."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, norm: Norm = "batch") -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = norm == "instance"
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last feature layer keeps the size
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=bias),
                make_norm(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)
