"""A tiny, fast app for testing the engine and plugins: a ring of 2-D Gaussians.

It exercises the whole contract (data, phases, optimizers, steps, generate, evaluate) in
milliseconds per step, so engine tests need no real data. Not registered by default; tests and
plugin authors register it on purpose.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ganapps.core import losses as L
from ganapps.core.app import App, Evaluation, OptimizerSpec, Phase, Step
from ganapps.core.data import TensorData
from ganapps.core.meanings import MetricMeaning
from ganapps.core.metrics import frechet_distance
from ganapps.core.nn import mlp
from ganapps.core.regularizers import gradient_penalty
from ganapps.core.unroll import Unroll


def ring_data(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0) -> Tensor:
    """``n`` points from ``modes`` Gaussians evenly spaced on a circle."""
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, modes, (n,), generator=g)
    angle = 2 * math.pi * k.float() / modes
    centres = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return centres + std * torch.randn(n, 2, generator=g)


@dataclass
class RingOptions:
    rows: int = field(default=512, metadata={"help": "Points to draw when no data are given."})
    hidden: int = field(default=32, metadata={"help": "Hidden units of both networks."})
    nz: int = field(default=4, metadata={"help": "Noise size."})
    loss: Literal["bce", "lsgan", "hinge", "wgan-gp"] = field(default="bce", metadata={"help": "Adversarial loss."})
    pretrain_epochs: int = field(default=0, metadata={"help": "Epochs of a warm-up phase for D alone."})


class RingApp(App):
    """2-D ring-of-Gaussians GAN (the classic mode-collapse toy)."""

    name = "ring"
    kind = "toy"
    description = "Toy GAN on a ring of 2-D Gaussians (engine tests)"
    Options = RingOptions
    train_defaults = {"epochs": 2, "batch_size": 64}
    monitor = ("frechet_distance", "min")
    metric_meanings = {
        "frechet_distance": MetricMeaning(
            "Fréchet distance between generated and held-out points",
            "lower",
            "frechet_distance_real_vs_real",
            "real vs real",
        ),
        "frechet_distance_real_vs_real": MetricMeaning("the same between training and held-out points: the floor"),
    }

    def load_data(self, source: Any) -> TensorData:
        """A tensor, a CSV/Parquet file with numeric columns, or None for a fresh ring."""
        if isinstance(source, Tensor):
            return TensorData(source.float())
        if source is not None:
            from ganapps.core.io import read_table

            return TensorData(torch.from_numpy(read_table(source).to_numpy()).float())
        return TensorData(ring_data(self.options.rows, seed=0))

    def fit(self, train: TensorData) -> None:
        self.schema = {"dim": int(train.tensors[0].shape[1])}

    def dataset(self, train: TensorData) -> TensorData:
        return train

    def build(self) -> dict[str, nn.Module]:
        o, d = self.options, self.schema["dim"]
        return {
            "generator": mlp([o.nz, o.hidden, o.hidden, d]),
            "discriminator": mlp([d, o.hidden, o.hidden, 1], activation="leaky_relu"),
        }

    def configure_optimizers(self) -> list[OptimizerSpec]:
        return [
            OptimizerSpec("discriminator", ("discriminator",), lr=1e-3),
            OptimizerSpec("generator", ("generator",), lr=1e-3),
        ]

    def phases(self) -> list[Phase]:
        phases = super().phases()
        if self.options.pretrain_epochs:
            warm = Step("warmup", self.discriminator_step, "discriminator", role="other")
            phases.insert(0, Phase("warmup", [warm], self.options.pretrain_epochs))
        return phases

    def _fake(self, n: int) -> Tensor:
        return self.nets.generator(torch.randn(n, self.options.nz, device=self.device))

    def discriminator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        """D's losses on real points and the given fakes (not detached here)."""
        d_real, d_fake = self.nets.discriminator(real), self.nets.discriminator(fake)
        loss = L.LOSSES[self.options.loss][0](d_real, d_fake)
        if self.options.loss == "wgan-gp":
            loss = loss + 10 * gradient_penalty(self.nets.discriminator, real, fake)
        return {"loss": loss, "d_real": d_real.mean()}

    def generator_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        return {"loss": L.LOSSES[self.options.loss][1](self.nets.discriminator(fake))}

    def discriminator_step(self, real: Tensor) -> dict[str, Tensor]:
        return self.discriminator_loss(real, self._fake(len(real)).detach())

    def generator_step(self, real: Tensor) -> dict[str, Tensor]:
        return self.generator_loss(real, self._fake(len(real)))

    def unrolled(self) -> Unroll:
        """Opt in to --unroll K: fakes, D's loss and G's loss as functions of (batch, fakes)."""
        return Unroll(
            lambda real: self._fake(len(real)),
            lambda real, fake: self.discriminator_loss(real, fake)["loss"],
            self.generator_loss,
        )

    def generate(self, n: int, condition: Mapping[str, Any] | None = None, **_: Any) -> Tensor:
        with torch.no_grad():
            return self._fake(n).float().cpu()

    def save_samples(self, samples: Tensor, path: Any) -> Any:
        import polars as pl

        from ganapps.core.io import write_table

        return write_table(pl.DataFrame(samples.numpy(), schema=["x", "y"]), path)

    def load_samples(self, path: Any) -> Tensor:
        from ganapps.core.io import read_table

        return torch.from_numpy(read_table(path).to_numpy()).float()

    def sample_vectors(self, samples: Any) -> Tensor:
        return samples.tensors[0] if isinstance(samples, TensorData) else samples

    def evaluate(self, real: TensorData, synthetic: Tensor, train: Any = None) -> Evaluation:
        m = {"frechet_distance": frechet_distance(synthetic, real.tensors[0])}
        if train is not None and len(train) >= 2:
            m["frechet_distance_real_vs_real"] = frechet_distance(train.tensors[0], real.tensors[0])
        return Evaluation(metrics=m)


def unexplained(report: str) -> list[str]:
    """The metric keys of a ``report.html`` text whose row has no meaning (a plugin's tests can
    check that every metric its runs write is explained)."""
    rows = re.findall(r"<tr class='metric'><td>(.*?)</td>(.*?)</tr>", report, flags=re.S)
    return [html.unescape(key) for key, rest in rows if "<td class='meaning'></td>" in rest]
