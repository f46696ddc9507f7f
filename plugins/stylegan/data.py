"""Training images ↔ tensors for the ``stylegan`` app, and its sample files.

``--data`` is either digits — an ``.npz`` with ``x`` (and ``y``) or a folder of class sub-folders, read
by :func:`ganapps.datasets.digits.load_digits`; with labels the app trains its digit judge — or a folder
of photos (any size, at least ``--image-size`` on the shorter side; aligned pix2pix pairs give their left
half), read as srgan reads them: centre-cropped square and resized, RGB. Both are scaled to [-1, 1].

Samples are ``(images, None)`` as for the digit apps (``.png`` grid or ``.npz`` arrays); a style-mixing
grid (:class:`Mixing`) is written as one ``.png`` with its sources along the edges, or its cells as ``.npz``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core.data import TensorData
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.images import IMAGE_SUFFIXES, Half, Samples, grid_png, read_photos, save_samples, to_float, to_unit
from ganapps.core.io import write_bytes
from ganapps.datasets.digits import load_digits


@dataclass
class Mixing:
    """A style-mixing grid: ``rows`` sources (coarse styles), ``cols`` sources (fine styles), their mixes
    (rows × cols, row-major)."""

    rows: Tensor
    cols: Tensor
    mixed: Tensor


def _is_photo_folder(path: Path) -> bool:
    """A folder whose own files are images (or that holds train/ or trainA/), not class sub-folders."""
    if not path.is_dir():
        return False
    if (path / "train").is_dir() or (path / "trainA").is_dir():
        return True
    return any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())


def load_images(source: Any, size: int, pair_half: Half = "auto") -> TensorData:
    """(images in [-1, 1] at ``size`` × ``size``, labels or −1 when the data have none)."""
    path = Path(source)
    if path.is_dir() and not any(path.iterdir()):
        raise DataError(f"--data {path}: the folder is empty (give digits as .npz / class folders, or photos)")
    if _is_photo_folder(path):
        images = to_float(read_photos(path, size, pair_half))
        labels = torch.full((len(images),), -1, dtype=torch.long)
    else:
        x, y = load_digits(path)
        images = to_unit(x)
        if images.shape[-2:] != (size, size):
            images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        labels = torch.from_numpy(y.astype(np.int64)) if y is not None else torch.full((len(x),), -1)
    if len(images) < 2:
        raise DataError(f"--data {path}: need at least 2 images, found {len(images)}")
    return TensorData(images.contiguous(), labels)


def save(samples: Samples | Mixing, path: Path) -> Path:
    """Images as the digit apps write them; a :class:`Mixing` grid as one ``.png`` (top row: the column
    sources, left column: the row sources) or its cells as ``.npz``."""
    if not isinstance(samples, Mixing):
        return save_samples(samples, path)
    if path.suffix.lower() == ".npz":
        return save_samples((samples.mixed, None), path)
    if path.suffix.lower() != ".png":
        raise ConfigError(f"option --out: {path.name}: a style-mixing grid is written as .png or .npz")
    scale = max(1, 64 // samples.rows.shape[-1])
    return write_bytes(path, grid_png(mixing_cells(samples), nrow=len(samples.cols) + 1, scale=scale))


def mixing_cells(m: Mixing) -> Tensor:
    """The grid's tiles in order: a white corner and the column sources, then per row its source and mixes."""
    cells = [torch.ones_like(m.rows[:1]), m.cols]
    for i, source in enumerate(m.rows):
        cells += [source[None], m.mixed[i * len(m.cols) : (i + 1) * len(m.cols)]]
    return torch.cat(cells)
