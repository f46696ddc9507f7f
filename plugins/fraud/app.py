"""The ``fraud`` app: an adversarial denoising autoencoder that scores transactions.

After Zheng et al. 2018 ("Generative adversarial network based telecom fraud detection at the
receiving bank", Neural Networks 102) and the adversarial autoencoder (Makhzani et al. 2016):

- transactions are standardised (amounts through a signed log) and **whitened** with the
  covariance of normal training rows, so every direction of normal variation has unit scale;
- an encoder E maps a *noisy* transaction x + σε to a small code z, a decoder D maps it back
  (denoising autoencoder); a latent discriminator C tells codes of real transactions from
  draws of the prior N(0, I), and E learns to fool it, which packs normal transactions into a
  tight, Gaussian-shaped region of the code space (and makes D a generator of normal ones);
- the fraud score of x is ‖D(E(x)) − x‖² + w·(E(x) − μ)ᵀΣ⁻¹(E(x) − μ): the reconstruction error
  in the whitened space (x is off the normal manifold) plus the Mahalanobis distance of its code
  to the codes of normal training rows (x lands in a sparse code region); w = 4 by default
  (chosen on validation rows); with w = 1 it is twice the negative log of the joint Gaussian
  density of (x, z), up to a constant.

Training is semi-supervised: it sees only rows labelled normal (all rows when unlabelled).
Labels (``--label``) serve validation, threshold calibration and reporting only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor

from ganapps.core import losses as L
from ganapps.core.app import App, Evaluation, OptimizerSpec, Phase, Step
from ganapps.core.data import TensorData
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.nn import mlp
from ganapps.core.report import figure_png, new_figure
from ganapps.core.tabular import as_polars, detect_columns
from ganapps.plugins.fraud import metrics as M
from ganapps.plugins.fraud.scoring import Scorer, feature_matrix

log = logging.getLogger("ganapps")

#: label column used when ``--label`` is not given and the data have it
DEFAULT_LABEL = "Class"
#: added to the standardised covariance's diagonal before whitening, for numerical safety only: it
#: must stay far below the smallest variance of normal rows (on the ULB data 2.3e-5, a direction
#: only frauds move along; 1e-4 there cost the score ~0.002 ROC-AUC)
RIDGE = 1e-6


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
    ema_networks = ("encoder", "decoder")
    #: boolean result columns `ganapps score` totals
    score_counts = ("fraud",)

    # ---------------------------------------------------------------- data
    def load_data(self, source: Any) -> pl.DataFrame:
        """A table of transactions; checks the label and id columns."""
        where = str(source) if not hasattr(source, "columns") else "data"
        frame = as_polars(source, where)
        o = self.options
        label = o.label if o.label is not None else (DEFAULT_LABEL if DEFAULT_LABEL in frame.columns else None)
        for option, col in (("--label", o.label), ("--id-col", o.id_col)):
            if col is not None and col not in frame.columns:
                raise DataError(f"{option}: {where} has no column {col!r} (columns: {', '.join(frame.columns)})")
        if label is not None:
            y = frame[label]
            ok = y.dtype == pl.Boolean or (y.dtype.is_integer() and set(y.unique().drop_nulls().to_list()) <= {0, 1})
            if not ok or y.null_count():
                raise DataError(f"{where}: label column {label!r} must hold 0/1 (or true/false) in every row")
            frame = frame.with_columns(pl.col(label).cast(pl.Int8))
        self._label = label
        return frame

    @property
    def label(self) -> str | None:
        return self.schema.get("label", getattr(self, "_label", None))

    def split(self, data: pl.DataFrame, holdout: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Train/holdout split, stratified by the label when there is one."""
        train_idx, hold_idx = _stratified(data, self.label, holdout, seed)
        return data[train_idx.tolist()], data[hold_idx.tolist()]

    def _parts(self, train: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(rows the autoencoder may learn from, validation rows), fixed by the seed."""
        fit_idx, val_idx = _stratified(train, self.label, self.options.validation, self.train_config.seed + 1)
        return train[fit_idx.tolist()], train[val_idx.tolist()]

    def _normal(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Rows labelled normal, or all rows of an unlabelled table."""
        return frame.filter(pl.col(self.label) == 0) if self.label else frame

    def fit(self, train: pl.DataFrame) -> None:
        """Choose the features; fit signed-log, standardisation and whitening on normal rows."""
        o = self.options
        if not 0 < o.validation < 1:
            raise ConfigError("option --validation must be between 0 and 1 (exclusive)")
        if o.target_precision is not None and not 0 < o.target_precision < 1:
            raise ConfigError("option --target-precision must be between 0 and 1 (exclusive)")
        if not 0 < o.target_fpr < 1:
            raise ConfigError("option --target-fpr must be between 0 and 1 (exclusive)")
        if o.latent_weight < 0:
            raise ConfigError("option --latent-weight must be 0 or more")
        if o.target_precision is not None and self.label is None:
            raise ConfigError("option --target-precision needs labels (--label COLUMN)")
        if o.augment and self.label is None:
            raise ConfigError("option --augment needs labels (--label COLUMN): it trains a supervised head")
        if o.augment_epochs < 1 or o.augment_samples < 0:
            raise ConfigError("options --augment-epochs must be 1 or more and --augment-samples 0 or more")
        unknown = [c for c in o.exclude if c not in train.columns]
        if unknown:
            raise ConfigError(f"option --exclude: no column {unknown[0]!r} in the data")
        skip = {c for c in (self.label, o.id_col, *o.exclude) if c}
        candidates = [c for c in train.columns if c not in skip]
        if not candidates:
            raise DataError("data: no feature columns left (all are label, id or excluded)")
        specs = detect_columns(train.select(candidates), where="data")
        features, dropped = [], []
        for spec in specs:
            if spec.kind in ("continuous", "boolean") and train[spec.name].dtype.is_numeric():
                features.append(spec.name)
            elif spec.kind == "constant":
                dropped.append(spec.name)
            else:
                raise DataError(
                    f"data: column {spec.name!r} is {spec.kind} ({spec.reason}); fraud scores numeric columns: "
                    f"--exclude {spec.name}, or name it with --id-col"
                )
        if dropped:
            log.info("fraud: ignoring constant column(s) %s", ", ".join(dropped))
        fit_rows, val_rows = self._parts(train)
        normal = _complete(self._normal(fit_rows), features, "training")
        if len(normal) < max(10, len(features) + 2):
            raise DataError(
                f"data: only {len(normal)} normal training rows; the scorer needs at least {len(features) + 2}"
            )
        x = torch.from_numpy(normal.select(features).to_numpy().astype(np.float64))
        log_mask = torch.tensor([c in o.log_columns for c in features])
        x = torch.where(log_mask, torch.sign(x) * torch.log1p(x.abs()), x)
        mean, scale = x.mean(0), x.std(0)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        z = (x - mean) / scale
        cov = torch.cov(z.T) + RIDGE * torch.eye(len(features), dtype=torch.float64)
        chol = torch.linalg.cholesky(cov)  # cov = L Lᵀ; x ↦ x L⁻ᵀ has identity covariance
        whiten = torch.linalg.inv(chol).T
        self.schema = {
            "features": features,
            "label": self.label,
            "id_col": o.id_col,
            "integer": [s.name for s in specs if s.name in features and (s.integer or s.kind == "boolean")],
            "rows": {"fit_normal": len(normal), "validation": len(val_rows)},
        }
        self.tensors = {
            "mean": mean.float(),
            "scale": scale.float(),
            "whiten": whiten.float().contiguous(),
            "unwhiten": chol.T.float().contiguous(),
            "log_mask": log_mask.to(torch.uint8),
        }
        self._x_fit = (((x - mean) / scale) @ whiten).float()

    def dataset(self, train: pl.DataFrame) -> TensorData:
        """Whitened normal rows of the fit part: the only rows the networks learn from."""
        return TensorData(self._x_fit)

    # ------------------------------------------------------------ networks
    def build(self) -> dict[str, torch.nn.Module]:
        o, d = self.options, len(self.schema["features"])
        return {
            "encoder": mlp([d, o.hidden, o.hidden, o.latent_dim], activation="leaky_relu"),
            "decoder": mlp([o.latent_dim, o.hidden, o.hidden, d], activation="leaky_relu"),
            "discriminator": mlp([o.latent_dim, o.hidden, o.hidden, 1], activation="leaky_relu"),
        }

    def import_state(self, schema: dict[str, Any], tensors: dict[str, Tensor]) -> None:
        super().import_state(schema, tensors)
        self._label = schema.get("label")

    def configure_optimizers(self) -> list[OptimizerSpec]:
        return [
            OptimizerSpec("autoencoder", ("encoder", "decoder"), lr=1e-3, betas=(0.9, 0.999)),
            OptimizerSpec("discriminator", ("discriminator",), lr=2e-4, betas=(0.5, 0.999)),
        ]

    def phases(self) -> list[Phase]:
        return [
            Phase(
                "adversarial",
                [
                    Step("autoencoder", self.autoencoder_step, "autoencoder", role="generator", ema=True),
                    Step("discriminator", self.discriminator_step, "discriminator", role="discriminator"),
                ],
                epochs=self.train_config.epochs,
            )
        ]

    # --------------------------------------------------------------- steps
    def autoencoder_step(self, x: Tensor) -> dict[str, Tensor]:
        """Denoising reconstruction + fooling the latent discriminator (codes look like N(0, I))."""
        z = self.nets.encoder(x + self.options.noise * torch.randn_like(x))
        reconstruction = ((self.nets.decoder(z) - x) ** 2).mean()
        adversarial = L.g_nonsaturating(self.nets.discriminator(z))
        return {
            "loss": reconstruction + self.options.adv_weight * adversarial,
            "reconstruction": reconstruction,
            "adversarial": adversarial,
        }

    def discriminator_step(self, x: Tensor) -> dict[str, Tensor]:
        """Latent discriminator: prior draws are real, codes of transactions are fake."""
        with torch.no_grad():
            z = self.nets.encoder(x)
        prior = torch.randn_like(z)
        d_prior, d_code = self.nets.discriminator(prior), self.nets.discriminator(z)
        return {
            "loss": L.d_bce(d_prior, d_code),
            "d_prior": torch.sigmoid(d_prior).mean(),
            "d_code": torch.sigmoid(d_code).mean(),
        }

    # --------------------------------------------------------- calibration
    def calibrate(self, train: pl.DataFrame) -> None:
        """Score statistics on the normal fit rows, then the threshold on the validation rows."""
        features = self.schema["features"]
        fit_rows, val_rows = self._parts(train)
        normal = _complete(self._normal(fit_rows), features, "training")
        x_fit = normal.select(features).to_numpy().astype(np.float32)
        # the codes of normal rows: their mean and precision give the latent distance
        scorer = self.scorer()
        xw = scorer.whiten(x_fit)
        z = scorer.encode(xw).astype(np.float64)
        residual = scorer.decode(z).astype(np.float64) - xw
        # p(x | z) = N(D(z), diag(σ²)) with σ the residual spread of normal rows: what generate() draws
        self.tensors["residual_std"] = torch.from_numpy(residual.std(0, ddof=1)).float()
        cov = np.cov(z.T).reshape(z.shape[1], z.shape[1]) + 1e-6 * np.eye(z.shape[1])
        self.tensors["latent_mean"] = torch.from_numpy(z.mean(0)).float()
        self.tensors["latent_prec"] = torch.from_numpy(np.linalg.inv(cov)).float()
        # the score: rec + w·lat, a joint Gaussian negative log-density of (x, z) (see scoring.combine)
        self.schema["score"] = {"kind": "joint", "latent_weight": float(self.options.latent_weight)}
        rec, lat = self.scorer().components(x_fit)
        self.schema["score"]["normal_fit_median"] = float(np.median(rec + self.options.latent_weight * lat))
        self.schema["threshold"] = 0.0
        val = _complete(val_rows, features, "validation")
        if len(val) == 0:
            raise DataError("data: no complete validation rows to calibrate the threshold on")
        scored = self.scorer().score(val)["score"].to_numpy()
        y = val[self.label].to_numpy() if self.label else None
        self.schema["threshold"], self.schema["calibration"] = _threshold(scored, y, self.options)
        c = self.schema["calibration"]
        log.info("fraud: threshold %.4g calibrated on %d validation rows (%s)", self.schema["threshold"], len(val), c)

    def scorer(self) -> Scorer:
        """The numpy scorer of the current state: every score (calibration, API, CLI, Spark) goes through it."""
        nets = {
            n: {k: v.detach().cpu().numpy() for k, v in self.nets[n].state_dict().items()}
            for n in ("encoder", "decoder")
        }
        tensors = {k: v.detach().cpu().numpy() for k, v in self.tensors.items()}
        return Scorer.from_arrays(self.schema, tensors, nets)

    # ------------------------------------------------------------- scoring
    def score(self, data: Any, row_offset: int = 0) -> Any:
        """Scores of a frame (or a table file, read whole): id/row, score, fraud, error."""
        if isinstance(data, str) or hasattr(data, "suffix"):
            data = as_polars(data, str(data))
        return self.scorer().score(data, row_offset)

    def score_columns(self) -> dict[str, str]:
        return self.scorer().score_columns()

    # ------------------------------------------------------------- outputs
    def generate(self, n: int, condition: Mapping[str, Any] | None = None, **_: Any) -> pl.DataFrame:
        """Synthetic *normal* transactions: x = D(z) + σε, z ~ N(0, I) (the prior the latent
        discriminator enforces), σ the per-dimension residual of normal rows; back to raw units."""
        if condition:
            raise ConfigError("--condition: the fraud app generates normal transactions only")
        t = {k: v.to(self.device) for k, v in self.tensors.items()}
        with torch.no_grad():
            z = torch.randn(n, self.options.latent_dim, device=self.device)
            xw = self.nets.decoder(z) + t["residual_std"] * torch.randn(n, len(t["mean"]), device=self.device)
            x = (xw @ t["unwhiten"]) * t["scale"] + t["mean"]
            x = torch.where(t["log_mask"].bool(), torch.sign(x) * torch.expm1(x.abs()), x)
        x = x.double().cpu().numpy()
        cols = {}
        for j, c in enumerate(self.schema["features"]):
            cols[c] = pl.Series(c, np.round(x[:, j]).astype(np.int64)) if c in self.schema["integer"] else x[:, j]
        frame = pl.DataFrame(cols)
        if self.label:
            frame = frame.with_columns(pl.lit(0, dtype=pl.Int8).alias(self.label))
        return frame

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

    # ---------------------------------------------------------- evaluation
    def evaluate(self, real: pl.DataFrame, synthetic: Any, train: pl.DataFrame | None = None) -> Evaluation:
        """Detection metrics on the holdout, at its fraud share and at 0.5%, beside classical baselines."""
        features, seed = self.schema["features"], self.train_config.seed
        real = _complete(real, features, "holdout")
        scorer = self.scorer()
        scores = scorer.score(real)["score"].to_numpy()
        th = self.schema["threshold"]
        m: dict[str, Any] = {"holdout_rows": len(real), "threshold": th, "flag_rate": float((scores >= th).mean())}
        notes = [
            "score = reconstruction error (whitened space) + latent_weight × Mahalanobis distance of the code to "
            "normal training codes (a joint Gaussian negative log-density); higher = more suspicious.",
            f"threshold calibrated on {self.schema['rows']['validation']} validation rows the networks never saw: "
            f"{self.schema.get('calibration', {})}.",
        ]
        figures: dict[str, bytes] = {}
        if isinstance(synthetic, pl.DataFrame) and len(synthetic):
            syn = scorer.score_matrix(feature_matrix(synthetic, features)[0])
            m["synthetic_flag_rate"] = float(np.nanmean(syn >= th))
            notes.append(
                "synthetic_flag_rate: share of decoded prior draws (synthetic normal transactions) the scorer flags; "
                "near the target FPR when the decoder's output looks normal to the scorer."
            )
        y = real[self.label].to_numpy() if self.label else None
        if y is None or len(np.unique(y)) < 2:
            notes.append("no labels with both classes in the holdout: ranking metrics and baselines need --label")
            figures["score histogram"] = _histogram(scores, None, th)
            return Evaluation(metrics=m, figures=figures, notes=notes)
        m["holdout_frauds"] = int(y.sum())
        m.update(M.ranking(y, scores))
        m.update(M.at_threshold(y, scores, th))
        subsets = M.low_share_draws(y, M.LOW_SHARE, M.DRAWS, seed)
        m["at_0_5pct_share"] = M.ranking_at_share(y, scores, subsets)
        # classical detectors fitted on the same normal rows, in the same standardised space
        if train is not None:
            fit_rows, val_rows = self._parts(train)
            fit_rows = _complete(fit_rows, features, "training")
            val_rows = _complete(val_rows, features, "validation")
            normal = self._normal(fit_rows)

            def std(frame: pl.DataFrame) -> np.ndarray:  # the baselines' space: signed-logged, standardised
                return scorer.standardise(frame.select(features).to_numpy()).astype(np.float64)

            all_train = _complete(train, features, "training")
            labelled = (std(all_train), all_train[self.label].to_numpy())
            # each detector scores the validation rows too, to calibrate its own threshold as the app does
            both = M.baseline_scores(std(normal), np.vstack([std(val_rows), std(real)]), seed, labelled)
            y_val = val_rows[self.label].to_numpy()
            base = {name: s[len(val_rows) :] for name, s in both.items()}
            m["baselines"] = {}
            for name, s in base.items():
                m["baselines"][name] = {**M.ranking(y, s), "at_0_5pct_share": M.ranking_at_share(y, s, subsets)}
                if not name.endswith("_supervised"):  # the supervised reference trained on the validation rows
                    threshold, _ = _threshold(both[name][: len(val_rows)], y_val, self.options)
                    m["baselines"][name].update(M.at_threshold(y, s, threshold))
            unsup = {k: v for k, v in m["baselines"].items() if not k.endswith("_supervised")}
            best = max(unsup, key=lambda k: unsup[k]["pr_auc"])
            m["best_baseline"] = best
            # the difference to it, and whether it is more than this holdout's noise (paired bootstrap over its rows)
            m["vs_best_baseline"] = {"baseline": best, **M.paired_bootstrap(y, scores, base[best], seed=seed)}
            v = m["vs_best_baseline"]
            notes.append(
                f"against the best unsupervised baseline ({best}), paired bootstrap over the holdout rows (200 "
                f"resamples): ROC-AUC {v['roc_auc']['difference']:+.4f} (95% interval {v['roc_auc']['ci95'][0]:+.4f} "
                f"to {v['roc_auc']['ci95'][1]:+.4f}), PR-AUC {v['pr_auc']['difference']:+.4f} "
                f"({v['pr_auc']['ci95'][0]:+.4f} to {v['pr_auc']['ci95'][1]:+.4f}); an interval containing 0 means "
                "this holdout cannot tell the two apart."
            )
            figures["precision-recall"] = _pr_curves(y, {"fraud AE-GAN": scores, **base})
            notes.append(
                "baselines are fitted on the same normal training rows (signed-log amounts, standardised), and each "
                "unsupervised one gets its own threshold, calibrated on the same validation rows for the same target; "
                "logistic_regression_supervised is trained on all labelled training rows, as a reference only."
            )
            if self.options.augment:  # opt-in: labels train a supervised head (plugins/fraud/augment.py)
                from ganapps.plugins.fraud.augment import augmented_head

                frauds = fit_rows.filter(pl.col(self.label) == 1)
                m["augmented_head"] = augmented_head(
                    std(normal),
                    std(frauds),
                    std(real),
                    y,
                    subsets,
                    seed=seed,
                    epochs=self.options.augment_epochs,
                    samples=self.options.augment_samples,
                    device=str(self.device),
                )
                notes.append(
                    "augmented_head (--augment, labels used for training): a logistic regression on the fit "
                    "part's normal rows and frauds, 'with_synthetic' adding frauds drawn from a GAN trained on "
                    "those frauds, 'without_synthetic' the same rows without them; the score above is unchanged."
                )
        notes.append(
            f"at_0_5pct_share: the holdout with frauds subsampled to {M.LOW_SHARE:.1%} of rows, mean of "
            f"{M.DRAWS} draws (every detector sees the same draws)."
        )
        figures["score histogram"] = _histogram(scores, y, th)
        return Evaluation(metrics=m, figures=figures, notes=notes)


# ------------------------------------------------------------------ helpers
def _stratified(frame: pl.DataFrame, label: str | None, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held) row indices: ``share`` of the rows held out, per class when labelled; seeded."""
    rng = np.random.default_rng(seed)
    n = frame.height
    groups = [np.arange(n)] if not label else [np.flatnonzero(frame[label].to_numpy() == v) for v in (0, 1)]
    kept, held = [], []
    for g in groups:
        g = rng.permutation(g)
        k = int(round(len(g) * share)) if share > 0 else 0
        held.append(g[:k])
        kept.append(g[k:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def _complete(frame: pl.DataFrame, features: list[str], what: str) -> pl.DataFrame:
    """Rows whose features are all present and numeric (others are logged and left out)."""
    x, errors = feature_matrix(frame, features)
    bad = np.array([e is not None for e in errors], dtype=bool)
    if bad.any():
        log.warning("fraud: leaving out %d %s row(s) with missing values (first: %s)", bad.sum(), what, errors[bad][0])
        return frame.filter(pl.Series(~bad))
    return frame


def _threshold(scores: np.ndarray, y: np.ndarray | None, o: FraudOptions) -> tuple[float, dict[str, Any]]:
    """The calibrated threshold and what it achieved on the validation rows."""
    normal = scores if y is None else scores[y == 0]
    if o.target_precision is not None:
        assert y is not None
        order = np.argsort(-scores, kind="stable")
        tp = np.cumsum(y[order] == 1)
        precision = tp / np.arange(1, len(order) + 1)
        ok = np.flatnonzero(precision >= o.target_precision)
        if len(ok) and y.sum():
            i = ok.max()
            threshold = float(scores[order][i])
        else:
            threshold = float(scores.max())
            log.warning(
                "fraud: no threshold reaches precision %.2f on validation; flagging the top score", o.target_precision
            )
        target = {"target_precision": o.target_precision}
    else:
        threshold = float(np.quantile(normal, 1 - o.target_fpr, method="higher")) if len(normal) else 0.0
        target = {"target_fpr": o.target_fpr}
    flag = scores >= threshold
    out: dict[str, Any] = {
        **target,
        "rows": int(len(scores)),
        "fpr": float(flag[y == 0].mean() if y is not None else flag.mean()),
    }
    if y is not None and y.sum():
        out["recall"] = float(flag[y == 1].mean())
        out["precision"] = float((y[flag] == 1).mean()) if flag.any() else float("nan")
    return threshold, out


def _histogram(scores: np.ndarray, y: np.ndarray | None, threshold: float) -> bytes:
    fig, ax = new_figure(6, 3.2)
    bins = np.linspace(np.nanmin(scores), np.nanmax(scores), 60)
    if y is None:
        ax.hist(scores, bins=bins, color="#4a7ab0", alpha=0.8, label="all rows")
    else:
        ax.hist(scores[y == 0], bins=bins, color="#4a7ab0", alpha=0.7, density=True, label="normal")
        ax.hist(scores[y == 1], bins=bins, color="#c0392b", alpha=0.6, density=True, label="fraud")
    ax.axvline(threshold, color="black", ls="--", lw=1, label="threshold")
    ax.set_yscale("log")
    ax.set_xlabel("fraud score (holdout)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    return figure_png(fig)


def _pr_curves(y: np.ndarray, scores: dict[str, np.ndarray]) -> bytes:
    from sklearn.metrics import precision_recall_curve

    fig, ax = new_figure(5.5, 4)
    for name, s in scores.items():
        p, r, _ = precision_recall_curve(y, s)
        ax.plot(r, p, lw=2 if name.startswith("fraud") else 1, label=name)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(fontsize=7)
    return figure_png(fig)
