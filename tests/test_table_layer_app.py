"""The shared table layer (`ganapps.tabular`) used by a third-party app: a tiny conditional tabular GAN (test-only app).

It is the "API for app authors" example of docs/tabular.md, run for real: transformer state in
the bundle's schema/tensors, training-by-sampling, span activations and the conditional loss,
conditional generation, and the shared evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F

from ganapps.core import App, Evaluation, generate_file, hookimpl, load_bundle, run
from ganapps.core.data import TensorData
from ganapps.core.devices import eval_mode
from ganapps.core.io import read_table
from ganapps.core.nn import mlp
from ganapps.plugins.tabular.activation import SpanActivation
from ganapps.plugins.tabular.sampler import ConditionalSampler
from ganapps.tabular import TabularTransformer
from ganapps.tabular.evaluate import evaluate_table


@dataclass
class MiniOptions:
    hidden: int = field(default=64, metadata={"help": "Hidden units of G and D."})
    nz: int = field(default=16, metadata={"help": "Noise size."})
    max_categories: int = field(default=20, metadata={"help": "One-hot cap per categorical column."})


class MiniTabular(App):
    name, kind, description = "minitab", "tabular", "Tiny conditional tabular GAN (tests only)"
    Options = MiniOptions
    train_defaults = {"epochs": 2, "batch_size": 50}

    # -- data: the transformer's state goes to schema/tensors, so bundles restore it
    def load_data(self, source: Any) -> pl.DataFrame:
        return read_table(source, self.data_name(source))  # CSV/Parquet path, polars or pandas

    def fit(self, train: pl.DataFrame) -> None:
        t = TabularTransformer(max_categories=self.options.max_categories).fit(train)
        t.save_to(self.schema, self.tensors)

    @property
    def tt(self) -> TabularTransformer:
        if getattr(self, "_tt", None) is None:
            self._tt = TabularTransformer.load_from(self.schema, self.tensors)
        return self._tt

    def dataset(self, train: pl.DataFrame) -> TensorData:
        self.x = self.tt.transform(train)
        self.sampler = ConditionalSampler.from_encoded(self.x, self.tt.spans)  # training-by-sampling
        return TensorData(self.x)

    # -- networks, sized from the schema alone
    def build(self) -> dict[str, torch.nn.Module]:
        o, width = self.options, self.tt.width
        self.act = SpanActivation(self.tt.spans)
        self.cond_width = self.act.cond_width
        return {
            "generator": mlp([o.nz + self.cond_width, o.hidden, o.hidden, width], norm="batch"),
            "discriminator": mlp([width + self.cond_width, o.hidden, o.hidden, 1], activation="leaky_relu"),
        }

    def _fake(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(len(cond), self.options.nz, device=self.device)
        raw = self.nets.generator(torch.cat([z, cond], 1))
        act = self.act.to(self.device)  # the generator emits the grouped layout; rows go back to the encoded order
        return raw, act.from_layout(act(raw, tau=0.2))

    def discriminator_step(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.sampler.sample(len(batch))
        cond = c.cond.to(self.device)
        real = self.x[c.rows].to(self.device)  # real rows holding the conditioned category
        _, fake = self._fake(cond)
        d_real = self.nets.discriminator(torch.cat([real, cond], 1))
        d_fake = self.nets.discriminator(torch.cat([fake.detach(), cond], 1))
        loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        return {"loss": loss}

    def generator_step(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.sampler.sample(len(batch))
        cond = c.cond.to(self.device)
        raw, fake = self._fake(cond)
        adv = F.softplus(-self.nets.discriminator(torch.cat([fake, cond], 1))).mean()
        cond_loss = self.act.cond_loss(raw, cond)
        return {"loss": adv + cond_loss, "cond_loss": cond_loss}

    # -- outputs
    def generate(self, n: int, condition: Mapping[str, Any] | None = None, **_: Any) -> pl.DataFrame:
        sampler = ConditionalSampler.from_transformer(self.tt)
        fixed = None
        if condition:
            (column, value), *rest = condition.items()
            c = self.tt.condition(column, value)
            cond = sampler.fixed(n, c.index, c.category).cond
            fixed = {c.column: c.value}
        else:
            cond = sampler.sample_original(n).cond
        G = self.nets.generator
        with eval_mode(G):
            z = torch.randn(n, self.options.nz, device=self.device)
            act = self.act.to(self.device)
            x = act.from_layout(act(G(torch.cat([z, cond.to(self.device)], 1))))
        return self.tt.inverse_transform(x.cpu(), fixed=fixed, seed=int(torch.randint(2**31, (1,))))

    def load_samples(self, path: Path) -> pl.DataFrame:
        return read_table(path)

    def sample_vectors(self, samples: Any) -> torch.Tensor:
        return self.tt.encode_for_distance(samples)

    def evaluate(self, real: Any, synthetic: Any, train: Any = None) -> Evaluation:
        return evaluate_table(real, synthetic, self.tt, train=train, target="churn", max_rows=2000, plots=False)


def churn_table(n: int = 300) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1])
    spend = np.round(np.where(plan == "pro", 80, np.where(plan == "plus", 40, 10)) + rng.normal(0, 5, n), 2)
    return pl.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(n)],
            "plan": plan.tolist(),
            "spend": spend,
            "signup": [f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
            "churn": rng.random(n) < 0.2,
        }
    )


class Plugin:
    @hookimpl
    def register_apps(self, register) -> None:
        register(MiniTabular)


def test_a_tabular_app_trains_saves_and_generates_conditionally(plugin, tmp_path: Path) -> None:
    plugin(Plugin(), "minitab-test")
    df = churn_table()
    result = run("minitab", df, train={"seed": 3}, out=tmp_path / "run", progress=False, samples=200)
    m = result.metrics["metrics"]
    assert 0 < m["quality"]["quality_score"] <= 1 and m["ml_efficacy"]["task"] == "classification"
    assert 0 <= m["privacy"]["membership_auc"] <= 1
    synthetic = read_table(tmp_path / "run" / "synthetic.csv")
    assert synthetic.columns == df.columns and synthetic.height == 200
    assert synthetic["customer_id"].n_unique() == 200  # ids regenerated, unique
    app = load_bundle(tmp_path / "run")
    pros = app.generate(50, condition={"plan": "pro"})
    assert pros.schema == df.schema and set(pros["plan"].to_list()) == {"pro"}
    out = generate_file(tmp_path / "run", 30, tmp_path / "pro.csv", condition={"plan": "pro"}, seed=1)
    again = generate_file(tmp_path / "run", 30, tmp_path / "pro2.csv", condition={"plan": "pro"}, seed=1)
    assert read_table(out).equals(read_table(again))  # same seed, same rows
