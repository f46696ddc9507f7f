"""``ganapps upscale RUN --input DIR --out DIR``: ×4 super-resolution of a folder of images."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ganapps.cli.options import device_option
from ganapps.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

#: smallest LR side upscaled (the generator's 9×9 convolutions need a few pixels)
MIN_SIDE = 4


def upscale_folder(
    app: object, input_dir: Path, out_dir: Path, batch_size: int = 8, progress: bool = True
) -> tuple[list[Path], list[str]]:
    """Upscale every image of ``input_dir`` ×4 into PNGs in ``out_dir``: (written, skipped "name (reason)").

    Images go through the generator at their own size; consecutive images of one size share a batch.
    """
    import torch  # here, not at module level: registering the command must not import torch

    from ganapps.core.images import map_folder, to_float, to_uint8

    upscale = getattr(app, "upscale", None)
    if not callable(upscale):
        raise ConfigError(f"app {getattr(app, 'name', '?')} does not upscale images (train an srgan run)")

    def check(image: torch.Tensor) -> str:
        h, w = image.shape[-2:]
        return f"too small: {w}×{h}, at least {MIN_SIDE} px a side" if min(h, w) < MIN_SIDE else ""

    def convert(images: list[torch.Tensor]) -> list[torch.Tensor]:
        return list(to_uint8(upscale(torch.stack([to_float(im) for im in images]), batch_size)))

    return map_folder(
        input_dir,
        out_dir,
        convert,
        batch_size=batch_size,
        desc="upscale ×4",
        progress=progress,
        check=check,
        same_size=True,
    )


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
