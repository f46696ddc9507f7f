"""The class judge of labelled-image apps (``dcgan``, ``cgan``, ``stylegan``), and what it reads in samples.

The judge is a small CNN classifier the app trains on the real training images in a first phase
(an offline stand-in for Inception, which FID needs and we never download). :func:`evaluate`
measures a Fréchet distance in its feature space (held-out real vs generated images, and real
training vs held-out ones as the floor), its accuracy on real images, the classes it reads in
generated ones (entropy, coverage and, for a conditional generator, whether they are the classes
asked for) and their diversity, with the report's figures; :func:`diagnose` flags mode collapse.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ganapps.core.app import Diagnostic, Evaluation
from ganapps.core.data import TensorData, batched
from ganapps.core.devices import eval_mode
from ganapps.core.diagnostics import REMEDIES, diversity_ratio
from ganapps.core.images import Samples, to_uint8
from ganapps.core.meanings import MetricMeaning
from ganapps.core.metrics import frechet_distance
from ganapps.core.report import figure_png, new_figure


# ------------------------------------------------------------------------------- the judge
class DigitClassifier(nn.Module):
    """A small CNN judge trained on the real digits; its penultimate layer is the feature space
    of the app's Fréchet distance (an offline stand-in for FID, which needs Inception weights)."""

    def __init__(self, channels: int, image_size: int, n_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        self.features_net = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.ReLU(True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, width * 2, 3, padding=1),
            nn.ReLU(True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(width * 2 * (image_size // 4) ** 2, 128),
            nn.ReLU(True),
        )
        self.head = nn.Linear(128, n_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.features_net(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


# ------------------------------------------------------------------------------- metrics
#: what evaluate()'s metrics mean (the report's metrics table)
METRICS = {
    "frechet_distance": MetricMeaning(
        "Fréchet distance between generated and held-out real digits in the judge's feature space (an offline "
        "stand-in for FID, not comparable with published FIDs)",
        "lower",
        "frechet_distance_real_vs_real",
        "real vs real",
    ),
    "frechet_distance_real_vs_real": MetricMeaning(
        "the same distance between real training digits and held-out ones: the floor a generator can reach"
    ),
    "judge_accuracy_real": MetricMeaning(
        "share of held-out real digits the judge classifies correctly: how far its readings can be trusted",
        "higher",
        "chance_accuracy",
        "chance",
    ),
    "class_accuracy": MetricMeaning(
        "share of generated digits the judge reads as the class they were generated for",
        "higher",
        "judge_accuracy_real",
        "judge on real digits",
    ),
    "chance_accuracy": MetricMeaning("the class accuracy of guessing: 1 / number of classes"),
    "class_entropy": MetricMeaning(
        "entropy of the classes the judge reads in generated digits, over its maximum (1 = every class equally often)",
        "higher",
        1.0,
        "maximum",
    ),
    "class_coverage": MetricMeaning(
        "share of classes that make up at least 2% of the generated digits (1 = no class missing)",
        "higher",
        1.0,
        "maximum",
    ),
    "diversity_ratio": MetricMeaning(
        "mean pairwise distance of generated digits in judge features over that of real ones (≪1: mode collapse)",
        None,
        1.0,
        "as diverse as real",
    ),
}


def judge(classifier: DigitClassifier, images: Tensor, device: torch.device) -> tuple[Tensor, Tensor]:
    """Classifier features and predicted classes, in batches, in eval mode."""
    feats, preds = [], []
    with eval_mode(classifier):
        for a, b in batched(len(images), 500):
            f = classifier.features(images[a:b].to(device))
            feats.append(f.float().cpu())
            preds.append(classifier.head(f).argmax(1).cpu())
    return torch.cat(feats), torch.cat(preds)


def evaluate(
    classifier: DigitClassifier,
    real: TensorData,
    synthetic: Samples,
    train: TensorData | None,
    judge_classes: int,
    n_classes: int,
    device: torch.device,
) -> Evaluation:
    """Held-out ``real`` digits against ``synthetic`` ones, read by the judge ``classifier`` over
    ``judge_classes`` classes (``n_classes``: the generator's, 0 when unconditional)."""
    x_real, y_real = real.tensors
    x_fake, y_fake = synthetic
    f_real, p_real = judge(classifier, x_real, device)
    f_fake, p_fake = judge(classifier, x_fake, device)
    k = judge_classes
    hist = torch.bincount(p_fake, minlength=k).float() / len(p_fake)
    entropy = float(-(hist[hist > 0] * hist[hist > 0].log()).sum() / math.log(k))
    m: dict[str, Any] = {
        "frechet_distance": frechet_distance(f_fake, f_real),
        "judge_accuracy_real": float((p_real == y_real).float().mean()),
        "class_entropy": entropy,
        "class_coverage": float((hist >= 0.02).float().mean()),
        "diversity_ratio": diversity_ratio(f_real, f_fake),
    }
    if y_fake is not None:
        m["class_accuracy"] = float((p_fake == y_fake).float().mean())
    m["chance_accuracy"] = 1.0 / k
    notes = [
        "frechet_distance is measured in the feature space of the app's own digit classifier trained on the "
        "real training split (an offline stand-in for FID, not comparable with published FID values)."
    ]
    if train is not None and len(train) >= 2:
        x_train = train.tensors[0][: len(x_real)]
        m["frechet_distance_real_vs_real"] = frechet_distance(judge(classifier, x_train, device)[0], f_real)
        notes.append(
            "frechet_distance_real_vs_real compares real training digits with held-out ones: the floor to aim for."
        )
    shown = "rows: classes; " if y_fake is not None else ""
    figures = {
        f"held-out real digits | generated digits ({shown}first of each)": real_vs_generated(
            (x_real, y_real), synthetic, n_classes or k
        ),
        "predicted classes": class_plot(hist, k),
    }
    return Evaluation(metrics=m, figures=figures, notes=notes)


def diagnose(
    classifier: DigitClassifier, synthetic: Samples, judge_classes: int, conditional: bool, device: torch.device
) -> list[Diagnostic]:
    """Mode collapse of an unconditional generator: over half its digits read as one class."""
    _, preds = judge(classifier, synthetic[0], device)
    k = judge_classes
    hist = torch.bincount(preds, minlength=k).float() / len(preds)
    top = float(hist.max())
    if not conditional and top > 0.5:
        return [
            Diagnostic(
                "mode_collapse",
                f"Mode collapse: {top:.0%} of generated digits look like class {int(hist.argmax())}.",
                REMEDIES["mode_collapse"],
            )
        ]
    return []


# ------------------------------------------------------------------------------- figures
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
