"""``ganapps upscale RUN --input DIR --out DIR``: ×4 super-resolution of a folder of images."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click
from tqdm.auto import tqdm

from ganapps.cli.options import device_option
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.io import write_bytes

if TYPE_CHECKING:
    import torch

log = logging.getLogger("ganapps.srgan")

#: smallest LR side upscaled (the generator's 9×9 convolutions need a few pixels)
MIN_SIDE = 4


def upscale_folder(
    app: object, input_dir: Path, out_dir: Path, batch_size: int = 8, progress: bool = True
) -> tuple[list[Path], list[str]]:
    """Upscale every image of ``input_dir`` ×4 into PNGs in ``out_dir``: (written, skipped "name (reason)").

    Images go through the generator at their own size; consecutive images of one size share a batch.
    """
    import torch  # here, not at module level: registering the command must not import torch

    from ganapps.core.images import image_png, to_uint8
    from ganapps.plugins.translation.data import IMAGE_SUFFIXES, files_in, read_image, to_float

    upscale = getattr(app, "upscale", None)
    if not callable(upscale):
        raise ConfigError(f"app {getattr(app, 'name', '?')} does not upscale images (train an srgan run)")
    if not input_dir.is_dir():
        raise DataError(f"option --input {input_dir}: not a folder")
    files = files_in(input_dir)
    if not files:
        raise DataError(f"option --input {input_dir}: the folder is empty")
    stems = [p.stem for p in files]
    written: list[Path] = []
    skipped: list[str] = []
    pending: list[tuple[Path, torch.Tensor]] = []

    def flush() -> None:
        if not pending:
            return
        outputs = upscale(torch.stack([to_float(im) for _, im in pending]), batch_size)
        for (path, _), out in zip(pending, outputs, strict=True):
            name = f"{path.stem}.png" if stems.count(path.stem) == 1 else f"{path.name}.png"
            written.append(write_bytes(out_dir / name, image_png(to_uint8(out))))
        pending.clear()

    for path in tqdm(files, desc="upscale ×4", unit="img", disable=not progress, dynamic_ncols=True):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append(f"{path.name} (not an image file)")
            continue
        try:
            image = read_image(path)
        except ValueError as exc:
            skipped.append(f"{path.name} (unreadable: {exc})")
            continue
        h, w = image.shape[-2:]
        if min(h, w) < MIN_SIDE:
            skipped.append(f"{path.name} (too small: {w}×{h}, at least {MIN_SIDE} px a side)")
            continue
        if pending and (len(pending) >= batch_size or pending[0][1].shape != image.shape):
            flush()
        pending.append((path, image))
    flush()
    if not written:
        raise DataError(f"option --input {input_dir}: no readable images ({'; '.join(skipped)})")
    return written, skipped


@click.command("upscale")
@click.argument("run", type=click.Path())
@click.option("--input", "-i", "input_dir", required=True, type=click.Path(), help="Folder of low-res images.")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(), help="Folder for the ×4 PNGs.")
@click.option("--batch-size", type=int, default=8, show_default=True, help="Images per forward pass.")
@device_option()
@click.pass_context
def command(ctx: click.Context, run: str, input_dir: str, out_dir: str, batch_size: int, device: str) -> None:
    """Upscale every image in --input ×4 with the SRGAN of RUN (a run directory or bundle) into --out.

    Files that are not images, cannot be decoded or are under 4 px a side are listed and skipped.
    """
    from ganapps.core.bundle import load_bundle

    if batch_size < 1:
        raise ConfigError("option --batch-size must be at least 1")
    app = load_bundle(run, device=device)
    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    written, skipped = upscale_folder(app, Path(input_dir), Path(out_dir), batch_size, progress=not quiet)
    for item in skipped:
        click.echo(f"skipped {item}", err=True)
    click.echo(f"upscaled {len(written)} images ×4 into {out_dir}" + (f"; skipped {len(skipped)}" if skipped else ""))
