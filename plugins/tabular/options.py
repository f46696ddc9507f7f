"""Options of the ``tabular`` app (``ganapps run tabular --help``); each default is measured in
bench/RESULTS.md (issues 4 and 16)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class TabularOptions:
    metadata: str | None = field(
        default=None, metadata={"help": "SDV Metadata JSON giving column types and the primary key."}
    )
    column_types: dict[str, str] = field(
        default_factory=dict,
        metadata={"help": "Override a column's kind: COL=continuous|categorical|boolean|datetime|id (repeatable)."},
    )
    dp_metadata: str | None = field(
        default=None,
        metadata={
            "help": "With --dp-epsilon: public SDV Metadata JSON, each column optionally with 'categories' [...] "
            "or 'min'/'max'; what it gives is not read off the rows (docs/privacy.md)."
        },
    )
    primary_key: str | None = field(default=None, metadata={"help": "Primary-key column (regenerated, not learned)."})
    target: str | None = field(
        default=None, metadata={"help": "Column to predict for the ML-efficacy metric (train synthetic, test real)."}
    )
    continuous: Literal["quantile", "gmm"] = field(
        default="quantile",
        metadata={"help": "Numbers: one quantile-mapped value (quantile) or mode-specific normalisation (gmm, CTGAN)."},
    )
    max_categories: int = field(default=100, metadata={"help": "One-hot cap per categorical; rarer levels share one."})
    embedding_dim: int = field(default=128, metadata={"help": "Noise size fed to the generator."})
    generator_dim: list[int] = field(
        default_factory=lambda: [256, 256], metadata={"help": "Generator residual widths."}
    )
    discriminator_dim: list[int] = field(default_factory=lambda: [256, 256], metadata={"help": "Critic layer widths."})
    dp_discriminator_dim: list[int] = field(
        default_factory=list,
        metadata={
            "help": "Critic layer widths under --dp-epsilon; by default 128 128 below 3,000 training rows and "
            "64 64 from there (DP-SGD's noise grows with the critic's size; chosen on validation rows, "
            "bench/RESULTS.md)."
        },
    )
    dp_optimizer: Literal["sgd", "adam"] = field(
        default="sgd",
        metadata={
            "help": "The critic's optimizer under --dp-epsilon: sgd (lr 0.3; chosen on validation rows, "
            "bench/RESULTS.md) or adam (lr 1e-3, as without DP); --lr discriminator=X sets the rate."
        },
    )
    pac: int = field(default=10, metadata={"help": "Rows judged together by the critic (PacGAN)."})
    loss: Literal["wgan-gp", "hinge", "bce"] = field(
        default="wgan-gp",
        metadata={"help": "Adversarial loss (bce: non-saturating; --dp-epsilon replaces wgan-gp by it)."},
    )
    gp_weight: float = field(default=10.0, metadata={"help": "Gradient-penalty weight λ (wgan-gp)."})
    gp_every: int = field(
        default=1,
        metadata={"help": "Apply the gradient penalty every k-th critic step, weighted k·λ (lazy regularisation)."},
    )
    tau: float = field(default=0.2, metadata={"help": "Gumbel-softmax temperature of discrete outputs."})
    log_frequency: bool = field(
        default=True, metadata={"help": "Sample training conditions by log-frequency (CTGAN) rather than frequency."}
    )
    target_loss: float = field(
        default=0.0,
        metadata={
            "help": "With --target: weight of CTAB-GAN+'s downstream loss (a model trained on real rows predicts "
            "the target from the other columns; generated rows that disagree are penalised); 0 turns it off."
        },
    )
    target_share: float = field(
        default=0.5,
        metadata={
            "help": "With a categorical --target: share of training steps conditioned on it (others: a column "
            "uniformly, CTGAN); generated rows are then all conditioned on it, at its training frequencies."
        },
    )
    calibrate: bool = field(
        default=True,
        metadata={"help": "After training, match each column's generated marginal to the training one (see docs)."},
    )
    calibrate_by_target: bool = field(
        default=True,
        metadata={
            "help": "With --calibrate and a categorical --target: match each column's distribution within each "
            "target class of at least 100 training rows (smaller classes: over the whole table)."
        },
    )
