"""Digit files → tensors for the ``dcgan`` and ``cgan`` apps.

The training data are read by :func:`ganapps.datasets.digits.load_digits` (an ``.npz`` with
arrays ``x`` and, optionally, ``y``, or a folder of class sub-folders), scaled to [-1, 1] and
resized to the ``--image-size``. Samples are written by :func:`ganapps.core.images.save_samples`
(a ``.png`` grid, or an ``.npz`` of uint8 ``x``, plus ``y`` for a cgan) and read back for ``ganapps
evaluate --synthetic`` by :func:`ganapps.datasets.digits.load_samples`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganapps.core.data import TensorData
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.images import to_unit
from ganapps.datasets.digits import load_digits


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
