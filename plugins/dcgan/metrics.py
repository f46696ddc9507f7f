"""The digit apps' evaluation: their judge (:mod:`ganapps.core.judge`, a digit classifier trained on the
real training split in the first phase) reads the generated digits.

What is measured and what each metric means is the judge's (``METRICS``): a Fréchet distance in its
feature space with the real-vs-real floor, its accuracy on real digits, the classes it reads in
generated digits and their diversity; a ``cgan`` adds whether each digit reads as the class asked for.
"""

from __future__ import annotations

import torch

from ganapps.core import judge as J
from ganapps.core.app import Diagnostic, Evaluation
from ganapps.core.data import TensorData
from ganapps.core.images import Samples

METRICS = J.METRICS


def evaluate(
    classifier: J.DigitClassifier,
    real: TensorData,
    synthetic: Samples,
    train: TensorData | None,
    schema: dict,
    device: torch.device,
) -> Evaluation:
    """Held-out ``real`` digits against ``synthetic`` ones, read by the judge over its classes (a cgan's
    samples also against the classes they were generated for)."""
    return J.evaluate(classifier, real, synthetic, train, schema["judge_classes"], schema["n_classes"], device)


def diagnose(classifier: J.DigitClassifier, synthetic: Samples, schema: dict, device: torch.device) -> list[Diagnostic]:
    """Mode collapse of an unconditional generator (a cgan draws the classes it is asked for)."""
    return J.diagnose(classifier, synthetic, schema["judge_classes"], bool(schema["n_classes"]), device)
