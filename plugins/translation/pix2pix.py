"""pix2pix (Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional Adversarial
Networks", CVPR 2017): paired image-to-image translation.

A U-Net generator G maps an input image x to an output G(x); a 70×70 PatchGAN D sees the input
together with an output (real y or fake G(x)) and classifies every patch. The objective is

    G* = arg min_G max_D  L_cGAN(G, D) + λ · E[‖y − G(x)‖₁],   λ = 100,

the L1 term getting the low frequencies right and the patch discriminator the high ones. Dropout
in the generator is its only noise. D's loss is halved, as in the paper, to slow D relative to G.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganapps.core import losses as L
from ganapps.core.app import Evaluation, OptimizerSpec
from ganapps.core.data import TensorData
from ganapps.plugins.translation.common import Samples, TranslationApp, TranslationOptions, Translations
from ganapps.plugins.translation.data import PairedJitter, load_paired
from ganapps.plugins.translation.metrics import paired_metrics
from ganapps.plugins.translation.networks import PatchDiscriminator, UnetGenerator, init_weights, unet_depth


@dataclass
class Pix2PixOptions(TranslationOptions):
    direction: Literal["AtoB", "BtoA"] = field(
        default="AtoB", metadata={"help": "Translate A→B or B→A (facades: BtoA is labels → photos)."}
    )
    lambda_l1: float = field(default=100.0, metadata={"help": "Weight λ of the L1 term."})
    norm: Literal["batch", "instance"] = field(default="batch", metadata={"help": "Normalisation layers."})


class Pix2Pix(TranslationApp):
    name = "pix2pix"
    description = "pix2pix: paired image-to-image translation, U-Net + PatchGAN (Isola et al. 2017)"
    Options = Pix2PixOptions
    default_dataset = "facades-pix2pix-sample"
    monitor = ("l1", "min")

    @property
    def directions(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.options.direction,)

    # ---------------------------------------------------------------- data
    def load_data(self, source: Any) -> TensorData:
        self.check_options()
        a, b, layout = load_paired(Path(source), self.load)
        self.schema["layout"] = layout
        return TensorData(a, b)

    def holdout_inputs(self, held: TensorData) -> dict[str, Tensor]:
        a, b = held.tensors
        x = a if self.options.direction == "AtoB" else b
        return {self.options.direction: self._resized(x)}

    def _targets(self, held: TensorData) -> Tensor:
        a, b = held.tensors
        return self._resized(b if self.options.direction == "AtoB" else a)

    def target_images(self, real: Any) -> Tensor | None:
        return self._targets(real)

    def fit(self, train: TensorData) -> None:
        self.schema = {"channels": 3, "layout": self.schema.get("layout", "")}
        self.keep_examples(train)
        held = self._holdout if self._holdout is not None and len(self._holdout) else train
        self.tensors["examples_targets"] = ((self._targets(held)[:8] + 1) * 127.5).round().to(torch.uint8)

    def dataset(self, train: TensorData) -> PairedJitter:
        a, b = train.tensors
        return PairedJitter(a, b, self.crop, flip=not self.options.no_flip)

    # ------------------------------------------------------------ networks
    def build(self) -> dict[str, nn.Module]:
        self.check_options()
        o = self.options
        G = UnetGenerator(3, 3, unet_depth(o.crop_size), o.ngf, o.norm)
        D = PatchDiscriminator(3 + 3, o.ndf, n_layers=3, norm=o.norm)  # D sees (input, output) stacked
        G.apply(init_weights)
        D.apply(init_weights)
        return {"generator": G, "discriminator": D}

    def generator_for(self, direction: str, nets: Mapping[str, nn.Module] | None = None) -> nn.Module:
        return (nets or self.nets)["generator"]

    def configure_optimizers(self) -> list[OptimizerSpec]:
        return [self.optimizer("generator", ("generator",)), self.optimizer("discriminator", ("discriminator",))]

    # --------------------------------------------------------------- steps
    def _xy(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        a, b = batch
        return (a, b) if self.options.direction == "AtoB" else (b, a)

    def generator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        x, y = self._xy(batch)
        fake = self.nets.generator(x)
        d_fake = self.nets.discriminator(torch.cat([x, fake], 1))
        adversarial = L.g_nonsaturating(d_fake)  # −log D(x, G(x))
        l1 = F.l1_loss(fake, y)
        self._fake = (batch, fake.detach())  # D's step reuses this batch's fake
        return {"loss": adversarial + self.options.lambda_l1 * l1, "adversarial": adversarial, "l1": l1}

    def discriminator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        x, y = self._xy(batch)
        cached = getattr(self, "_fake", None)
        fake = cached[1] if cached is not None and cached[0] is batch else self.nets.generator(x).detach()
        d_real = self.nets.discriminator(torch.cat([x, y], 1))
        d_fake = self.nets.discriminator(torch.cat([x, fake], 1))
        loss = 0.5 * L.d_bce(d_real, d_fake)  # halved, as in the paper
        return {"loss": loss, "d_real": torch.sigmoid(d_real).mean(), "d_fake": torch.sigmoid(d_fake).mean()}

    # ------------------------------------------------------------- outputs
    def translations(self, direction: str, inputs: Tensor, targets: Tensor | None = None) -> Translations:
        if targets is None and self._holdout is not None and len(self._holdout):
            targets = self._targets(self._holdout)[: len(inputs)]
        return Translations(inputs, self.translate(inputs, direction), targets)

    def figure_row(self, direction: str, inputs: Tensor) -> Translations:
        from ganapps.plugins.translation.data import to_float

        return Translations(inputs.cpu(), self.translate(inputs, direction), to_float(self.tensors["examples_targets"]))

    def evaluate(self, real: TensorData, synthetic: Samples, train: TensorData | None = None) -> Evaluation:
        d = self.options.direction
        if len(real) == 0:
            return Evaluation(notes=["no held-out pairs to evaluate on (--holdout 0)"])
        t = synthetic[d]
        n = min(len(t.outputs), len(real))
        targets = self._targets(real)[:n]
        inputs = self.holdout_inputs(real)[d][:n]
        untrained = self.translate(inputs, d, nets=self.untrained_generators())
        m: dict[str, Any] = {"direction": d, "held_out_pairs": n}
        m.update(paired_metrics(t.outputs[:n], targets))
        m.update({f"{k}_untrained": v for k, v in paired_metrics(untrained, targets).items()})
        ext = self.extractor()
        notes = [
            f"l1 (mean absolute error, pixels in [0, 1]), psnr (dB) and ssim compare the {n} held-out outputs with "
            "their targets; *_untrained are the same metrics for the freshly initialised generator (the baseline).",
            ext.note,
        ]
        if n >= 2:
            m.update(ext.distances(t.outputs[:n], targets, self.device))
            m.update({f"{k}_untrained": v for k, v in ext.distances(untrained, targets, self.device).items()})
            if train is not None and len(train) >= 2:
                floor = ext.distances(self._targets(train)[: max(n, 2)], targets, self.device)
                m.update({f"{k}_real_vs_real": v for k, v in floor.items()})
                notes.append(f"{ext.fd}_real_vs_real compares real training targets with held-out ones: the floor.")
        shown = {d: Translations(inputs[:8], t.outputs[:8], targets[:8])}
        untrained_row = {d: Translations(inputs[:8], untrained[:8], targets[:8])}
        figures = {
            "held-out input | output | target": self.triplet_grid(shown, scale=max(1, 128 // self.crop)),
            "untrained generator: input | output | target": self.triplet_grid(untrained_row),
        }
        return Evaluation(metrics=m, figures=figures, notes=notes)
