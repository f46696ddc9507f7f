"""The ``dcgan`` and ``cgan`` apps: digits from noise, unconditional or class-conditional.

Training has two phases: a small digit classifier learns the real data first (it is the
app's offline judge: class accuracy of conditional samples and a Fréchet distance in its
feature space), then G and D play the DCGAN game.

Where to read what: the networks are in :mod:`.model`, the digit files and the sample files in
:mod:`.data`, the evaluation in :mod:`.metrics` (the judge, what each metric means and the report's
figures are :mod:`ganapps.core.judge`'s, shared with ``stylegan``), the options in :mod:`.options`.
This module is the glue.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core import judge as J
from ganapps.core import losses as L
from ganapps.core.app import App, Diagnostic, Evaluation, OptimizerSpec, Phase, Step
from ganapps.core.data import TensorData, batched
from ganapps.core.devices import eval_mode
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.images import Samples, grid_png, save_samples
from ganapps.core.judge import DigitClassifier
from ganapps.core.regularizers import anneal, dcgan_init, gradient_penalty, instance_noise
from ganapps.core.unroll import Unroll
from ganapps.datasets.digits import load_samples
from ganapps.plugins.dcgan import data as D
from ganapps.plugins.dcgan import metrics as M
from ganapps.plugins.dcgan.model import Discriminator, Generator
from ganapps.plugins.dcgan.options import DCGANOptions, GenerateOptions


class DCGAN(App):
    name = "dcgan"
    kind = "image"
    description = "DCGAN on digits: images from noise (Radford et al. 2016)"
    Options = DCGANOptions
    train_defaults = {"epochs": 5, "batch_size": 32}
    default_dataset = "mnist-sample"
    output_suffix = ".npz"
    monitor = ("frechet_distance", "min")
    metric_meanings = M.METRICS
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

    def fakes(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """G(z, y) for one batch, not detached (the unrolled step differentiates through it)."""
        return self.nets.generator(self.noise(len(batch[0])), self._labels(batch[1]))

    def discriminator_loss(self, batch: tuple[Tensor, Tensor], fake: Tensor) -> dict[str, Tensor]:
        """D's losses on a real batch and the given fakes (detached by the plain step, not by --unroll)."""
        real, labels = batch
        y = self._labels(labels)
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

    def generator_loss(self, batch: tuple[Tensor, Tensor], fake: Tensor) -> dict[str, Tensor]:
        """G's loss on the given fakes."""
        d_fake = self.nets.discriminator(instance_noise(fake, self._noise_std()), self._labels(batch[1]))
        return {"loss": L.LOSSES[self.options.loss][1](d_fake)}

    def discriminator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        return self.discriminator_loss(batch, self.fakes(batch).detach())

    def generator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        return self.generator_loss(batch, self.fakes(batch))

    def unrolled(self) -> Unroll:
        """--unroll K: the generator step looks K discriminator updates ahead (docs/unrolled.md)."""
        return Unroll(self.fakes, lambda batch, fake: self.discriminator_loss(batch, fake)["loss"], self.generator_loss)

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
        return save_samples(samples, path)

    def load_samples(self, path: Path) -> Samples:
        return load_samples(path)

    # ---------------------------------------------------------- evaluation
    def sample_vectors(self, samples: Any) -> Tensor:
        images = samples.tensors[0] if isinstance(samples, TensorData) else samples[0]
        return J.judge(self.nets.classifier, images, self.device)[0]

    def evaluate(self, real: TensorData, synthetic: Samples, train: TensorData | None = None) -> Evaluation:
        return M.evaluate(self.nets.classifier, real, synthetic, train, self.schema, self.device)

    def diagnose(self, real: TensorData, synthetic: Samples) -> list[Diagnostic]:
        return M.diagnose(self.nets.classifier, synthetic, self.schema, self.device)

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
