"""The ``dcgan`` and ``cgan`` apps: digits from noise, unconditional or class-conditional.

Training has two phases: a small digit classifier learns the real data first (it is the
app's offline judge: class accuracy of conditional samples and a Fréchet distance in its
feature space), then G and D play the DCGAN game.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core import losses as L
from ganapps.core.app import App, Diagnostic, Evaluation, OptimizerSpec, Phase, Step
from ganapps.core.data import TensorData, batched
from ganapps.core.devices import eval_mode
from ganapps.core.diagnostics import REMEDIES, diversity_ratio
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.images import grid_png
from ganapps.core.meanings import MetricMeaning
from ganapps.core.metrics import frechet_distance
from ganapps.core.regularizers import anneal, dcgan_init, gradient_penalty, instance_noise
from ganapps.core.report import figure_png, new_figure
from ganapps.plugins.dcgan import data as D
from ganapps.plugins.dcgan.data import Samples
from ganapps.plugins.dcgan.figures import real_vs_generated
from ganapps.plugins.dcgan.model import DigitClassifier, Discriminator, Generator
from ganapps.plugins.dcgan.options import DCGANOptions, GenerateOptions

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


class DCGAN(App):
    name = "dcgan"
    kind = "image"
    description = "DCGAN on digits: images from noise (Radford et al. 2016)"
    Options = DCGANOptions
    train_defaults = {"epochs": 5, "batch_size": 32}
    default_dataset = "mnist-sample"
    output_suffix = ".npz"
    monitor = ("frechet_distance", "min")
    metric_meanings = METRICS
    conditional = False

    # ---------------------------------------------------------------- data
    def load_data(self, source: Any) -> TensorData:
        return D.load_images(source, self.options.image_size, self.conditional, self.name)

    def fit(self, train: TensorData) -> None:
        images, labels = train.tensors
        n_classes = int(labels.max()) + 1 if self.conditional else 0
        if self.conditional and len(torch.unique(labels)) < 2:
            raise DataError("the training data hold a single class; cgan needs at least two")
        self.schema = {"channels": int(images.shape[1]), "n_classes": n_classes, "judge_classes": int(labels.max()) + 1}

    def dataset(self, train: TensorData) -> TensorData:
        return train

    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        return 1000

    # ------------------------------------------------------------ networks
    def build(self) -> dict[str, torch.nn.Module]:
        o, s = self.options, self.schema
        G = Generator(o.nz, o.ngf, s["channels"], o.image_size, s["n_classes"])
        D = Discriminator(
            o.ndf, s["channels"], o.image_size, s["n_classes"], norm="none" if o.loss == "wgan-gp" else "batch"
        )
        G.apply(dcgan_init)
        D.apply(dcgan_init)
        return {
            "generator": G,
            "discriminator": D,
            "classifier": DigitClassifier(s["channels"], o.image_size, s["judge_classes"]),
        }

    def configure_optimizers(self) -> list[OptimizerSpec]:
        betas = (0.0, 0.9) if self.options.loss == "wgan-gp" else (0.5, 0.999)
        return [
            OptimizerSpec("classifier", ("classifier",), lr=1e-3, betas=(0.9, 0.999)),
            OptimizerSpec("discriminator", ("discriminator",), lr=2e-4, betas=betas),
            OptimizerSpec("generator", ("generator",), lr=2e-4, betas=betas),
        ]

    def phases(self) -> list[Phase]:
        judge = Phase(
            "classifier", [Step("classifier", self.classifier_step, "classifier")], self.options.classifier_epochs
        )
        return [judge, *super().phases()]

    # --------------------------------------------------------------- steps
    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, self.options.nz, device=self.device, generator=generator)

    def _labels(self, batch_labels: Tensor) -> Tensor | None:
        return batch_labels if self.conditional else None

    def _noise_std(self) -> float:
        # instance noise is annealed linearly to 0 over the adversarial phase
        return anneal(self.options.instance_noise, self.progress.phase_step, self.progress.phase_steps)

    def classifier_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        images, labels = batch
        logits = self.nets.classifier(images)
        return {"loss": F.cross_entropy(logits, labels), "accuracy": (logits.argmax(1) == labels).float().mean()}

    def discriminator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        real, labels = batch
        y = self._labels(labels)
        fake = self.nets.generator(self.noise(len(real)), y).detach()
        std = self._noise_std()
        d_real = self.nets.discriminator(instance_noise(real, std), y)
        d_fake = self.nets.discriminator(instance_noise(fake, std), y)
        o = self.options
        if o.loss == "bce":
            loss = L.d_bce(d_real, d_fake, smoothing=o.label_smoothing)
        else:
            loss = L.LOSSES[o.loss][0](d_real, d_fake)
        if o.loss == "wgan-gp":
            loss = loss + o.gp_weight * gradient_penalty(lambda x: self.nets.discriminator(x, y), real, fake)
        # D(x) and D(G(z)) as probabilities for the probabilistic losses, raw scores otherwise
        squash = torch.sigmoid if o.loss == "bce" else (lambda t: t)
        return {"loss": loss, "d_real": squash(d_real).mean(), "d_fake": squash(d_fake).mean()}

    def generator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        real, labels = batch
        y = self._labels(labels)
        fake = self.nets.generator(self.noise(len(real)), y)
        d_fake = self.nets.discriminator(instance_noise(fake, self._noise_std()), y)
        return {"loss": L.LOSSES[self.options.loss][1](d_fake)}

    # ------------------------------------------------------------- outputs
    def generate(
        self, n: int, condition: Mapping[str, Any] | None = None, label: int | None = None, **_: Any
    ) -> Samples:
        """``n`` images; a cgan draws classes in equal shares unless ``label`` (or condition) fixes one."""
        if condition:
            unknown = set(condition) - {"label"}
            if unknown:
                raise ConfigError(f"--condition: {self.name} knows only 'label', not {sorted(unknown)[0]!r}")
            label = int(condition["label"])
        labels = None
        if self.conditional:
            k = self.schema["n_classes"]
            if label is not None and not 0 <= int(label) < k:
                raise ConfigError(f"option --label must be between 0 and {k - 1}, got {label}")
            labels = torch.full((n,), int(label)) if label is not None else torch.arange(n) % k
        elif label is not None:
            raise ConfigError(f"option --label needs the conditional app cgan; {self.name} is unconditional")
        G = self.nets.generator
        out = []
        with eval_mode(G):
            for a, b in batched(n, 500):
                y = labels[a:b].to(self.device) if labels is not None else None
                out.append(G(self.noise(b - a), y).float().cpu())
        return torch.cat(out), labels

    def save_samples(self, samples: Samples, path: Path) -> Path:
        return D.save_samples(samples, path)

    def load_samples(self, path: Path) -> Samples:
        return D.load_samples(path)

    # ---------------------------------------------------------- evaluation
    def _judge(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Classifier features and predicted classes, in batches, in eval mode."""
        clf = self.nets.classifier
        feats, preds = [], []
        with eval_mode(clf):
            for a, b in batched(len(images), 500):
                f = clf.features(images[a:b].to(self.device))
                feats.append(f.float().cpu())
                preds.append(clf.head(f).argmax(1).cpu())
        return torch.cat(feats), torch.cat(preds)

    def sample_vectors(self, samples: Any) -> Tensor:
        images = samples.tensors[0] if isinstance(samples, TensorData) else samples[0]
        return self._judge(images)[0]

    def evaluate(self, real: TensorData, synthetic: Samples, train: TensorData | None = None) -> Evaluation:
        x_real, y_real = real.tensors
        x_fake, y_fake = synthetic
        f_real, p_real = self._judge(x_real)
        f_fake, p_fake = self._judge(x_fake)
        k = self.schema["judge_classes"]
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
            m["frechet_distance_real_vs_real"] = frechet_distance(self._judge(x_train)[0], f_real)
            notes.append(
                "frechet_distance_real_vs_real compares real training digits with held-out ones: the floor to aim for."
            )
        shown = "rows: classes; " if y_fake is not None else ""
        figures = {
            f"held-out real digits | generated digits ({shown}first of each)": real_vs_generated(
                (x_real, y_real), synthetic, self.schema["n_classes"] or k
            ),
            "predicted classes": self._class_plot(hist, k),
        }
        return Evaluation(metrics=m, figures=figures, notes=notes)

    def _class_plot(self, hist: Tensor, k: int) -> bytes:
        fig, ax = new_figure(5, 2.8)
        ax.bar(range(k), hist.numpy(), color="#4a7ab0")
        ax.axhline(1.0 / k, color="grey", ls="--", lw=1, label="uniform")
        ax.set_xticks(range(k))
        ax.set_xlabel("class predicted by the judge")
        ax.set_ylabel("share of samples")
        ax.legend(fontsize=8)
        return figure_png(fig)

    def diagnose(self, real: TensorData, synthetic: Samples) -> list[Diagnostic]:
        _, preds = self._judge(synthetic[0])
        k = self.schema["judge_classes"]
        hist = torch.bincount(preds, minlength=k).float() / len(preds)
        top = float(hist.max())
        if not self.conditional and top > 0.5:
            return [
                Diagnostic(
                    "mode_collapse",
                    f"Mode collapse: {top:.0%} of generated digits look like class {int(hist.argmax())}.",
                    REMEDIES["mode_collapse"],
                )
            ]
        return []

    def epoch_figures(self, epoch: int) -> dict[str, bytes]:
        g = torch.Generator(device=self.device).manual_seed(self.train_config.seed + 12345)
        if self.conditional:
            k = self.schema["n_classes"]
            labels = torch.arange(k, device=self.device).repeat_interleave(8)
            images = self.nets.generator(self.noise(len(labels), g), labels)
            return {"samples": grid_png(images.float(), nrow=8, scale=2)}
        images = self.nets.generator(self.noise(64, g))
        return {"samples": grid_png(images.float(), nrow=8, scale=2)}


class CGAN(DCGAN):
    name = "cgan"
    description = "Class-conditional DCGAN on digits: `generate --label 3` draws threes (Mirza & Osindero 2014)"
    GenerateOptions = GenerateOptions
    conditional = True

    def next_commands(self, run: str, data: str | None) -> list[tuple[str, str]]:
        return [
            *super().next_commands(run, data),
            (f"ganapps generate {run} -n 64 --label 3 --out threes.png", "64 threes as one image grid"),
        ]
