"""Image helpers: sample grids as PNG bytes, tensors in [-1, 1] to images and back, and image files:
decoding, folders of photos, and a folder mapped through a model batch by batch (``translate``,
``upscale``)."""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from ganapps.core.errors import ConfigError, DataError
from ganapps.core.io import atomic_path, write_bytes

log = logging.getLogger("ganapps.images")
#: which part of a photo to keep: auto (the left half of A|B pairs), left, none
Half = Literal["auto", "left", "none"]
#: generated images in [-1, 1] and their class labels (None when unconditional)
Samples = tuple[torch.Tensor, torch.Tensor | None]


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


# ------------------------------------------------------------------------------- image files
#: the file suffixes read as images
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")


def read_image(path: Path) -> torch.Tensor:
    """An RGB image as uint8 (3, H, W); raises ValueError with the reason if it cannot be decoded."""
    from torchvision.transforms.v2 import functional as TF  # here: torchvision costs ~1.3 s at CLI start-up

    try:
        with Image.open(path) as im:
            return TF.pil_to_tensor(im.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(text.replace(repr(str(path)), "").strip()[:100]) from None


def resize(image: torch.Tensor, size: int) -> torch.Tensor:
    """``size``×``size`` (antialiased bilinear) of a (…, C, H, W) image."""
    if image.shape[-2:] == (size, size):
        return image
    from torchvision.transforms.v2 import functional as TF

    return TF.resize(image, [size, size], antialias=True)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 in [0, 255] → float in [-1, 1]."""
    return images.float().div(127.5).sub(1.0)


def files_in(folder: Path, option: str = "--data") -> list[Path]:
    """The visible files of a folder, sorted by name (numbers in natural order: 2.jpg before 10.jpg)."""
    if not folder.is_dir():
        raise DataError(f"{option} {folder}: not a folder")

    def key(p: Path) -> tuple[int, int, str]:
        return (0, int(p.stem), p.name) if p.stem.isdigit() else (1, 0, p.name)

    return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")), key=key)


def _decoded(path: Path) -> tuple[torch.Tensor | None, str]:
    """(the image, "") or (None, "name (why it is skipped)")."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None, f"{path.name} (not an image file)"
    try:
        return read_image(path), ""
    except ValueError as exc:
        return None, f"{path.name} (unreadable: {exc})"


def read_folder(folder: Path) -> tuple[list[str], list[torch.Tensor], list[str]]:
    """Decode every image of ``folder``: (names, images, skipped "name (reason)")."""
    names, images, skipped = [], [], []
    for path in files_in(folder):
        image, why = _decoded(path)
        if image is None:
            skipped.append(why)
            continue
        images.append(image)
        names.append(path.name)
    if skipped:
        log.warning("%s: skipped %d file(s): %s", folder, len(skipped), ", ".join(skipped))
    if not images:
        raise DataError(f"--data {folder}: no readable images ({', '.join(IMAGE_SUFFIXES)})")
    return names, images, skipped


def _square(image: torch.Tensor, name: str, folder: Path, size: int, half: Half, option: str) -> torch.Tensor:
    h, w = image.shape[-2:]
    if half == "left" or (half == "auto" and w == 2 * h):
        image, w = image[:, :, : w // 2], w // 2
    if min(h, w) < size:
        raise DataError(
            f"--data {folder / name}: the image is {w}×{h}, smaller than {option} {size} "
            f"(give larger images or a smaller {option})"
        )
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return resize(image[:, top : top + side, left : left + side], size)


def read_photos(source: Path, size: int, half: Half = "auto", option: str = "--image-size") -> torch.Tensor:
    """The photos of a folder as uint8 (N, 3, size, size), each centre-cropped to a square and resized;
    aligned pix2pix pairs (twice as wide as high) give their left half (``half``). A pix2pix folder
    holding ``train/`` is read from it, a cyclegan one from ``trainA/``. ``option`` is the size's option
    name, for the error on a too-small image."""
    source = Path(source)
    if not source.is_dir():
        raise DataError(f"--data {source}: give a folder of images")
    if (source / "train").is_dir() and not any(p.is_file() for p in source.iterdir()):
        source = source / "train"
    if (source / "trainA").is_dir():  # the cyclegan layout: domain A are the photos
        source = source / "trainA"
    names, images, _ = read_folder(source)
    return torch.stack([_square(im, n, source, size, half, option) for n, im in zip(names, images, strict=True)])


def map_folder(
    input_dir: Path,
    out_dir: Path,
    convert: Callable[[list[torch.Tensor]], Sequence[torch.Tensor]],
    *,
    batch_size: int,
    desc: str,
    progress: bool = True,
    check: Callable[[torch.Tensor], str] | None = None,
    same_size: bool = False,
) -> tuple[list[Path], list[str]]:
    """Every image of ``input_dir`` (``--input``) through ``convert`` — a batch of uint8 images in, one
    uint8 image out for each — into a PNG of the same stem in ``out_dir`` (``name.ext.png`` where two
    inputs share a stem). Files that are not images, cannot be decoded or that ``check`` turns down
    (it returns why) are skipped. Batches hold up to ``batch_size`` images, of one size if
    ``same_size``. Returns (written, skipped "name (reason)")."""
    files = files_in(input_dir, "option --input")
    if not files:
        raise DataError(f"option --input {input_dir}: the folder is empty")
    stems = [p.stem for p in files]
    written: list[Path] = []
    skipped: list[str] = []
    pending: list[tuple[Path, torch.Tensor]] = []

    def flush() -> None:
        outputs = convert([image for _, image in pending]) if pending else []
        for (path, _), pixels in zip(pending, outputs, strict=True):
            name = f"{path.stem}.png" if stems.count(path.stem) == 1 else f"{path.name}.png"
            written.append(write_bytes(out_dir / name, image_png(pixels)))
        pending.clear()

    for path in tqdm(files, desc=desc, unit="img", disable=not progress, dynamic_ncols=True):
        image, why = _decoded(path)
        why = why or (check(image) if check is not None and image is not None else "")
        if image is None or why:
            skipped.append(why if image is None else f"{path.name} ({why})")
            continue
        if pending and (len(pending) >= batch_size or (same_size and pending[0][1].shape != image.shape)):
            flush()
        pending.append((path, image))
    flush()
    if not written:
        raise DataError(f"option --input {input_dir}: no readable images ({'; '.join(skipped)})")
    return written, skipped


# ------------------------------------------------------------------------------- samples
def to_unit(x: np.ndarray) -> torch.Tensor:
    """uint8 images (N, C, H, W) as floats in [-1, 1]."""
    return torch.from_numpy(x).float().div(127.5).sub(1.0)


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
