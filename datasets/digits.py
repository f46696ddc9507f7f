"""Loader for small image-classification data: an ``.npz`` with ``x`` (and ``y``), or a folder of
class sub-folders holding images (``0/…png``, ``1/…png``); :func:`load_samples` reads generated samples
written as ``.npz`` back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganapps.core.errors import DataError
from ganapps.core.images import IMAGE_SUFFIXES, Samples, to_unit


def load_digits(source: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Images as uint8 (N, C, H, W) and integer labels (or None when the data have none)."""
    path = Path(source)
    if not path.exists():
        raise DataError(f"--data: {path} does not exist")
    if path.is_dir():
        return _load_folder(path)
    if path.suffix.lower() != ".npz":
        raise DataError(f"--data {path}: expected an .npz with arrays x (and y) or a folder of class sub-folders")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "x" not in z:
                raise DataError(f"--data {path}: the .npz has no array 'x' (found: {', '.join(z.files) or 'none'})")
            x = z["x"]
            y = z.get("y")
    except (OSError, ValueError) as exc:
        raise DataError(f"--data {path}: not a readable .npz file ({exc})") from None
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise DataError(f"--data {path}: 'x' must be (N, H, W), (N, H, W, C) or (N, C, H, W) with 1 or 3 channels")
    if len(x) < 2:
        raise DataError(f"--data {path}: need at least 2 images, found {len(x)}")
    if x.dtype != np.uint8:
        if np.issubdtype(x.dtype, np.floating) and x.max() <= 1.0 and x.min() >= 0.0:
            x = (x * 255).round()
        x = np.clip(x, 0, 255).astype(np.uint8)
    if y is not None:
        if len(y) != len(x):
            raise DataError(f"--data {path}: 'y' has {len(y)} labels for {len(x)} images")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise DataError(f"--data {path}: 'y' must hold non-negative integer class labels")
    return x, y


def _load_folder(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    from PIL import Image, UnidentifiedImageError

    classes = sorted(p for p in path.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"--data {path}: the folder has no class sub-folders")
    images, labels, size = [], [], None
    for label, folder in enumerate(classes):
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                img = Image.open(f).convert("L")
            except (UnidentifiedImageError, OSError):
                continue
            if size is None:
                size = img.size
            images.append(np.asarray(img.resize(size)))
            labels.append(label)
    if len(images) < 2:
        raise DataError(f"--data {path}: found fewer than 2 readable images")
    return np.stack(images)[:, None], np.asarray(labels, dtype=np.int64)


def load_samples(path: Path) -> Samples:
    """What :func:`ganapps.core.images.save_samples` wrote as .npz, back in [-1, 1] with its labels (None without)."""
    if path.suffix.lower() != ".npz":
        raise DataError(f"--synthetic {path}: give the .npz written by `ganapps generate --out X.npz`")
    x, y = load_digits(path)
    return to_unit(x), (torch.from_numpy(y.astype(np.int64)) if y is not None else None)
