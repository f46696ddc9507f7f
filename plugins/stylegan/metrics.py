"""The stylegan app's evaluation and what each metric means.

Labelled digits: the digit apps' judge (a small classifier trained on the real training split first)
reads the samples — the Fréchet distance in its feature space, class entropy and coverage (mode
coverage: the classes it reads), diversity (:func:`ganapps.core.judge.evaluate`) — plus
improved precision and recall (Kynkäänniemi et al. 2019, k = 3) in the same feature space.

Photos (or unlabelled digits) have no judge: the same distances are measured in the features of a
fixed, seeded random conv net (srgan's φ, never trained), mean- and std-pooled over pixels. Such a
space sees colour and texture statistics, not objects; the report says so.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core import judge as J
from ganapps.core.app import Evaluation
from ganapps.core.data import TensorData, batched
from ganapps.core.images import Samples, grid_png
from ganapps.core.judge import DigitClassifier
from ganapps.core.meanings import MetricMeaning
from ganapps.core.metrics import frechet_distance, precision_recall
from ganapps.core.nn import RandomFeatures

K_NEAREST = 3

METRICS = {
    **J.METRICS,
    "frechet_distance": MetricMeaning(
        "Fréchet distance between generated and held-out real images in the judge's feature space (digits), or in "
        "a fixed random conv net's (photos; see the notes); an offline stand-in for FID, not comparable with it",
        "lower",
        "frechet_distance_real_vs_real",
        "real vs real",
    ),
    "precision": MetricMeaning(
        "improved precision (k = 3): share of generated samples inside the real samples' k-NN manifold in "
        "the feature space (quality)",
        "higher",
        "precision_real_vs_real",
        "real vs real",
    ),
    "recall": MetricMeaning(
        "improved recall (k = 3): share of held-out real samples inside the generated samples' k-NN manifold "
        "(how much of the real data the generator covers)",
        "higher",
        "recall_real_vs_real",
        "real vs real",
    ),
    "precision_real_vs_real": MetricMeaning("precision of real training samples against held-out ones: the ceiling"),
    "recall_real_vs_real": MetricMeaning("recall of real training samples against held-out ones: the ceiling"),
}


def random_features(images: Tensor, device: torch.device) -> Tensor:
    """Mean- and std-pooled features of a fixed random conv net (srgan's φ) at ≤ 32 px: (N, 128)."""
    phi = RandomFeatures((images.shape[1], 32, 32, 64)).to(device)
    out = []
    with torch.no_grad():
        for a, b in batched(len(images), 256):
            x = images[a:b].to(device).float()
            if x.shape[-1] > 32:
                x = F.interpolate(x, size=(32, 32), mode="area")
            f = phi(x).flatten(2)
            out.append(torch.cat([f.mean(2), f.std(2)], 1).cpu())
    return torch.cat(out)


def _pr(real: Tensor, fake: Tensor, train: Tensor | None) -> dict[str, float]:
    n = min(len(real), len(fake))
    m = precision_recall(real[:n], fake[:n], K_NEAREST) if n > K_NEAREST else {}
    if train is not None and min(n, len(train)) > K_NEAREST:
        floor = precision_recall(real[:n], train[:n], K_NEAREST)
        m.update({f"{k}_real_vs_real": v for k, v in floor.items()})
    return m


def evaluate_judged(
    classifier: DigitClassifier, real: TensorData, synthetic: Samples, train: TensorData | None, classes: int
) -> Evaluation:
    """Labelled digits: the digit apps' evaluation, plus precision/recall in the judge's feature space."""
    device = next(classifier.parameters()).device
    ev = J.evaluate(classifier, real, synthetic, train, classes, 0, device)
    f_real = J.judge(classifier, real.tensors[0], device)[0]
    f_fake = J.judge(classifier, synthetic[0], device)[0]
    f_train = J.judge(classifier, train.tensors[0], device)[0] if train is not None else None
    ev.metrics.update(_pr(f_real, f_fake, f_train))
    ev.notes.append("precision/recall: k-NN manifolds (k = 3) in the judge's feature space, equal sample counts.")
    return ev


def evaluate_unjudged(
    real: TensorData, synthetic: Samples, train: TensorData | None, device: torch.device
) -> Evaluation:
    """Photos: Fréchet distance and precision/recall in a fixed random feature space, and the samples."""
    x_real, x_fake = real.tensors[0], synthetic[0]
    f_real, f_fake = random_features(x_real, device), random_features(x_fake, device)
    f_train = random_features(train.tensors[0], device) if train is not None else None
    m: dict[str, Any] = {"frechet_distance": frechet_distance(f_fake, f_real), "held_out_images": len(x_real)}
    if f_train is not None and len(f_train) >= 2:
        m["frechet_distance_real_vs_real"] = frechet_distance(f_train, f_real)
    m.update(_pr(f_real, f_fake, f_train))
    notes = [
        "No judge for these images: frechet_distance, precision and recall are measured in the mean/std-pooled "
        "features of a fixed random conv net (never trained). It compares colour and texture statistics, not "
        "the objects; with few held-out images (here "
        f"{len(x_real)}) its values are noisy: read the sample grids.",
    ]
    n = min(32, len(x_fake))
    figures = {
        "held-out real images": grid_png(x_real[:n], nrow=8, scale=2),
        "generated images": grid_png(x_fake[:n], nrow=8, scale=2),
    }
    return Evaluation(metrics=m, figures=figures, notes=notes)


def meanings() -> dict[str, MetricMeaning]:
    return {**METRICS, "held_out_images": MetricMeaning("held-out real images the distances are measured against")}
