"""Digit files ↔ tensors for the ``dcgan`` and ``cgan`` apps.

The training data are read by :func:`ganapps.datasets.digits.load_digits` (an ``.npz`` with
arrays ``x`` and, optionally, ``y``, or a folder of class sub-folders), scaled to [-1, 1] and
resized to the ``--image-size``. Samples are written as one image grid (``.png``) or as arrays
(``.npz``: uint8 ``x``, plus ``y`` for a cgan), and the ``.npz`` is read back for ``ganapps
evaluate --synthetic``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core.data import TensorData
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.images import grid_png
from ganapps.core.io import atomic_path, write_bytes
from ganapps.datasets.digits import load_digits

Samples = tuple[Tensor, Tensor | None]  # images in [-1, 1], class labels (conditional only)


def to_unit(x: np.ndarray) -> Tensor:
    """uint8 images (N, C, H, W) as floats in [-1, 1]."""
    return torch.from_numpy(x).float().div(127.5).sub(1.0)


def load_images(source: Any, size: int, labelled: bool, app: str) -> TensorData:
    """Images in [-1, 1] at ``size`` × ``size`` and their class labels (zeros where the data have
    none; a DataError when ``labelled`` asks for them, naming ``app``)."""
    x, y = load_digits(source)
    if size not in (28, 32, 64, 128):
        raise ConfigError("option --image-size must be 28, 32, 64 or 128")
    images = to_unit(x)
    if images.shape[-1] != size or images.shape[-2] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    if labelled and y is None:
        raise DataError(f"--data {source}: app {app} needs class labels (array 'y' in the .npz)")
    labels = torch.from_numpy(y.astype(np.int64)) if y is not None else torch.zeros(len(images), dtype=torch.long)
    return TensorData(images, labels)


def save_samples(samples: Samples, path: Path) -> Path:
    """A .png grid (labelled samples sorted by class, 10 to a row when there are several classes) or an
    .npz of uint8 arrays, by the suffix of ``path``."""
    images, labels = samples
    suffix = path.suffix.lower()
    if suffix == ".png":
        if labels is not None:
            order = torch.argsort(labels, stable=True)
            images = images[order]
        several = labels is not None and len(torch.unique(labels)) > 1
        nrow = 10 if several else max(1, math.ceil(math.sqrt(len(images))))
        return write_bytes(path, grid_png(images, nrow=nrow))
    if suffix == ".npz":
        x = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).squeeze(1).numpy()
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            if labels is None:
                np.savez_compressed(fh, x=x)
            else:
                np.savez_compressed(fh, x=x, y=labels.numpy().astype(np.uint8))
        return path
    raise ConfigError(f"option --out: {path.name}: images are written as .png (a grid) or .npz (arrays)")


def load_samples(path: Path) -> Samples:
    """What :func:`save_samples` wrote as .npz, back in [-1, 1] with its labels (None without)."""
    if path.suffix.lower() != ".npz":
        raise DataError(f"--synthetic {path}: give the .npz written by `ganapps generate --out X.npz`")
    x, y = load_digits(path)
    return to_unit(x), (torch.from_numpy(y.astype(np.int64)) if y is not None else None)
