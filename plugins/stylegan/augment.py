"""Differentiable augmentation for the discriminator (DiffAugment: Zhao, Liu, Lin, Zhu & Han, NeurIPS 2020).

With little data D memorises the real images and its feedback to G collapses. DiffAugment shows D only
randomly transformed images, T(x), and — its rule — transforms *every* image D sees the same way:

    L_D = E_x softplus(−D(T(x))) + E_z softplus(D(T(G(z))))       (+ R1 on D(T(x)), ∇ w.r.t. x)
    L_G = E_z softplus(−D(T(G(z))))

Real and fake, in D's step and in G's step. Never augment only the reals: D would then learn that
transformed images are real and G would be pushed to generate translated, cut-out digits (the paper's
Table 1). Because T is differentiable, G's gradient flows back through it. Each T draws fresh parameters
per image from torch's global RNG, so a fixed seed gives the same transforms.

Policies (the paper's, for 32×32 images): ``color`` — brightness ±0.5, saturation ×[0, 2] (a no-op on
one channel), contrast ×[0.5, 1.5]; ``translation`` — an integer shift of up to 1/8 of the side, zero
filled; ``cutout`` — one zeroed square of half the side at a random centre (clipped at the border).
Zero is the middle of the [−1, 1] pixel range.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ganapps.core.errors import ConfigError


def brightness(x: Tensor) -> Tensor:
    """x + b, b ~ U(−0.5, 0.5) per image."""
    return x + (torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)


def saturation(x: Tensor) -> Tensor:
    """Channel mean + s·(x − channel mean), s ~ U(0, 2) per image (one channel: unchanged)."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean


def contrast(x: Tensor) -> Tensor:
    """Image mean + c·(x − image mean), c ~ U(0.5, 1.5) per image."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by integers (dy, dx), |d| ≤ ratio · side, filling with zeros; same shape."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (b, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    # read pixel (y − dy, x − dx) of the image padded by one zero pixel; indices outside land on the padding
    iy = (gy[None] - dy + 1).clamp(0, h + 1)
    ix = (gx[None] - dx + 1).clamp(0, w + 1)
    padded = torch.nn.functional.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # (B, H+2, W+2, C)
    return padded[torch.arange(b, device=x.device)[:, None, None], iy, ix].permute(0, 3, 1, 2)


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero one square of side ratio · side per image, centred uniformly (clipped at the border)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(ch, device=x.device), torch.arange(cw, device=x.device), indexing="ij")
    iy = (gy[None] + cy - ch // 2).clamp(0, h - 1)
    ix = (gx[None] + cx - cw // 2).clamp(0, w - 1)
    mask = torch.ones(b, h, w, device=x.device, dtype=x.dtype)
    mask[torch.arange(b, device=x.device)[:, None, None], iy, ix] = 0
    return x * mask[:, None]


#: policy name → its transforms, applied in this order (the paper's: color, translation, cutout)
POLICIES: dict[str, tuple[Callable[[Tensor], Tensor], ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def parse_policy(text: str) -> tuple[str, ...]:
    """``--augment`` as policy names in the paper's order: "" or "none" → (); an unknown name → ConfigError."""
    names = [p.strip() for p in str(text).split(",") if p.strip()]
    if names in ([], ["none"]):
        return ()
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ConfigError(
            f"option --augment: unknown policy {unknown[0]!r} (use none, or a comma list of {', '.join(POLICIES)})"
        )
    return tuple(p for p in POLICIES if p in names)


def augment(x: Tensor, policy: Sequence[str]) -> Tensor:
    """T(x): every transform of ``policy`` (names from :func:`parse_policy`), fresh parameters per image."""
    for name in policy:
        for transform in POLICIES[name]:
            x = transform(x)
    return x.contiguous() if policy else x
