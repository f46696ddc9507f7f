"""What ``generate`` returns for SRGAN and how it is written: low-res | bicubic | ours | real."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core.errors import ConfigError, DataError
from ganapps.core.images import grid_png, to_float
from ganapps.core.io import atomic_path, write_bytes
from ganapps.plugins.srgan.data import SCALE

COLUMNS = ("low_res", "bicubic", "ours", "real")


@dataclass
class Upscaled:
    """LR inputs (N, 3, h, w), their bicubic and SRGAN ×4 upscalings and the real HR images (or None)."""

    low_res: Tensor
    bicubic: Tensor
    ours: Tensor
    real: Tensor | None = None

    def __len__(self) -> int:
        return len(self.ours)


def sample_grid(samples: Upscaled, scale: int = 1) -> bytes:
    """One row per image: low-res (nearest ×4, to show its pixels) | bicubic | ours | real."""
    lr = F.interpolate(samples.low_res.float(), scale_factor=SCALE, mode="nearest")
    columns = [lr, samples.bicubic, samples.ours]
    columns.append(samples.real if samples.real is not None else -torch.ones_like(samples.ours))
    rows = torch.stack([c.float().cpu() for c in columns], 1).flatten(0, 1)
    return grid_png(rows, nrow=len(columns), scale=scale)


def _uint8(images: Tensor) -> np.ndarray:
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()


def save(samples: Upscaled, path: Path) -> Path:
    suffix = path.suffix.lower()
    if suffix == ".png":
        return write_bytes(path, sample_grid(samples))
    if suffix == ".npz":
        arrays = {k: _uint8(getattr(samples, k)) for k in COLUMNS if getattr(samples, k) is not None}
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path
    raise ConfigError(f"option --out: {path.name}: upscaled samples are written as .png (a grid) or .npz (arrays)")


def load(path: Path) -> Upscaled:
    if path.suffix.lower() != ".npz":
        raise DataError(f"--synthetic {path}: give the .npz written by `ganapps generate --out X.npz`")
    with np.load(path) as z:
        missing = [k for k in COLUMNS[:3] if k not in z]
        if missing:
            raise DataError(f"--synthetic {path}: no array {missing[0]} (written by another app?)")
        arrays = {k: to_float(torch.from_numpy(z[k])) if k in z else None for k in COLUMNS}
    return Upscaled(**arrays)  # type: ignore[arg-type]
