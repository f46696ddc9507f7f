"""An example third-party ganapps plugin: ``gauss1d`` learns the distribution of one CSV column.

Install it (``ganapps plugins install ./examples/ganapps-hello``) and run
``ganapps run gauss1d --data sample.csv --column value``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import torch
from torch import nn

from ganapps.core import App, DataError, Evaluation, TensorData, hookimpl
from ganapps.core import losses as L
from ganapps.core.io import read_table, write_table


@dataclass
class Options:
    column: str = field(default="value", metadata={"help": "Numeric column to learn."})
    hidden: int = field(default=32, metadata={"help": "Hidden units."})


class Gauss1D(App):
    name = "gauss1d"
    kind = "tabular"
    description = "Example plugin: GAN for one numeric CSV column"
    Options = Options
    train_defaults = {"epochs": 20, "batch_size": 64}

    def load_data(self, source: Any) -> TensorData:
        table = read_table(source)
        col = self.options.column
        if col not in table.columns:
            raise DataError(f"--data {source}: no column {col!r} (columns: {', '.join(table.columns)})")
        try:
            values = torch.from_numpy(table[col].cast(pl.Float32).to_numpy())
        except pl.exceptions.InvalidOperationError:
            raise DataError(f"--data {source}: column {col!r} is not numeric") from None
        return TensorData(values.reshape(-1, 1))

    def fit(self, train: TensorData) -> None:
        x = train.tensors[0]
        self.schema = {"mean": float(x.mean()), "std": float(x.std().clamp_min(1e-8))}

    def dataset(self, train: TensorData) -> TensorData:
        return TensorData((train.tensors[0] - self.schema["mean"]) / self.schema["std"])

    def build(self) -> dict[str, nn.Module]:
        h = self.options.hidden
        return {
            "generator": nn.Sequential(nn.Linear(1, h), nn.ReLU(), nn.Linear(h, 1)),
            "discriminator": nn.Sequential(nn.Linear(1, h), nn.LeakyReLU(0.2), nn.Linear(h, 1)),
        }

    def discriminator_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        fake = self.nets.generator(torch.randn_like(real)).detach()
        return {"loss": L.d_bce(self.nets.discriminator(real), self.nets.discriminator(fake))}

    def generator_step(self, real: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": L.g_nonsaturating(self.nets.discriminator(self.nets.generator(torch.randn_like(real))))}

    def generate(self, n: int, condition: Any = None, **_: Any) -> pl.DataFrame:
        with torch.no_grad():
            z = torch.randn(n, 1, device=self.device)
            x = self.nets.generator(z).cpu().squeeze(1) * self.schema["std"] + self.schema["mean"]
        return pl.DataFrame({self.options.column: x.numpy()})

    def save_samples(self, samples: pl.DataFrame, path: Path) -> Path:
        return write_table(samples, path)

    def evaluate(self, real: TensorData, synthetic: pl.DataFrame, train: Any = None) -> Evaluation:
        r = real.tensors[0].squeeze(1)
        s = torch.from_numpy(synthetic[self.options.column].to_numpy())
        return Evaluation(metrics={"mean_gap": float(abs(r.mean() - s.mean())), "std_ratio": float(s.std() / r.std())})


@hookimpl
def register_apps(register):
    register(Gauss1D)
