"""Options of the ``medgan`` app (``ganapps run medgan --help``); defaults and deviations from the paper
are measured in docs/medgan.md and bench/RESULTS.md (issue 3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class MedGANOptions:
    mode: Literal["binary", "count"] = field(
        default="binary",
        metadata={"help": "binary: code present or not (sigmoid, BCE); count: code counts (ReLU, MSE)."},
    )
    format: Literal["auto", "long", "wide"] = field(
        default="auto", metadata={"help": "Data layout: long (patient, code rows), wide (a column per code) or auto."}
    )
    patient_col: str | None = field(default=None, metadata={"help": "Patient id column (detected: subject_id, ...)."})
    code_col: str | None = field(
        default=None, metadata={"help": "Code column of long data (detected: icd9_code, ...)."}
    )
    visit_col: str | None = field(
        default=None, metadata={"help": "Visit column of long data: one record per visit instead of per patient."}
    )
    group_codes: Literal["none", "icd9-3digit"] = field(
        default="none", metadata={"help": "Group codes before training: icd9-3digit maps 4019 → 401."}
    )
    min_count: int = field(
        default=1, metadata={"help": "Drop codes seen in fewer training patients than this (a note says how many)."}
    )
    embed_dim: int = field(default=128, metadata={"help": "Autoencoder embedding = noise size = generator width."})
    generator_layers: int = field(default=2, metadata={"help": "Residual blocks in the generator."})
    discriminator_dims: list[int] = field(
        default_factory=lambda: [256, 128], metadata={"help": "Hidden widths of the discriminator."}
    )
    minibatch_average: bool = field(default=True, metadata={"help": "Minibatch averaging in the discriminator."})
    ae_epochs: int | None = field(
        default=None,
        metadata={"help": "Epochs of autoencoder pre-training (default: 100, or more to make at least 1,000 steps)."},
    )
    weight_decay: float = field(default=1e-3, metadata={"help": "L2 weight decay of every network (paper: 1e-3)."})
    binarize: Literal["sample", "round"] = field(
        default="sample",
        metadata={"help": "Binary mode: draw codes from the decoder's probabilities, or round them (paper)."},
    )
    top_k: int = field(default=20, metadata={"help": "Dimension-wise prediction: the K most frequent codes."})
    mean_match: float = field(
        default=30.0,
        metadata={
            "help": "Weight of a prevalence-matching term in G's loss, Σ_codes (mean fake − mean real)² "
            "(0 = the paper's loss alone; under --dp-epsilon it matches noisy prevalences, docs/privacy.md)."
        },
    )
    code_list: str | None = field(
        default=None,
        metadata={
            "help": "File of the codes to model, one per line (public metadata, e.g. every ICD-9 code; "
            "replaces --min-count); --dp-epsilon with long data needs it, since the codes seen in the patients "
            "are private."
        },
    )
    dp_warmup_steps: int = field(
        default=500,
        metadata={
            "help": "Under --dp-epsilon with --mean-match: generator steps on the noisy prevalences alone before "
            "the adversarial phase (free: no real rows)."
        },
    )
    dp_max_codes: int = field(
        default=64,
        metadata={
            "help": "Under --dp-epsilon: a patient with more codes counts with L2 weight √N in the noisy code "
            "prevalences that --mean-match matches (the release's sensitivity)."
        },
    )
