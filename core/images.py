"""Image helpers: sample grids as PNG bytes, tensors in [-1, 1] to images and back."""

from __future__ import annotations

import io

import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] as uint8 in [0, 255]."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def image_png(pixels: torch.Tensor) -> bytes:
    """One image (C, H, W) of uint8 pixels as PNG bytes (``to_uint8`` makes them from [-1, 1])."""
    arr = pixels.permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr).save(buf, format="PNG")
    return buf.getvalue()


def grid_png(images: torch.Tensor, nrow: int = 8, padding: int = 2, scale: int = 1) -> bytes:
    """A grid of images (N, C, H, W) in [-1, 1] as PNG bytes; ``scale`` enlarges small images."""
    from torchvision.utils import make_grid  # imported here: torchvision costs ~1.5 s at CLI start-up

    grid = make_grid(to_uint8(images), nrow=nrow, padding=padding, pad_value=255)
    arr = grid.permute(1, 2, 0).numpy()
    img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
