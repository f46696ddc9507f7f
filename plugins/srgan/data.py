"""HR images and the LR images we make from them, as the paper does: bicubic ×¼ downsampling.

A folder of images (any size, each at least ``--hr-size`` on its shorter side) is read by
:func:`ganapps.core.images.read_photos`: each image centre-cropped to a square, resized (antialiased)
to ``hr_size`` and kept in memory as uint8; aligned pix2pix pairs (twice as wide as high) give their
left half, the photo. Training samples are random ``crop_size`` HR crops (random flip) with their LR.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from ganapps.core.images import to_float

SCALE = 4


def downsample(hr: Tensor, scale: int = SCALE) -> Tensor:
    """LR from HR (float in [-1, 1], (…, 3, H, W)): antialiased bicubic ×1/scale, clamped."""
    squeeze = hr.dim() == 3
    x = hr[None] if squeeze else hr
    h, w = x.shape[-2:]
    lr = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", align_corners=False, antialias=True)
    lr = lr.clamp(-1, 1)
    return lr[0] if squeeze else lr


class HRCrops(Dataset):
    """(LR, HR) pairs: a random ``crop`` HR crop (random flip) and its bicubic ×¼ downsampling."""

    def __init__(self, hr: Tensor, crop: int, flip: bool = True) -> None:
        self.hr, self.crop, self.flip = hr, crop, flip

    def __len__(self) -> int:
        return len(self.hr)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        image = self.hr[i]
        h, w = image.shape[-2:]
        top = int(torch.randint(0, h - self.crop + 1, ()))
        left = int(torch.randint(0, w - self.crop + 1, ()))
        hr = to_float(image[:, top : top + self.crop, left : left + self.crop])
        if self.flip and bool(torch.rand(()) < 0.5):
            hr = hr.flip(-1)
        return downsample(hr), hr
