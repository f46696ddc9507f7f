"""Paired image metrics: PSNR and SSIM of outputs against targets (images in [-1, 1])."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def psnr(output: Tensor, target: Tensor) -> float:
    """Peak signal-to-noise ratio in dB (pixels in [0, 1]), averaged over images."""
    x, y = (output.float() + 1) / 2, (target.float() + 1) / 2
    mse = ((x - y) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return float((10 * torch.log10(1.0 / mse)).mean())


def _gaussian(size: int = 11, sigma: float = 1.5) -> Tensor:
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    return (g / g.sum()).float()


def ssim(output: Tensor, target: Tensor) -> float:
    """Structural similarity (Wang et al. 2004): 11×11 Gaussian window σ=1.5, K1=0.01, K2=0.03,
    pixels in [0, 1], per channel, averaged over the valid window positions and the images."""
    x, y = (output.float() + 1) / 2, (target.float() + 1) / 2
    c = x.shape[1]
    g = _gaussian(min(11, x.shape[-1], x.shape[-2]))
    w = (g[:, None] * g[None, :]).to(x.device).expand(c, 1, -1, -1)

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, w, groups=c)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return float(s.mean())
