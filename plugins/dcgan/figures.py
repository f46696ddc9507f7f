"""The digit apps' report figures: held-out real digits beside generated ones, a row per class, and
the classes the judge reads in generated digits."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ganapps.core.images import to_uint8
from ganapps.core.report import figure_png, new_figure

PER_ROW = 8


def _class_rows(images: Tensor, labels: Tensor, classes: int) -> Tensor:
    """``PER_ROW`` images of each class in turn, black tiles where a class has fewer."""
    blank = torch.full_like(images[:1], -1.0)
    rows = []
    for c in range(classes):
        picked = images[labels == c][:PER_ROW]
        rows.append(torch.cat([picked, blank.expand(PER_ROW - len(picked), *images.shape[1:])]))
    return torch.cat(rows)


def _mosaic(images: Tensor) -> np.ndarray:
    """Images (N, C, H, W) in [-1, 1], ``PER_ROW`` to a row, as one greyscale/RGB array with white gutters."""
    from torchvision.utils import make_grid

    grid = make_grid(to_uint8(images), nrow=PER_ROW, padding=2, pad_value=255).permute(1, 2, 0).numpy()
    return grid[:, :, 0] if images.shape[1] == 1 else grid


def real_vs_generated(real: tuple[Tensor, Tensor], fake: tuple[Tensor, Tensor | None], classes: int) -> bytes:
    """Held-out real digits (left) beside generated ones (right); with class labels (cgan) each row
    is one class, labelled, the real digits of that class beside those generated for it."""
    (x_real, y_real), (x_fake, y_fake) = real, fake
    if y_fake is not None:
        panels = [_class_rows(x_real, y_real, classes), _class_rows(x_fake, y_fake, classes)]
        titles = ["held-out real digits", "generated for the class of the row"]
    else:
        panels = [x_real[: PER_ROW * PER_ROW], x_fake[: PER_ROW * PER_ROW]]
        titles = ["held-out real digits", "generated digits"]
    rows = len(panels[0]) // PER_ROW
    fig, axes = new_figure(9, 0.42 * rows + 0.8, ncols=2)
    for ax, images, title in zip(axes, panels, titles, strict=True):
        arr = _mosaic(images)
        ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        pitch = images.shape[-2] + 2  # tile side and its gutter
        if y_fake is not None:
            ax.set_yticks([2 + pitch * (r + 0.5) for r in range(rows)], [str(r) for r in range(rows)], fontsize=9)
            ax.tick_params(axis="y", length=0)
        else:
            ax.set_yticks([])
    if y_fake is not None:
        axes[0].set_ylabel("class")
    return figure_png(fig)


def class_plot(hist: Tensor, k: int) -> bytes:
    """Bars of the share of generated digits the judge reads as each of its ``k`` classes, against uniform."""
    fig, ax = new_figure(5, 2.8)
    ax.bar(range(k), hist.numpy(), color="#4a7ab0")
    ax.axhline(1.0 / k, color="grey", ls="--", lw=1, label="uniform")
    ax.set_xticks(range(k))
    ax.set_xlabel("class predicted by the judge")
    ax.set_ylabel("share of samples")
    ax.legend(fontsize=8)
    return figure_png(fig)
