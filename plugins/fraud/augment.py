"""``--augment``: a GAN oversampler of the fraud class and the supervised head it feeds.

After Fiore et al. 2019 ("Using generative adversarial networks for improving classification
effectiveness in credit card fraud detection", Information Sciences 479): a small GAN learns the
*fraud* rows of the training part, its samples enlarge the minority class, and a supervised
classifier is trained on normal rows + real frauds + synthetic frauds. To measure the effect
instead of assuming it, the same classifier is also trained without the synthetic frauds, on the
same rows, and both are scored on the same holdout.

This is the one place where the fraud app *trains on labels*, and only when ``--augment`` is
given: the unsupervised score, its threshold and the bundle's scoring path do not change; the
heads are reported in ``metrics.json`` (``augmented_head``) and not saved.

Everything happens in the app's standardised space (signed-log amounts, z-scores of normal
training rows), on the fit part of the training split only (the validation and holdout rows
are never seen).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganapps.core import losses as L
from ganapps.core.app import App, OptimizerSpec
from ganapps.core.config import TrainConfig
from ganapps.core.data import TensorData
from ganapps.core.errors import DataError
from ganapps.core.nn import mlp
from ganapps.core.trainer import Trainer
from ganapps.plugins.fraud import metrics as M

log = logging.getLogger("ganapps")

#: fewest real fraud rows the oversampler will learn from
MIN_FRAUDS = 5


@dataclass
class OversamplerOptions:
    noise_dim: int = 16
    hidden: int = 64


class FraudOversampler(App):
    """A vanilla GAN on the fraud rows (standardised space): G(z) → a synthetic fraud, D tells them apart."""

    name = "fraud-oversampler"
    kind = "internal"
    description = "GAN of the fraud class (used by fraud --augment; not a registered app)"
    Options = OversamplerOptions

    def __init__(self, width: int, options: OversamplerOptions | None = None) -> None:
        super().__init__(options)
        self.schema = {"width": width}

    def build(self) -> dict[str, torch.nn.Module]:
        o, d = self.options, self.schema["width"]
        return {
            "generator": mlp([o.noise_dim, o.hidden, o.hidden, d], activation="leaky_relu"),
            "discriminator": mlp([d, o.hidden, o.hidden, 1], activation="leaky_relu"),
        }

    def configure_optimizers(self) -> list[OptimizerSpec]:
        return [
            OptimizerSpec("discriminator", ("discriminator",), lr=2e-4, betas=(0.5, 0.999)),
            OptimizerSpec("generator", ("generator",), lr=2e-4, betas=(0.5, 0.999)),
        ]

    def _fake(self, n: int) -> Tensor:
        return self.nets.generator(torch.randn(n, self.options.noise_dim, device=self.device))

    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        """Real fraud rows against generated ones (binary cross-entropy)."""
        fake = self._fake(len(x)).detach()
        d_real, d_fake = self.nets.discriminator(x), self.nets.discriminator(fake)
        return {"loss": L.d_bce(d_real, d_fake), "d_real": torch.sigmoid(d_real).mean()}

    def generator_step(self, x: Tensor) -> dict[str, Tensor]:
        """Make D take generated rows for real frauds (non-saturating loss)."""
        return {"loss": L.g_nonsaturating(self.nets.discriminator(self._fake(len(x))))}

    def generate(self, n: int, condition: Any = None, **_: Any) -> Tensor:
        with torch.no_grad():
            return self._fake(n).double().cpu()


def oversample(
    frauds: np.ndarray, n: int, seed: int, epochs: int, batch_size: int = 64, device: str = "cpu"
) -> tuple[np.ndarray, dict[str, Any]]:
    """Train the oversampler on ``frauds`` (standardised rows) through the core Trainer; draw ``n`` rows."""
    if len(frauds) < MIN_FRAUDS:
        raise DataError(
            f"--augment: the training part holds {len(frauds)} fraud row(s); the oversampler needs at least "
            f"{MIN_FRAUDS}"
        )
    # the GAN sees the frauds z-scored by their own mean and spread (unit scale trains well), and
    # its samples are mapped back to the app's standardised space
    mean, scale = frauds.mean(0), frauds.std(0)
    scale = np.where(scale > 0, scale, 1.0)
    gan = FraudOversampler(frauds.shape[1])
    config = TrainConfig(epochs=epochs, batch_size=min(batch_size, len(frauds)), seed=seed, device=device)
    start = time.perf_counter()
    x = torch.as_tensor((frauds - mean) / scale, dtype=torch.float32)
    result = Trainer(gan, config, progress=False).fit(TensorData(x))
    gan.nets.eval()
    synthetic = gan.generate(n).numpy() * scale + mean if n else np.zeros((0, frauds.shape[1]))
    info = {
        "real_frauds": len(frauds),
        "synthetic_frauds": int(n),
        "gan_epochs": epochs,
        "gan_steps": result.steps,
        "gan_seconds": round(time.perf_counter() - start, 2),
    }
    return synthetic, info


def head_scores(x: np.ndarray, y: np.ndarray, test: np.ndarray) -> np.ndarray:
    """The supervised head: a logistic regression on standardised rows; its decision function on ``test``."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=5000).fit(x, y).decision_function(test).astype(np.float64)


def augmented_head(
    normal: np.ndarray,
    frauds: np.ndarray,
    test: np.ndarray,
    y_test: np.ndarray,
    subsets: list[np.ndarray],
    *,
    seed: int,
    epochs: int,
    samples: int = 0,
    device: str = "cpu",
) -> dict[str, Any]:
    """Metrics of the head trained with and without GAN-made frauds, on the same rows and holdout.

    ``normal``/``frauds``: standardised fit-part rows; ``samples`` synthetic frauds (0: as many
    as make the fraud class as large as the normal one).
    """
    n = samples if samples > 0 else max(0, len(normal) - len(frauds))
    synthetic, info = oversample(frauds, n, seed, epochs, device=device)
    ones = np.ones
    x_plain = np.concatenate([normal, frauds])
    y_plain = np.concatenate([np.zeros(len(normal)), ones(len(frauds))])
    x_aug = np.concatenate([x_plain, synthetic])
    y_aug = np.concatenate([y_plain, ones(len(synthetic))])
    out: dict[str, Any] = dict(info)
    for name, (x, y) in {"without_synthetic": (x_plain, y_plain), "with_synthetic": (x_aug, y_aug)}.items():
        s = head_scores(x, y, test)
        out[name] = {**M.ranking(y_test, s), "at_0_5pct_share": M.ranking_at_share(y_test, s, subsets)}
    for k in ("roc_auc", "pr_auc", "recall_at_1pct_fpr"):
        out[f"{k}_gain"] = out["with_synthetic"][k] - out["without_synthetic"][k]
    return out
