"""``ganapps translate RUN --input DIR --out DIR``: translate a folder of images with a trained model."""

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

log = logging.getLogger("ganapps.translation")


def translate_folder(
    app: object,
    input_dir: Path,
    out_dir: Path,
    direction: str | None = None,
    batch_size: int = 8,
    keep_size: bool = False,
    progress: bool = True,
) -> tuple[list[Path], list[str]]:
    """Translate every image of ``input_dir`` into PNGs in ``out_dir``: (written, skipped "name (reason)")."""
    import torch  # here, not at module level: registering the command must not import torch

    from ganapps.core.images import image_png
    from ganapps.plugins.translation.data import IMAGE_SUFFIXES, files_in, read_image, resize, to_float

    translate = getattr(app, "translate", None)
    if not callable(translate):
        raise ConfigError(f"app {getattr(app, 'name', '?')} does not translate images (try pix2pix or cyclegan)")
    direction = app.check_direction(direction)  # type: ignore[attr-defined]
    if not input_dir.is_dir():
        raise DataError(f"option --input {input_dir}: not a folder")
    files = files_in(input_dir)
    stems = [p.stem for p in files]
    written: list[Path] = []
    skipped: list[str] = []
    pending: list[tuple[Path, torch.Tensor]] = []
    crop = app.crop  # type: ignore[attr-defined]

    def flush() -> None:
        if not pending:
            return
        batch = torch.stack([to_float(resize(im, crop)) for _, im in pending])
        outputs = translate(batch, direction)
        for (path, image), out in zip(pending, outputs, strict=True):
            pixels = ((out.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
            if keep_size:
                pixels = (
                    torch.nn.functional.interpolate(
                        pixels[None].float(), size=tuple(image.shape[-2:]), mode="bicubic", align_corners=False
                    )[0]
                    .clamp(0, 255)
                    .round()
                    .to(torch.uint8)
                )
            name = f"{path.stem}.png" if stems.count(path.stem) == 1 else f"{path.name}.png"
            written.append(write_bytes(out_dir / name, image_png(pixels)))
        pending.clear()

    for path in tqdm(files, desc=f"translate {direction}", unit="img", disable=not progress, dynamic_ncols=True):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append(f"{path.name} (not an image file)")
            continue
        try:
            pending.append((path, read_image(path)))
        except ValueError as exc:
            skipped.append(f"{path.name} (unreadable: {exc})")
            continue
        if len(pending) >= batch_size:
            flush()
    flush()
    if not written:
        raise DataError(f"option --input {input_dir}: no readable images ({len(skipped)} file(s) skipped)")
    return written, skipped


@click.command("translate")
@click.argument("run", type=click.Path())
@click.option("--input", "-i", "input_dir", required=True, type=click.Path(), help="Folder of images to translate.")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(), help="Folder for the translated PNGs.")
@click.option(
    "--direction",
    type=click.Choice(["AtoB", "BtoA"]),
    help="AtoB or BtoA (cyclegan does both; pix2pix only the direction it was trained for).",
)
@click.option("--batch-size", type=int, default=8, show_default=True, help="Images per forward pass.")
@click.option("--keep-size/--model-size", default=False, help="Resize outputs back to each input's size.")
@device_option()
@click.pass_context
def command(
    ctx: click.Context,
    run: str,
    input_dir: str,
    out_dir: str,
    direction: str | None,
    batch_size: int,
    keep_size: bool,
    device: str,
) -> None:
    """Translate every image in --input with the model of RUN (a run directory or bundle) into --out.

    Files that are not images, or cannot be decoded, are listed and skipped.
    """
    from ganapps.core.bundle import load_bundle

    if batch_size < 1:
        raise ConfigError("option --batch-size must be at least 1")
    app = load_bundle(run, device=device)
    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    written, skipped = translate_folder(
        app, Path(input_dir), Path(out_dir), direction, batch_size, keep_size, progress=not quiet
    )
    for item in skipped:
        click.echo(f"skipped {item}", err=True)
    click.echo(f"translated {len(written)} images into {out_dir}" + (f"; skipped {len(skipped)}" if skipped else ""))
