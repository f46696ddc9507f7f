"""CycleGAN (Zhu, Park, Isola & Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV 2017): translation between two domains from unpaired images.

Two generators G: A → B and F: B → A, two PatchGAN discriminators D_B (real B vs G(a)) and
D_A (real A vs F(b)). The full objective, with least-squares adversarial losses, is

    L = L_GAN(G, D_B) + L_GAN(F, D_A) + λ·(‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁)
        + 0.5·λ·(‖G(b) − b‖₁ + ‖F(a) − a‖₁),        λ = 10,

the last (identity) term keeping colours when the input already belongs to the output domain.
The discriminators are updated on a history of 50 generated images rather than only the latest
ones, and both learning rates decay linearly to zero over the second half of training.
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
from ganapps.core.errors import ConfigError
from ganapps.plugins.translation.common import Samples, TranslationApp, TranslationOptions, Translations
from ganapps.plugins.translation.data import Unpaired, UnpairedJitter, load_unpaired
from ganapps.plugins.translation.metrics import l1
from ganapps.plugins.translation.networks import PatchDiscriminator, ResnetGenerator, init_weights


@dataclass
class CycleGANOptions(TranslationOptions):
    lambda_cycle: float = field(default=10.0, metadata={"help": "Weight λ of the cycle-consistency losses."})
    lambda_identity: float = field(
        default=0.5, metadata={"help": "Identity loss weight, as a multiple of λ (0 = off)."}
    )
    pool_size: int = field(default=50, metadata={"help": "Generated images kept in each discriminator's history."})
    n_blocks: int = field(default=0, metadata={"help": "Residual blocks of the generators (0 = 9 at ≥256 px, else 6)."})
    norm: Literal["batch", "instance"] = field(default="instance", metadata={"help": "Normalisation layers."})


class ImagePool:
    """Shrivastava et al.'s history buffer: once full, each new image is, with probability ½, swapped
    for a random older one, so D also sees what G made a while ago."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[Tensor] = []

    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(0, self.size, ()))
                out.append(self.images[i])
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)


