"""The ``medgan`` app: synthetic patient records of diagnosis codes (Choi et al., 2017).

medGAN in three moves, as in the paper:

1. **pre-train an autoencoder** on the real patients' code vectors x:
   ``x̂ = Dec(Enc(x))``, loss ``−Σ x log x̂ + (1−x) log(1−x̂)`` (binary) or ``‖x − x̂‖²`` (counts);
2. **generate through the decoder**: ``G(z)`` is a code *embedding* and ``Dec(G(z))`` a patient,
   so the generator works in the autoencoder's continuous space while the decoder keeps learning
   with it (one optimizer owns G and Dec);
3. **adversarial training** with a discriminator that sees each record beside its batch's mean
   (minibatch averaging against mode collapse): ``L_D = −log D(x) − log(1 − D(Dec(G(z))))``,
   ``L_G = −log D(Dec(G(z)))``, with two D updates per G update and L2 weight decay 1e-3.

Under ``--dp-epsilon`` (docs/privacy.md) the discriminator and the autoencoder are trained with
DP-SGD, the code list comes from public metadata, and what couples patients or reads them
outside DP-SGD (minibatch averaging, prevalence matching, data-dependent notes) is turned off
(``privacy.py``). Options: ``options.py``; the metrics and their evaluation: ``metrics.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core import losses as L
from ganapps.core.app import App, Diagnostic, Evaluation, OptimizerSpec, Phase, Step
from ganapps.core.data import TensorData, batched
from ganapps.core.devices import eval_mode
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.io import write_table
from ganapps.core.privacy import default_delta
from ganapps.plugins.medgan import metrics as M
from ganapps.plugins.medgan.data import (
    CodeMatrix,
    load_codes,
    split_by_patient,
    synthetic_ids,
    to_frame,
)
from ganapps.plugins.medgan.model import Decoder, Discriminator, Encoder, Generator
from ganapps.plugins.medgan.options import MedGANOptions
from ganapps.plugins.medgan.privacy import (
    DP_MEANINGS,
    PREVALENCE_SHARE,
    noisy_prevalences,
    private_options,
    public_codes,
)

log = logging.getLogger("ganapps.medgan")


#: sd of the noisy prevalences above which a DP run warns that they are mostly noise
NOISY_PREVALENCE = 0.05


class MedGAN(App):
    name = "medgan"
    kind = "codes"
    description = "medGAN (Choi et al. 2017): synthetic patients' diagnosis codes (binary or counts)"
    Options = MedGANOptions
    train_defaults = {"epochs": 1000, "batch_size": 1000, "n_critic": 2}
    #: the paper's 1,000 epochs, but no more than 1,000 steps' worth on large cohorts
    default_steps = 1000
    #: under --dp-epsilon: 160 private steps of expected batch 250, chosen on validation patients
    #: (bench/dp_medgan_select.py: level with 40 × 1,000 and 120 × 1,000, and the cheapest)
    dp_train_defaults = {"batch_size": 250}
    dp_default_steps = 160
    default_dataset = "mimic3-demo-diagnoses"
    ema_networks = ("generator", "decoder")
    #: the discriminator and the autoencoder (its optimizer updates encoder and decoder) see real rows
    private_networks = ("discriminator", "encoder")
    dp_refusal = None  # every path is closed under --dp-epsilon: docs/privacy.md
    #: under DP with --mean-match: the noisy prevalences' Gaussian release, composed with DP-SGD
    dp_preprocessing: dict[str, Any] | None = None
    dp_meanings = DP_MEANINGS
    monitor = ("dim_prob_r", "max")
    metric_meanings = M.MEANINGS

    # ---------------------------------------------------------------- data
    def load_data(self, source: Any) -> CodeMatrix:
        o = self.options
        if o.min_count < 1:
            raise ConfigError("option --min-count must be at least 1")
        if o.mean_match < 0:
            raise ConfigError("option --mean-match must be 0 or more")
        if self.dp:
            self.dp_notes = private_options(o)
        matrix, layout, notes = load_codes(
            source, o.format, o.patient_col, o.code_col, o.visit_col, o.group_codes, self.data_name(source)
        )
        self._layout, self._load_notes = layout.to_dict(), notes
        if self.dp and layout.format == "long" and o.code_list is None:
            raise ConfigError(
                "option --dp-epsilon: the codes of long data would be read off the patients; give the public "
                "list of codes with --code-list FILE (one per line, e.g. every ICD-9 code)"
            )
        return matrix

    @property
    def dp(self) -> bool:
        """Whether this run trains under --dp-epsilon."""
        return self.train_config.dp_epsilon > 0

    def split(self, data: CodeMatrix, holdout: float, seed: int) -> tuple[CodeMatrix, CodeMatrix]:
        return split_by_patient(data, holdout, seed)

    def fit(self, train: CodeMatrix) -> None:
        if self.dp:  # nothing read off the patients: public codes, notes that do not depend on them
            self.schema = {
                "codes": public_codes(self.options, train),
                "layout": self._layout,
                "notes": list(self.dp_notes),
            }
            self._private_prevalences(train)
            return
        if self.options.code_list is not None:
            notes = list(getattr(self, "_load_notes", []))
            self.schema = {"codes": public_codes(self.options, train), "layout": self._layout, "notes": notes}
            return
        seen = (train.x > 0).sum(0)
        keep = (seen >= self.options.min_count).nonzero().flatten().tolist()
        if len(keep) < 2:  # a single code has no co-occurrence to learn, nor to evaluate
            found = "only one code occurs" if keep else "no code occurs"
            lower = f"; lower --min-count (the most frequent code occurs in {int(seen.max())})"
            raise DataError(
                f"{found} in {self.options.min_count}+ training patients, and medGAN needs at least 2"
                f"{lower if self.options.min_count > 1 else ''}"
            )
        notes = list(getattr(self, "_load_notes", []))
        in_train = int((seen > 0).sum())
        dropped = in_train - len(keep)
        if dropped:
            msg = (
                f"{dropped} of the {in_train} codes of the training patients occur in fewer than "
                f"{self.options.min_count} of them and were dropped (--min-count); {len(keep)} codes remain."
            )
            log.info(msg)
            notes.append(msg)
        if self.options.mode == "binary" and float(train.x.max()) > 1:
            notes.append("binary mode: codes occurring several times per patient count once (use --mode count).")
        self.schema = {
            "codes": [train.codes[j] for j in keep],
            "layout": self._layout,
            "notes": notes,
        }

    def _private_prevalences(self, train: CodeMatrix) -> None:
        """Under DP with --mean-match: the noisy code means it matches, paid from the budget."""
        o, cfg = self.options, self.train_config
        self._prevalence: Tensor | None = None
        self._noisy_release: str | None = None
        self.dp_preprocessing = None
        if not o.mean_match:
            return
        x = self.as_matrix(train)
        delta = cfg.dp_delta or default_delta(len(x))
        means, self.dp_preprocessing = noisy_prevalences(
            x, cfg.dp_epsilon * PREVALENCE_SHARE, delta, o.dp_max_codes, cfg.seed
        )
        self._prevalence = means.clamp(max=1.0) if o.mode == "binary" else means
        noise = self.dp_preprocessing["mean_noise_std"]
        if noise > NOISY_PREVALENCE:  # public: ε, δ, K and n only
            msg = (
                f"--dp-epsilon: the released prevalences carry noise of sd {noise:.3f} each ({len(x)} patients); "
                "at this cohort size they and the synthetic patients are mostly noise (raise ε or use more patients)."
            )
            log.warning(msg)
            self.schema["notes"].append(msg)
            self._noisy_release = f"released prevalences with noise of sd {noise:.3f} each for {len(x)} patients."

    @property
    def codes(self) -> list[str]:
        return self.schema["codes"]

    def as_matrix(self, data: CodeMatrix) -> Tensor:
        """Training-space matrix: columns = the model's codes, presence (binary) or counts."""
        x = data.align(self.codes)
        return (x > 0).float() if self.options.mode == "binary" else x

    def dataset(self, train: CodeMatrix) -> TensorData:
        self._steps_per_epoch = max(1, len(train) // max(1, self.train_config.batch_size))
        return TensorData(self.as_matrix(train))

    def autoencoder_epochs(self) -> int:
        """The paper's 100 epochs, raised on small data so pre-training makes at least 1,000 steps."""
        if self.options.ae_epochs is not None:
            if self.options.ae_epochs < 0:
                raise ConfigError("option --ae-epochs must be 0 or more")
            return self.options.ae_epochs
        return max(100, -(-1000 // getattr(self, "_steps_per_epoch", 1)))

    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        return max(n_train, 1000)

    # ------------------------------------------------------------ networks
    def build(self) -> dict[str, torch.nn.Module]:
        o, d = self.options, len(self.codes)
        if o.embed_dim < 1 or o.generator_layers < 1 or any(w < 1 for w in o.discriminator_dims):
            raise ConfigError("options --embed-dim, --generator-layers and --discriminator-dims must be positive")
        return {
            "encoder": Encoder(d, o.embed_dim),
            "decoder": Decoder(o.embed_dim, d),
            "generator": Generator(o.embed_dim, o.generator_layers, o.mode),
            "discriminator": Discriminator(d, o.discriminator_dims, o.minibatch_average),
        }

    def configure_optimizers(self) -> list[OptimizerSpec]:
        # the paper's reference code: Adam(1e-3) everywhere, L2 1e-3 on all weights;
        # the generator's optimizer fine-tunes the decoder too
        wd = self.options.weight_decay
        return [
            OptimizerSpec("autoencoder", ("encoder", "decoder"), lr=1e-3, betas=(0.9, 0.999), weight_decay=wd),
            OptimizerSpec("discriminator", ("discriminator",), lr=1e-3, betas=(0.9, 0.999), weight_decay=wd),
            OptimizerSpec("generator", ("generator", "decoder"), lr=1e-3, betas=(0.9, 0.999), weight_decay=wd),
        ]

    def phases(self) -> list[Phase]:
        pretrain = Phase(
            "autoencoder", [Step("autoencoder", self.autoencoder_step, "autoencoder")], self.autoencoder_epochs()
        )
        if getattr(self, "_prevalence", None) is None:
            return [pretrain, *super().phases()]
        # under DP: the generator first learns the noisy prevalences alone (no real rows, free)
        warmup = Phase(
            "prevalence",
            [Step("prevalence", self.prevalence_step, "generator")],
            -(-self.options.dp_warmup_steps // getattr(self, "_steps_per_epoch", 1)),
        )
        return [pretrain, warmup, *super().phases()]

    # --------------------------------------------------------------- steps
    def decode(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Decoder output before and after its activation (sigmoid: probabilities; ReLU: counts)."""
        raw = self.nets.decoder(h)
        return raw, (torch.sigmoid(raw) if self.options.mode == "binary" else F.relu(raw))

    def fake(self, n: int) -> Tensor:
        """Dec(G(z)): synthetic patients, z ~ N(0, I)."""
        z = torch.randn(n, self.options.embed_dim, device=self.device)
        return self.decode(self.nets.generator(z))[1]

    def autoencoder_step(self, x: Tensor) -> dict[str, Tensor]:
        raw, x_hat = self.decode(self.nets.encoder(x))
        if self.options.mode == "binary":  # −Σ_codes [x log x̂ + (1−x) log(1−x̂)], mean over patients
            loss = F.binary_cross_entropy_with_logits(raw, x, reduction="none").sum(1).mean()
        else:
            loss = F.mse_loss(x_hat, x)
        return {"loss": loss}

    def prevalence_step(self, x: Tensor | None) -> dict[str, Tensor]:
        """DP warm-up: Σ_codes (mean Dec(G(z)) − p̂)², p̂ the noisy prevalences; sees no real rows."""
        fake = self.fake(self.privacy.expected_batch if self.privacy is not None else 1000)
        return {"loss": (fake.mean(0) - self._prevalence.to(fake.device)).pow(2).sum()}

    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        if self.privacy is not None:
            return self._private_discriminator_step(x)
        d_real = self.nets.discriminator(x)
        d_fake = self.nets.discriminator(self.fake(len(x)).detach())
        loss = L.d_bce(d_real, d_fake)  # −log D(x) − log(1 − D(Dec(G(z))))
        return {"loss": loss, "d_real": torch.sigmoid(d_real).mean(), "d_fake": torch.sigmoid(d_fake).mean()}

    def _private_discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        """DP-SGD's form of L_D: the real rows and a fixed number of fakes (the expected batch) in one
        call, the loss a mean over its rows, so each row's gradient is its own (core/privacy.py)."""
        fake = self.fake(self.privacy.expected_batch).detach()
        logits = self.nets.discriminator(torch.cat([x, fake]))
        target = torch.cat([torch.ones(len(x), device=x.device), torch.zeros(len(fake), device=x.device)])
        loss = F.binary_cross_entropy_with_logits(logits, target)
        return {"loss": loss, "d_fake": torch.sigmoid(logits[len(x) :]).mean()}

    def generator_step(self, x: Tensor | None) -> dict[str, Tensor]:
        # under --dp-epsilon the generator gets no real rows (x is None) and learns through D alone
        fake = self.fake(len(x) if x is not None else self.privacy.expected_batch)
        adv = L.g_nonsaturating(self.nets.discriminator(fake))  # −log D(Dec(G(z)))
        target = x.mean(0) if x is not None else getattr(self, "_prevalence", None)  # DP: the noisy means
        if not self.options.mean_match or target is None:
            return {"loss": adv}
        # prevalence matching (our addition, measured in bench/RESULTS.md): on small cohorts the
        # adversarial game alone oscillates around the code prevalences instead of settling on them
        match = (fake.mean(0) - target.to(fake.device)).pow(2).sum()
        return {
            "loss": adv + self.options.mean_match * match,
            "adversarial": adv.detach(),
            "mean_match": match.detach(),
        }

    # ------------------------------------------------------------- outputs
    def generate(self, n: int, condition: Mapping[str, Any] | None = None, **_: Any) -> CodeMatrix:
        """``n`` synthetic patients (binary: codes drawn from the decoder's probabilities, or rounded with --binarize round)."""
        if condition:
            raise ConfigError("--condition: medgan is unconditional")
        parts = []
        # batch norm uses its running statistics, as the reference code does
        with eval_mode(self.nets.generator, self.nets.decoder):
            for a, b in batched(n, 1000):
                p = self.fake(b - a).float().cpu()
                if self.options.mode == "count":
                    parts.append(p.round())
                elif self.options.binarize == "sample":
                    parts.append(torch.bernoulli(p))
                else:
                    parts.append((p > 0.5).float())
        x = torch.cat(parts) if parts else torch.zeros(0, len(self.codes))
        return CodeMatrix(x, list(self.codes), synthetic_ids(n), np.arange(n, dtype=np.int64))

    def save_samples(self, samples: CodeMatrix, path: Path) -> Path:
        return write_table(to_frame(samples, self.schema["layout"], self.options.mode), path)

    def load_samples(self, path: Path) -> CodeMatrix:
        lay = self.schema["layout"]
        return load_codes(path, lay["format"], lay["patient_col"], lay["code_col"])[0]

    def sample_vectors(self, samples: Any) -> Tensor:
        return self.as_matrix(samples)

    # ---------------------------------------------------------- evaluation
    def evaluate(self, real: CodeMatrix, synthetic: CodeMatrix, train: CodeMatrix | None = None) -> Evaluation:
        """The paper's metrics against the real training split (its protocol) and the held-out one."""
        notes = list(self.schema.get("notes", []))
        ev = M.evaluate(real, synthetic, train, self.codes, notes, self.options.top_k, self.train_config.seed)
        if getattr(self, "_noisy_release", None):  # under DP: a cohort too small for its ε
            ev.diagnostics.append(
                Diagnostic(
                    "dp-noise",
                    str(self._noisy_release),
                    "At this cohort size the prevalences and the synthetic patients are mostly noise: raise "
                    "--dp-epsilon or train on more patients (docs/privacy.md: on the MIMIC-III demo's 64 patients "
                    "DP medGAN was no better than chance; DP needs cohorts of thousands).",
                )
            )
        return ev
