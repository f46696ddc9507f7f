"""``ganapps translate RUN --input DIR --out DIR``: translate a folder of images with a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ganapps.cli.options import device_option
from ganapps.core.errors import ConfigError

if TYPE_CHECKING:
    import torch


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

    from ganapps.core.images import map_folder, resize, to_float, to_uint8

    translate = getattr(app, "translate", None)
    if not callable(translate):
        raise ConfigError(f"app {getattr(app, 'name', '?')} does not translate images (try pix2pix or cyclegan)")
    direction = app.check_direction(direction)  # type: ignore[attr-defined]
    crop = app.crop  # type: ignore[attr-defined]

    def convert(images: list[torch.Tensor]) -> list[torch.Tensor]:
        outputs = to_uint8(translate(torch.stack([to_float(resize(im, crop)) for im in images]), direction))
        if not keep_size:
            return list(outputs)
        return [
            torch.nn.functional.interpolate(out[None].float(), size=tuple(im.shape[-2:]), mode="bicubic")[0]
            .clamp(0, 255)
            .round()
            .to(torch.uint8)
            for out, im in zip(outputs, images, strict=True)
        ]

    return map_folder(
        input_dir, out_dir, convert, batch_size=batch_size, desc=f"translate {direction}", progress=progress
    )


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
