"""``tabular``: a conditional tabular GAN in the manner of CTGAN (Xu et al., NeurIPS 2019).

The table goes through the core transformer (mode-specific normalisation of numbers, capped
one-hots of categories, datetimes as numbers, missing-value indicators, ids regenerated). Then,
as in the paper:

- **conditional vector + training-by-sampling**: each step picks a discrete column uniformly and
  one of its categories with probability ∝ log(frequency), feeds that one-hot to G and D, and
  shows D real rows that hold the category — so rare categories are learned too;
- **generator loss** = −D(fake) + cross-entropy between the conditioned span's logits and the
  asked category (G must honour its condition);
- **critic** WGAN-GP (λ=10) over packs of ``pac`` rows (PacGAN), LeakyReLU + dropout;
- **output activations** per span from the transformer's metadata: tanh for values, Gumbel-
  softmax (τ=0.2) for modes and categories, sigmoid for missing flags.

Defaults that differ from CTGAN, each measured (bench/RESULTS.md, issues 4 and 16):

- numbers are encoded as one quantile-mapped value (``--continuous quantile``; CTGAN's
  mode-specific normalisation is ``--continuous gmm``), and the learning rate is 1e-3, not 2e-4;
- generated categories are *sampled* from the generator's logits, as the critic saw them in
  training, then each column's marginal is calibrated to the training one (``calibration.py``);
- with ``--target``, half the training steps condition on the target column and every generated
  row is conditioned on it at its training frequency (``--target-share``), so the generator
  learns each class's rows as a whole. CTAB-GAN+'s downstream loss is available
  (``--target-loss``) but off: on the dev tables it lowered quality and ML efficacy on average.
- with a categorical ``--target``, the calibration is fitted within each target class
  (``--calibrate-by-target``, round 8): each class's generated rows get that class's training
  marginals, which is what a model trained on the synthetic rows learns from;
- one generator forward per iteration: the generator step judges the rows the critic step made
  (CTGAN draws new ones), and the critic scores real, fake and interpolated packs in one call;
  same quality on the dev tables, about a third less fit time (round 5 in bench/RESULTS.md);
- the generator emits its columns grouped by activation (``activation.py``), and 225 epochs
  rather than 300: the same validation utility, a quarter less fit time (round 6).

Conditional generation feeds the wanted category's one-hot: no rejection sampling.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import torch
from torch import Tensor, nn

from ganapps.core.app import Diagnostic, Evaluation, OptimizerSpec, Phase, Step
from ganapps.core.data import TensorData
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.io import write_table
from ganapps.plugins.tabular import generation
from ganapps.plugins.tabular.activation import SpanActivation
from ganapps.plugins.tabular.calibration import Decoder
from ganapps.plugins.tabular.model import (
    Critic,
    Downstream,
    Generator,
    critic_objective,
    downstream_loss,
    generator_objective,
)
from ganapps.plugins.tabular.options import TabularOptions
from ganapps.plugins.tabular.privacy import (
    DP_MEANINGS,
    DP_SGD_LR,
    private_critic_step,
    private_options,
    private_transformer,
)
from ganapps.plugins.tabular.sampler import ConditionalSampler
from ganapps.tabular import TabularTransformer
from ganapps.tabular.app import TableApp
from ganapps.tabular.sdv_metadata import write_sdv_metadata

#: below this many training rows a run says what was measured on small tables (bench/RESULTS.md, issue 16)
SMALL_TABLE = 1000
SMALL_TABLE_ADVICE = (
    "On 200-row samples of six dev tables (3 seeds) tabular's quality was above sdv-gaussiancopula's on "
    "five and 0.02 below on the widest (20 columns), and its ML efficacy up to 0.03 below on four, with "
    "wide intervals; on a table this small check yours with "
    "`ganapps compare --data TABLE --target COL --apps tabular,sdv-gaussiancopula`."
)

log = logging.getLogger("ganapps.tabular")


class TabularGAN(TableApp):
    """CTGAN-class conditional GAN for mixed-type tables."""

    name = "tabular"
    description = "Conditional tabular GAN (CTGAN-style): mixed-type tables, conditional generation"
    Options = TabularOptions
    # CTGAN's batch of 500; 225 epochs rather than its 300 (chosen in round 6 of the selection,
    # bench/RESULTS.md: the same validation utility over 3 seeds, a quarter less fit time); at
    # most about 5,000 steps unless --epochs is given: 100 training rows get 225 epochs (225
    # steps), 348,873 rows 8 epochs (5,576 steps). The step log every 10th step: each logged
    # step also computes the gradient norms, a visible share of a step this small
    train_defaults = {"epochs": 225, "batch_size": 500, "log_every": 10}
    default_steps = 5000
    monitor = ("quality_score", "max")
    #: every path from the rows to the bundle is closed under --dp-epsilon (privacy.py, docs/privacy.md)
    dp_refusal = None
    #: under --dp-epsilon, 80 epochs of batch 500 (with a 128 128 critic, 64 64 from 3,000 training rows:
    #: ``privacy.critic_widths``; from ε = 1 per-class calibration from noisy counts): chosen on validation
    #: rows of six tables at ε = 3 over 2 seeds (and checked at ε = 1)
    #: (bench/dp_tabular_select.py, bench/RESULTS.md: 10 to 160 epochs, batch 500/1000, critic 256/128,
    #: EMA, pooled vs per-class calibration), the fastest within 0.01 of the best mean utility
    dp_train_defaults = {"epochs": 80}
    #: under --dp-epsilon, the noisy histograms' Gaussian release (``privacy.private_transformer``),
    #: which the engine's accountant composes with the critic's DP-SGD steps
    dp_preprocessing: dict[str, Any] | None = None
    dp_meanings = DP_MEANINGS

    # ------------------------------------------------------------------ data
    @property
    def dp(self) -> bool:
        """Whether this run trains under --dp-epsilon."""
        return self.train_config.dp_epsilon > 0

    def fit(self, train: pl.DataFrame) -> None:
        o = self.options
        notes = private_options(o, self.train_config.dp_epsilon, train.height) if self.dp else []
        for name, value in (("pac", o.pac), ("gp-every", o.gp_every), ("embedding-dim", o.embedding_dim)):
            if value < 1:
                raise ConfigError(f"option --{name} must be at least 1, got {value}")
        for name, dims, required in (
            ("generator-dim", o.generator_dim, True),
            ("discriminator-dim", o.discriminator_dim, True),
            ("dp-discriminator-dim", o.dp_discriminator_dim, False),  # none: by the table's size, under DP
        ):
            if (required and not dims) or min(dims, default=1) < 1:
                raise ConfigError(f"option --{name} needs layer widths of at least 1, got {dims}")
        if not 0 <= o.target_share <= 1 or o.target_loss < 0:
            raise ConfigError("options --target-share must be in [0, 1] and --target-loss at least 0")
        if self.dp:  # noisy histograms and public metadata only (privacy.py)
            t = private_transformer(self, train)
            self.schema["dp_notes"] = self.dp_notes = notes
        else:
            if o.dp_metadata:
                raise ConfigError("option --dp-metadata is for --dp-epsilon runs; give --metadata for column types")
            overrides, primary_key = self.column_typing(train)
            t = TabularTransformer(continuous=o.continuous, max_categories=o.max_categories)
            t.fit(train, overrides=overrides, primary_key=primary_key, where=self.data_name())
        if t.width == 0:
            raise DataError(f"{self.data_name()}: nothing to learn — every column is an id or a constant")
        t.save_to(self.schema, self.tensors)
        self.schema["generator_layout"] = "grouped"  # bundles before it emit the encoded order
        self._tt = t
        if train.height < SMALL_TABLE:
            log.warning("small table: %d training rows. %s", train.height, self.small_table_advice())

    def dataset(self, train: pl.DataFrame) -> TensorData:
        self.x = self.tt.transform(train, seed=self.train_config.seed)
        # training-by-sampling needs at least one discrete column; a numeric table trains unconditionally.
        # Under DP the sampler knows the noisy frequencies only, and real rows bring their own conditions
        make = ConditionalSampler.from_transformer if self.dp else ConditionalSampler.from_encoded
        args = (self.tt,) if self.dp else (self.x, self.tt.spans)
        self.sampler = make(*args) if self.tt.discrete_spans else None  # type: ignore[operator]
        self.act = SpanActivation(self.tt.spans)
        self.real = self.act.to_layout(self.x)  # real rows in the generator's layout (activation.py)
        return TensorData(self.real)

    # -------------------------------------------------------------- networks
    def build(self) -> dict[str, nn.Module]:
        o = self.options
        self.act = SpanActivation(self.tt.spans)
        self.cond_width = self.act.cond_width
        width = self.tt.width
        nets: dict[str, nn.Module] = {
            "generator": Generator(o.embedding_dim + self.cond_width, o.generator_dim, width),
            "discriminator": Critic(
                width + self.cond_width, o.dp_discriminator_dim if self.dp else o.discriminator_dim, pac=o.pac
            ),
        }
        downstream = self._downstream()
        if downstream is not None:
            nets["downstream"] = downstream
        return nets

    def _downstream(self) -> Downstream | None:
        """The auxiliary target model when ``--target`` names a learned column and its weight is > 0."""
        o = self.options
        if not o.target or o.target_loss <= 0:
            return None
        own = [s for s in self.tt.spans if s.column == o.target]
        target = [s for s in own if s.kind in ("category", "value")]
        if not target:  # an id or constant target: nothing to predict
            return None
        t = target[0]
        layout = self.act.inverse  # encoded column → its place in the generator's layout
        features = [int(layout[i]) for s in self.tt.spans if s.column != o.target for i in range(s.start, s.stop)]
        if not features:
            return None
        index = layout[t.start : t.stop].clone()
        return Downstream(torch.tensor(features, dtype=torch.long), index, classify=t.kind == "category")

    def configure_optimizers(self) -> list[OptimizerSpec]:
        # CTGAN's Adam(β=(0.5, 0.9), weight decay 1e-6), but lr 1e-3 rather than its 2e-4: at equal
        # epochs it reached a higher SDMetrics quality on both benchmark tables (bench/RESULTS.md);
        # fused kernels: the networks are small enough for per-parameter calls to show. Under DP the
        # critic takes plain SGD (privacy.DP_SGD_LR): Adam would turn DP-SGD's noise into ±lr steps
        critic = OptimizerSpec(
            "discriminator", ("discriminator",), lr=1e-3, betas=(0.5, 0.9), weight_decay=1e-6, fused=True
        )
        if self.dp and self.options.dp_optimizer == "sgd":
            critic = OptimizerSpec("discriminator", ("discriminator",), lr=DP_SGD_LR, algorithm="sgd")
        specs = [
            critic,
            OptimizerSpec("generator", ("generator",), lr=1e-3, betas=(0.5, 0.9), weight_decay=1e-6, fused=True),
        ]
        if "downstream" in self.nets:
            specs.append(OptimizerSpec("downstream", ("downstream",), lr=1e-3, weight_decay=1e-6))
        return specs

    def phases(self) -> list[Phase]:
        """CTGAN's adversarial phase; with the downstream model, its step on real rows first.

        The critic step's generated rows are judged again by the generator step that follows
        (one generator forward per iteration, not two), so the critic step leaves the generator
        differentiable. Not in a multi-process run, where the generator's gradients are averaged
        only through a forward inside its own step.
        """
        phases = super().phases()
        self._reuse = not torch.distributed.is_initialized()
        steps = phases[0].steps
        if self._reuse:
            steps[0] = dataclasses.replace(steps[0], differentiable=("generator",))
        if "downstream" in self.nets:
            steps.insert(0, Step("downstream", self.downstream_step, "downstream", role="other"))
        return phases

    # ------------------------------------------------------------------ steps
    def _n(self, batch: Tensor) -> int:
        """Rows per step: the batch, rounded down to whole packs."""
        pac = self.options.pac
        return max(pac, len(batch) // pac * pac)

    def _conditions(self, n: int) -> tuple[Tensor, Tensor]:
        """(conditional vectors, real rows holding those categories): training-by-sampling.

        CTGAN's real rows are drawn to match each condition, so the engine's uniform batch only
        sets how many rows a step takes. The rows and the sampler's tables live on the device
        (a CUDA step copies nothing from the host).
        """
        real = self._real_rows()
        if self.sampler is None:  # no discrete column: plain unconditional GAN on random real rows
            rows = torch.randint(len(real), (n,), device=self.device)
            return torch.zeros(n, 0, device=self.device), real[rows]
        if self.device.type == "cuda" and self.sampler.device != self.device:
            self.sampler.to(self.device)  # float64 draws: kept on the CPU for MPS
        c = self.sampler.sample(n, log_frequency=self.options.log_frequency, column_p=self._column_p(training=True))
        return c.cond.to(self.device), real[c.rows.to(self.device)]

    def fake_conditions(self, n: int) -> Tensor:
        """Conditional vectors of ``n`` generated rows, drawn from the sampler's frequencies alone."""
        if self.sampler is None:
            return torch.zeros(n, 0, device=self.device)
        if self.device.type == "cuda" and self.sampler.device != self.device:
            self.sampler.to(self.device)
        c = self.sampler.sample(n, log_frequency=self.options.log_frequency, column_p=self._column_p(training=True))
        return c.cond.to(self.device)

    def _real_rows(self) -> Tensor:
        """The training rows (grouped layout), moved to the device once, not at every step."""
        real = self.__dict__.get("_real_device")
        if real is None or real.device != self.device:
            real = self._real_device = self.real.to(self.device)
        return real

    def _column_p(self, training: bool) -> Tensor | None:
        """Which discrete column to condition on: uniform (CTGAN), or the target ``target_share`` of the
        time in training and always when generating."""
        cache = self.__dict__.setdefault("_column_ps", {})
        if training not in cache:  # built once, not at every training step
            o = self.options
            names = [s.column for s in self.tt.discrete_spans]
            if not o.target or o.target not in names or o.target_share <= 0 or len(names) < 2:
                cache[training] = None
            else:
                share = min(1.0, o.target_share) if training else 1.0
                p = torch.full((len(names),), (1 - share) / (len(names) - 1), dtype=torch.float64)
                p[names.index(o.target)] = share
                cache[training] = p
        return cache[training]

    def _fake(self, cond: Tensor) -> tuple[Tensor, Tensor]:
        """Raw generator output and its span activations (Gumbel-softmax on discrete spans)."""
        z = torch.randn(len(cond), self.options.embedding_dim, device=self.device)
        raw = self.nets.generator(torch.cat([z, cond], dim=1))
        return raw, self.act.to(self.device)(raw, tau=self.options.tau)

    def discriminator_step(self, batch: Tensor) -> dict[str, Tensor]:
        if self.privacy is not None:
            return private_critic_step(self, batch)
        o = self.options
        cond, real = self._conditions(self._n(batch))
        raw, fake = self._fake(cond)
        if getattr(self, "_reuse", False):  # the generator step that follows judges these rows again
            self._rows = (raw, fake, cond)
        # the lazy penalty: k·λ every k-th critic step
        penalise = o.loss == "wgan-gp" and self.progress.phase_step % o.gp_every == 0
        weight = o.gp_weight * o.gp_every if penalise else 0.0
        return critic_objective(self.nets.discriminator, real, fake, cond, loss=o.loss, gp_weight=weight)

    def downstream_step(self, batch: Tensor) -> dict[str, Tensor]:
        """The auxiliary target model learns from real rows (the engine's uniform batch)."""
        return {"loss": downstream_loss(self.nets.downstream, batch.to(self.device))}

    def generator_step(self, batch: Tensor) -> dict[str, Tensor]:
        rows = self.__dict__.pop("_rows", None)
        if rows is None and batch is None:  # under DP the generator step gets no real rows
            cond = self.fake_conditions(self.privacy.expected_batch)
            raw, fake = self._fake(cond)
        elif rows is None:
            cond, _ = self._conditions(self._n(batch))
            raw, fake = self._fake(cond)
        else:
            raw, fake, cond = rows
        out = generator_objective(self.nets.discriminator, fake, cond, loss=self.options.loss)
        loss = out.pop("loss")
        if self.cond_width:
            out["cond_loss"] = self.act.cond_loss(raw, cond)  # honour the condition
            loss = loss + out["cond_loss"]
        if "downstream" in self.nets:  # the target must agree with the other generated columns
            out["downstream"] = downstream_loss(self.nets.downstream, fake)
            loss = loss + self.options.target_loss * out["downstream"]
        return {"loss": loss, **out}

    # ----------------------------------------------------------------- output
    @property
    def decoder(self) -> Decoder:
        """Sampling of discrete spans, forced conditions and the fitted marginal calibration."""
        if getattr(self, "_decoder", None) is None:
            self._decoder = Decoder(self.tt.spans, self.tensors)
        return self._decoder

    def calibrate(self, train: pl.DataFrame) -> None:
        """Fit the marginal calibration on generated rows (``calibration.py``, ``generation.py``)."""
        self.__dict__.pop("_rows", None)  # the last critic step's rows, kept for a generator step
        self._decoder = generation.calibrate(self, train)
        self.tensors.update(self._decoder.tensors())

    def generate(self, n: int, condition: Mapping[str, Any] | None = None, **_: Any) -> Any:
        return generation.generate(self, n, condition)

    def save_samples(self, samples: Any, path: Path) -> Path:
        """Write the table (CSV/Parquet by suffix) and, beside it, SDV Metadata JSON describing it."""
        out = write_table(samples, path)
        write_sdv_metadata(self.tt.specs, generation.metadata_path(out), table=out.name.split(".")[0])
        return out

    def small_table_advice(self) -> str:
        """What to do about a table under ``SMALL_TABLE`` rows; under DP the non-private comparison is no way out."""
        if not self.dp:
            return SMALL_TABLE_ADVICE
        noise = (self.dp_preprocessing or {}).get("count_noise_std")
        std = f" (std {noise:.3g} here)" if noise is not None else ""
        return (
            f"Under --dp-epsilon the noise on each released count{std} and on each DP-SGD step does not shrink "
            "with the table, so a small table keeps less of its signal: a larger --dp-epsilon, more rows, or "
            "public --dp-metadata (categories, bounds: no budget spent) help (docs/privacy.md). Comparing with "
            "sdv-gaussiancopula does not apply: it is not private."
        )

    def evaluate(self, real: Any, synthetic: Any, train: Any = None) -> Evaluation:
        ev = super().evaluate(real, synthetic, train)
        if train is not None and len(train) < SMALL_TABLE:
            ev.diagnostics.append(
                Diagnostic(
                    "small-table", f"only {len(train)} training rows.", self.small_table_advice(), severity="info"
                )
            )
        return ev