class CycleGAN(TranslationApp):
    name = "cyclegan"
    description = "CycleGAN: unpaired image-to-image translation in both directions (Zhu et al. 2017)"
    Options = CycleGANOptions
    default_dataset = "facades-cyclegan-sample"
    directions = ("AtoB", "BtoA")
    ema_networks = ("gen_ab", "gen_ba")
    sides = ("generators", "discriminators")
    monitor = None

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.pools = {"A": ImagePool(self.options.pool_size), "B": ImagePool(self.options.pool_size)}

    # ---------------------------------------------------------------- data
    def load_data(self, source: Any) -> Unpaired:
        self.check_options()
        return load_unpaired(Path(source), self.load)

    def check_options(self) -> None:
        super().check_options()
        if self.options.pool_size < 0 or self.options.n_blocks < 0:
            raise ConfigError("options --pool-size and --n-blocks must be at least 0")

    def split(self, data: Unpaired, holdout: float, seed: int) -> tuple[Unpaired, Unpaired]:
        train, held = data.split(holdout, seed)
        self._holdout = held
        return train, held

    def training_state(self) -> dict[str, Any]:
        """The image pools: checkpointed so a resumed run continues exactly."""
        return {f"pool_{k}": torch.stack(p.images) if p.images else torch.empty(0) for k, p in self.pools.items()}

    def load_training_state(self, state: dict[str, Any]) -> None:
        for k, pool in self.pools.items():
            stored = state.get(f"pool_{k}")
            pool.images = [t.to(self.device) for t in stored] if stored is not None and stored.numel() else []

    def holdout_inputs(self, held: Unpaired) -> dict[str, Tensor]:
        return {"AtoB": self._resized(held.a), "BtoA": self._resized(held.b)}

    def target_images(self, real: Unpaired) -> Tensor | None:
        return self._resized(real.b)

    def fit(self, train: Unpaired) -> None:
        self.schema = {"channels": 3, "images": {"A": len(train.a), "B": len(train.b)}}
        self.keep_examples(train)

    def dataset(self, train: Unpaired) -> UnpairedJitter:
        return UnpairedJitter(train, self.crop, flip=not self.options.no_flip)

    # ------------------------------------------------------------ networks
    def build(self) -> dict[str, nn.Module]:
        self.check_options()
        o = self.options
        blocks = o.n_blocks or (9 if o.crop_size >= 256 else 6)
        nets = {
            "gen_ab": ResnetGenerator(3, 3, o.ngf, o.norm, blocks),  # G: A → B
            "gen_ba": ResnetGenerator(3, 3, o.ngf, o.norm, blocks),  # F: B → A
            "disc_a": PatchDiscriminator(3, o.ndf, 3, o.norm),  # D_A: real A vs F(b)
            "disc_b": PatchDiscriminator(3, o.ndf, 3, o.norm),  # D_B: real B vs G(a)
        }
        for net in nets.values():
            net.apply(init_weights)
        return nets

    def generator_for(self, direction: str, nets: Mapping[str, nn.Module] | None = None) -> nn.Module:
        return (nets or self.nets)["gen_ab" if direction == "AtoB" else "gen_ba"]

    def configure_optimizers(self) -> list[OptimizerSpec]:
        # one optimizer over both generators, one over both discriminators, as in the reference code
        return [
            self.optimizer("generators", ("gen_ab", "gen_ba")),
            self.optimizer("discriminators", ("disc_a", "disc_b")),
        ]

    # --------------------------------------------------------------- steps
    def generator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        real_a, real_b = batch
        n = self.nets
        lam, lam_idt = self.options.lambda_cycle, self.options.lambda_identity * self.options.lambda_cycle
        fake_b = n.gen_ab(real_a)  # G(a)
        fake_a = n.gen_ba(real_b)  # F(b)
        # least-squares adversarial losses: D should call the fakes real (target 1)
        adv_ab = ((n.disc_b(fake_b) - 1) ** 2).mean()
        adv_ba = ((n.disc_a(fake_a) - 1) ** 2).mean()
        # cycle consistency: F(G(a)) ≈ a, G(F(b)) ≈ b
        cycle_a = F.l1_loss(n.gen_ba(fake_b), real_a)
        cycle_b = F.l1_loss(n.gen_ab(fake_a), real_b)
        loss = adv_ab + adv_ba + lam * (cycle_a + cycle_b)
        out = {"adversarial_ab": adv_ab, "adversarial_ba": adv_ba, "cycle_a": cycle_a, "cycle_b": cycle_b}
        if lam_idt > 0:
            # identity: G(b) ≈ b, F(a) ≈ a
            idt_b = F.l1_loss(n.gen_ab(real_b), real_b)
            idt_a = F.l1_loss(n.gen_ba(real_a), real_a)
            loss = loss + lam_idt * (idt_a + idt_b)
            out.update(identity_a=idt_a, identity_b=idt_b)
        self._fakes = (batch, fake_a.detach(), fake_b.detach())
        return {"loss": loss, **out}

    def discriminator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        real_a, real_b = batch
        n = self.nets
        cached = getattr(self, "_fakes", None)
        if cached is not None and cached[0] is batch:
            fake_a, fake_b = cached[1], cached[2]
        else:  # the generators did not run on this batch (--n-critic > 1)
            fake_a, fake_b = n.gen_ba(real_b).detach(), n.gen_ab(real_a).detach()
        # each discriminator sees a mix of new and older fakes from its history pool
        fake_a, fake_b = self.pools["A"].query(fake_a), self.pools["B"].query(fake_b)
        loss_a = L.d_lsgan(n.disc_a(real_a), n.disc_a(fake_a))  # ½[(D_A(a) − 1)² + D_A(F(b))²]
        loss_b = L.d_lsgan(n.disc_b(real_b), n.disc_b(fake_b))
        return {"loss": loss_a + loss_b, "disc_a": loss_a, "disc_b": loss_b}

    # ------------------------------------------------------------- outputs
    def translations(self, direction: str, inputs: Tensor, targets: Tensor | None = None) -> Translations:
        outputs = self.translate(inputs, direction)
        back = "BtoA" if direction == "AtoB" else "AtoB"
        return Translations(inputs, outputs, self.translate(outputs, back), "reconstruction")

    def figure_row(self, direction: str, inputs: Tensor) -> Translations:
        return self.translations(direction, inputs)

    def evaluate(self, real: Unpaired, synthetic: Samples, train: Unpaired | None = None) -> Evaluation:
        if min(len(real.a), len(real.b)) == 0:
            return Evaluation(notes=["no held-out images of both domains to evaluate on (--holdout 0)"])
        ext = self.extractor()
        fresh = self.untrained_generators()
        m: dict[str, Any] = {}
        held = self.holdout_inputs(real)
        domain_of_output = {"AtoB": held["BtoA"], "BtoA": held["AtoB"]}  # real images of each output domain
        train_inputs = self.holdout_inputs(train) if train is not None else None
        for d, t in synthetic.items():
            real_out = domain_of_output[d]
            if t.third is not None:
                m[f"cycle_l1_{d}"] = l1(t.third, t.inputs)
            untrained = self.translate(t.inputs, d, nets=fresh)
            if len(t.outputs) >= 2 and len(real_out) >= 2:
                m.update({f"{k}_{d}": v for k, v in ext.distances(t.outputs, real_out, self.device).items()})
                m.update({f"{k}_{d}_untrained": v for k, v in ext.distances(untrained, real_out, self.device).items()})
                if train_inputs is not None:
                    other = train_inputs["BtoA" if d == "AtoB" else "AtoB"]
                    if len(other) >= 2:
                        floor = ext.distances(other[: max(len(real_out), 2)], real_out, self.device)
                        m.update({f"{k}_{d}_real_vs_real": v for k, v in floor.items()})
        notes = [
            "cycle_l1_* is the mean absolute error (pixels in [0, 1]) between held-out inputs and their round trip "
            "through both generators. The distances compare each direction's outputs with held-out real images of "
            "the output domain; *_untrained: the freshly initialised generators; *_real_vs_real: real training "
            "images of that domain against the held-out ones (the floor).",
            ext.note,
        ]
        figures = {
            "held-out input | translation | reconstruction": self.triplet_grid(
                synthetic, limit=6, scale=max(1, 128 // self.crop)
            )
        }
        return Evaluation(metrics=m, figures=figures, notes=notes)
