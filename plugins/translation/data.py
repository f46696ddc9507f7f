"""Image folders for translation: aligned A|B pairs, two folders of same-named pairs, unpaired trainA/trainB.

Images are decoded by :mod:`ganapps.core.images`, resized once to ``load_size`` and kept in memory as uint8;
each training sample then gets the papers' random jitter: a random ``crop_size`` crop of the
``load_size`` image and a random horizontal flip (the same crop and flip for both halves of a pair).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganapps.core.data import split_indices
from ganapps.core.errors import DataError
from ganapps.core.images import IMAGE_SUFFIXES, read_folder, resize, to_float


def _stack(images: list[Tensor], size: int) -> Tensor:
    return torch.stack([resize(im, size) for im in images])


def has_images(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir())


def load_paired(source: Path, size: int) -> tuple[Tensor, Tensor, str]:
    """(A, B, layout) as uint8 (N, 3, size, size) from aligned A|B images or folders ``A/`` and ``B/``.

    A folder holding ``train/`` (the pix2pix layout) is read from ``train/``.
    """
    source = Path(source)
    if not source.is_dir():
        raise DataError(f"--data {source}: give a folder of aligned A|B images, or one with A/ and B/ sub-folders")
    if (source / "A").is_dir() and (source / "B").is_dir():
        names_a, images_a, _ = read_folder(source / "A")
        names_b, images_b, _ = read_folder(source / "B")
        by_name = dict(zip(names_b, images_b, strict=True))
        missing = [n for n in names_a if n not in by_name]
        if missing:
            raise DataError(f"--data {source}: {source / 'A' / missing[0]} has no same-named image in {source / 'B'}")
        extra = sorted(set(names_b) - set(names_a))
        if extra:
            raise DataError(f"--data {source}: {source / 'B' / extra[0]} has no same-named image in {source / 'A'}")
        return _stack(images_a, size), _stack([by_name[n] for n in names_a], size), "two folders A/ and B/"
    if not has_images(source) and (source / "train").is_dir():
        return load_paired(source / "train", size)
    names, images, _ = read_folder(source)
    a, b = [], []
    for name, image in zip(names, images, strict=True):
        h, w = image.shape[-2:]
        if w != 2 * h:
            raise DataError(
                f"--data {source / name}: an aligned pair must be twice as wide as high (A|B side by side), "
                f"this image is {w}×{h}"
            )
        a.append(image[:, :, :h])
        b.append(image[:, :, h:])
    return _stack(a, size), _stack(b, size), "aligned A|B images"


def load_unpaired(source: Path, size: int) -> Unpaired:
    """Domain A and domain B images from ``trainA/`` and ``trainB/`` (or ``A/`` and ``B/``)."""
    source = Path(source)
    if not source.is_dir():
        raise DataError(f"--data {source}: give a folder with trainA/ and trainB/ sub-folders of images")
    for a_name, b_name in (("trainA", "trainB"), ("A", "B")):
        if (source / a_name).is_dir() or (source / b_name).is_dir():
            for sub in (a_name, b_name):
                if not (source / sub).is_dir():
                    raise DataError(f"--data {source}: the folder {sub}/ is missing (unpaired data need both domains)")
            _, images_a, _ = read_folder(source / a_name)
            _, images_b, _ = read_folder(source / b_name)
            return Unpaired(_stack(images_a, size), _stack(images_b, size))
    raise DataError(f"--data {source}: no trainA/ and trainB/ sub-folders (unpaired images of domains A and B)")


@dataclass
class Unpaired:
    """Images of two domains, not in correspondence (uint8, N×3×H×W each)."""

    a: Tensor
    b: Tensor

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def split(self, holdout: float, seed: int) -> tuple[Unpaired, Unpaired]:
        """Hold out the same share of each domain."""
        ta, ha = split_indices(len(self.a), holdout, seed)
        tb, hb = split_indices(len(self.b), holdout, seed + 1)
        idx = torch.as_tensor
        return (
            Unpaired(self.a[idx(ta, dtype=torch.long)], self.b[idx(tb, dtype=torch.long)]),
            Unpaired(self.a[idx(ha, dtype=torch.long)], self.b[idx(hb, dtype=torch.long)]),
        )


def jitter(images: list[Tensor], crop: int, flip: bool) -> list[Tensor]:
    """One random crop and one random flip, applied alike to each image (uint8 → float in [-1, 1])."""
    h, w = images[0].shape[-2:]
    top = int(torch.randint(0, h - crop + 1, ()))
    left = int(torch.randint(0, w - crop + 1, ()))
    mirror = flip and bool(torch.rand(()) < 0.5)
    out = []
    for im in images:
        im = im[:, top : top + crop, left : left + crop]
        out.append(to_float(im.flip(-1) if mirror else im))
    return out


class PairedJitter(Dataset):
    """Aligned (input, target) pairs with the same random crop and flip for both."""

    def __init__(self, a: Tensor, b: Tensor, crop: int, flip: bool) -> None:
        self.a, self.b, self.crop, self.flip = a, b, crop, flip

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        a, b = jitter([self.a[i], self.b[i]], self.crop, self.flip)
        return a, b


class UnpairedJitter(Dataset):
    """A domain-A image (in order) with a random domain-B image, each jittered on its own."""

    def __init__(self, data: Unpaired, crop: int, flip: bool) -> None:
        self.data, self.crop, self.flip = data, crop, flip

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        a = self.data.a[i % len(self.data.a)]
        b = self.data.b[int(torch.randint(0, len(self.data.b), ()))]
        return jitter([a], self.crop, self.flip)[0], jitter([b], self.crop, self.flip)[0]
