"""The digit apps' evaluation: what their judge reads in generated digits, and what each metric means.

The judge is the app's own digit classifier, trained on the real training split in the first
phase. :func:`evaluate` (the app's ``evaluate``) measures a Fréchet distance in the judge's
feature space (held-out real vs generated digits, and real training vs held-out ones as the
floor), the judge's accuracy on real digits, the classes it reads in generated digits (entropy,
coverage and, for a cgan, whether they are the classes asked for) and their diversity;
:func:`diagnose` flags mode collapse.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ganapps.core.app import Diagnostic, Evaluation
from ganapps.core.data import TensorData, batched
from ganapps.core.devices import eval_mode
from ganapps.core.diagnostics import REMEDIES, diversity_ratio
from ganapps.core.meanings import MetricMeaning
from ganapps.core.metrics import frechet_distance
from ganapps.plugins.dcgan.data import Samples
from ganapps.plugins.dcgan.figures import class_plot, real_vs_generated
from ganapps.plugins.dcgan.model import DigitClassifier

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
