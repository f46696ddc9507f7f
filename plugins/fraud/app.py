"""The ``fraud`` app: an adversarial denoising autoencoder that scores transactions (Zheng et al. 2018).

Glue between the engine and the app's parts: ``data.py`` reads, splits and whitens the
transactions; ``model.py`` holds the networks and their losses (the objective is written there);
``calibration.py`` fits the score's normal statistics and the threshold after training;
``scoring.py`` computes every score in numpy (also for ``ganapps score``, without torch);
``metrics.py`` evaluates against classical detectors; ``augment.py`` is the opt-in
``--augment`` head.

Training is semi-supervised: it sees only rows labelled normal (all rows when unlabelled).
Labels (``--label``) serve validation, threshold calibration and reporting only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor

from ganapps.core.app import App, Evaluation, OptimizerSpec, Phase, Step
from ganapps.core.data import TensorData
from ganapps.core.errors import ConfigError
from ganapps.core.io import read_table
from ganapps.plugins.fraud import calibration as C
from ganapps.plugins.fraud import data as D
from ganapps.plugins.fraud import metrics as M
from ganapps.plugins.fraud import model
from ganapps.plugins.fraud.scoring import Scorer, feature_matrix


@dataclass
class FraudOptions:
    label: str | None = field(
        default=None,
        metadata={
            "help": "Label column (1 = fraud): used for validation, threshold calibration and metrics, never for "
            "training. Default: 'Class' when the data have it, else unlabelled."
        },
    )
    id_col: str | None = field(default=None, metadata={"help": "Id column copied to the scores (default: row number)."})
    exclude: list[str] = field(default_factory=list, metadata={"help": "Columns not used as features (repeatable)."})
    log_columns: list[str] = field(
        default_factory=lambda: ["Amount"],
        metadata={"help": "Heavy-tailed columns taken through sign(x)·log(1+|x|) (absent ones are skipped)."},
    )
    target_fpr: float = field(
        default=0.01, metadata={"help": "Calibrate the threshold to flag this share of normal validation rows."}
    )
    target_precision: float | None = field(
        default=None, metadata={"help": "Instead: the lowest threshold reaching this precision on validation."}
    )
    validation: float = field(
        default=0.2, metadata={"help": "Share of the training split kept from the autoencoder to calibrate on."}
    )
    latent_dim: int = field(default=4, metadata={"help": "Size of the code z."})
    hidden: int = field(default=32, metadata={"help": "Width of the hidden layers."})
    noise: float = field(default=0.7, metadata={"help": "Std of the denoising noise, in whitened units."})
    adv_weight: float = field(default=0.1, metadata={"help": "Weight of the adversarial (latent prior) loss."})
    latent_weight: float = field(
        default=4.0,
        metadata={
            "help": "Score = reconstruction error + this × latent Mahalanobis distance (1: the joint Gaussian "
            "negative log-density of (x, z); 4 chosen on validation rows)."
        },
    )
    augment: bool = field(
        default=False,
        metadata={
            "help": "Opt-in use of labels for training: a GAN learns the fraud rows of the training part and "
            "oversamples them for a supervised head (logistic regression), reported beside the same head "
            "without synthetic frauds (metrics 'augmented_head'); the unsupervised score does not change."
        },
    )
    augment_epochs: int = field(default=500, metadata={"help": "--augment: epochs of the fraud-class GAN."})
    augment_samples: int = field(
        default=0, metadata={"help": "--augment: synthetic frauds to add (0: as many as balance the classes)."}
    )


class Fraud(App):
    name = "fraud"
    kind = "scoring"
    description = "Adversarial denoising autoencoder fraud scorer (Zheng et al. 2018); `ganapps score` scores files"
    Options = FraudOptions
    train_defaults = {"epochs": 80, "batch_size": 128}
    default_dataset = "creditcard-sample"
    metric_meanings = M.meanings()
    ema_networks = ("encoder", "decoder")
    #: boolean result columns `ganapps score` totals
    score_counts = ("fraud",)

    # ---------------------------------------------------------------- data
    def load_data(self, source: Any) -> pl.DataFrame:
        """A table of transactions; checks the label and id columns."""
        frame, self._label = D.read_transactions(
            source, self.options.label, self.options.id_col, self.data_name(source)
        )
        return frame

    @property
    def label(self) -> str | None:
        return self.schema.get("label", getattr(self, "_label", None))

    def split(self, data: pl.DataFrame, holdout: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Train/holdout split, stratified by the label when there is one."""
        train_idx, hold_idx = D.stratified(data, self.label, holdout, seed)
        return data[train_idx.tolist()], data[hold_idx.tolist()]

    def _parts(self, train: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(rows the autoencoder may learn from, validation rows), fixed by the seed."""
        fit_idx, val_idx = D.stratified(train, self.label, self.options.validation, self.train_config.seed + 1)
        return train[fit_idx.tolist()], train[val_idx.tolist()]

    def _normal(self, rows: pl.DataFrame, features: list[str]) -> pl.DataFrame:
        """The complete rows labelled normal (all complete rows when unlabelled)."""
        return D.complete(D.normal_rows(rows, self.label), features, "training")

    def fit(self, train: pl.DataFrame) -> None:
        """Choose the features; fit signed-log, standardisation and whitening on normal rows."""
        o = self.options
        check_options(o, self.label)
        features, specs = D.choose_features(train, self.label, o.id_col, o.exclude)
        fit_rows, val_rows = self._parts(train)
        normal = self._normal(fit_rows, features)
        self.tensors, self._x_fit = D.fit_whitening(normal, features, o.log_columns)
        self.schema = {
            "features": features,
            "label": self.label,
            "id_col": o.id_col,
            "integer": [s.name for s in specs if s.name in features and (s.integer or s.kind == "boolean")],
            "rows": {"fit_normal": len(normal), "validation": len(val_rows)},
        }

    def dataset(self, train: pl.DataFrame) -> TensorData:
        """Whitened normal rows of the fit part: the only rows the networks learn from."""
        return TensorData(self._x_fit)

    # ------------------------------------------------------------ networks
    def build(self) -> dict[str, torch.nn.Module]:
        return model.networks(len(self.schema["features"]), self.options.hidden, self.options.latent_dim)

    def import_state(self, schema: dict[str, Any], tensors: dict[str, Tensor]) -> None:
        super().import_state(schema, tensors)
        self._label = schema.get("label")

    def configure_optimizers(self) -> list[OptimizerSpec]:
        return [
            OptimizerSpec("autoencoder", ("encoder", "decoder"), lr=1e-3, betas=(0.9, 0.999)),
            OptimizerSpec("discriminator", ("discriminator",), lr=2e-4, betas=(0.5, 0.999)),
        ]

    def phases(self) -> list[Phase]:
        steps = [
            Step("autoencoder", self.autoencoder_step, "autoencoder", role="generator", ema=True),
            Step("discriminator", self.discriminator_step, "discriminator", role="discriminator"),
        ]
        return [Phase("adversarial", steps, epochs=self.train_config.epochs)]

    def autoencoder_step(self, x: Tensor) -> dict[str, Tensor]:
        n, o = self.nets, self.options
        return model.autoencoder_loss(n.encoder, n.decoder, n.discriminator, x, o.noise, o.adv_weight)

    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        return model.discriminator_loss(self.nets.encoder, self.nets.discriminator, x)

    # --------------------------------------------------------- calibration
    def calibrate(self, train: pl.DataFrame) -> None:
        """Score statistics on the normal fit rows, then the threshold on the validation rows."""
        features = self.schema["features"]
        fit_rows, val_rows = self._parts(train)
        x_fit = self._normal(fit_rows, features).select(features).to_numpy().astype(np.float32)
        for key, value in C.normal_statistics(self.scorer(), x_fit).items():
            self.tensors[key] = torch.from_numpy(value).float()
        scorer = self.scorer()  # calibrated now; it reads the score and threshold from self.schema
        C.define_score(self.schema, scorer, x_fit, self.options.latent_weight)
        val = D.complete(val_rows, features, "validation")
        y = val[self.label].to_numpy() if self.label else None
        C.calibrate_threshold(self.schema, scorer, val, y, self.options)

    def scorer(self) -> Scorer:
        """The numpy scorer of the current state: every score (calibration, API, CLI, Spark) goes through it."""
        nets = {
            n: {k: v.detach().cpu().numpy() for k, v in self.nets[n].state_dict().items()}
            for n in ("encoder", "decoder")
        }
        tensors = {k: v.detach().cpu().numpy() for k, v in self.tensors.items()}
        return Scorer.from_arrays(self.schema, tensors, nets)

    # ------------------------------------------------------------- outputs
    def score(self, data: Any, row_offset: int = 0) -> Any:
        """Scores of a frame (or a table file, read whole): id/row, score, fraud, error."""
        if isinstance(data, str) or hasattr(data, "suffix"):
            data = read_table(data, str(data))
        return self.scorer().score(data, row_offset)

    def score_columns(self) -> dict[str, str]:
        return self.scorer().score_columns()

    def generate(self, n: int, condition: Mapping[str, Any] | None = None, **_: Any) -> pl.DataFrame:
        """Synthetic *normal* transactions: D(z) + σε, z ~ N(0, I) (model.sample_normal), in raw units."""
        if condition:
            raise ConfigError("--condition: the fraud app generates normal transactions only")
        t = {k: v.to(self.device) for k, v in self.tensors.items()}
        xw = model.sample_normal(self.nets.decoder, t["residual_std"], n, self.options.latent_dim, self.device)
        x = D.to_raw(xw, t).double().cpu().numpy()
        return D.to_frame(x, self.schema["features"], self.schema["integer"], self.label)

    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        return 1000

    def sample_vectors(self, samples: Any) -> Tensor | None:
        if not hasattr(samples, "columns"):
            return None
        if self.label and self.label in samples.columns:  # the decoder draws normal rows: compare with those
            samples = samples.filter(pl.col(self.label) == 0)
        x, _ = feature_matrix(samples, self.schema["features"])
        x = x[np.isfinite(x).all(1)]
        return torch.from_numpy(self.scorer().standardise(x))

    def evaluate(self, real: pl.DataFrame, synthetic: Any, train: pl.DataFrame | None = None) -> Evaluation:
        """Detection metrics on the holdout beside classical baselines (``metrics.evaluate``)."""
        split = None if train is None else (train, *self._parts(train))
        ctx = {"label": self.label, "options": self.options, "seed": self.train_config.seed}
        return M.evaluate(self.scorer(), real, synthetic, split, **ctx, device=str(self.device))


def check_options(o: FraudOptions, label: str | None) -> None:
    """Option values that cannot work, as one-line ConfigErrors before anything is fitted."""
    for name, value in (("validation", o.validation), ("target-precision", o.target_precision)):
        if value is not None and not 0 < value < 1:
            raise ConfigError(f"option --{name} must be between 0 and 1 (exclusive)")
    if not 0 < o.target_fpr < 1:
        raise ConfigError("option --target-fpr must be between 0 and 1 (exclusive)")
    if o.latent_weight < 0:
        raise ConfigError("option --latent-weight must be 0 or more")
    if o.target_precision is not None and label is None:
        raise ConfigError("option --target-precision needs labels (--label COLUMN)")
    if o.augment and label is None:
        raise ConfigError("option --augment needs labels (--label COLUMN): it trains a supervised head")
    if o.augment_epochs < 1 or o.augment_samples < 0:
        raise ConfigError("options --augment-epochs must be 1 or more and --augment-samples 0 or more")
