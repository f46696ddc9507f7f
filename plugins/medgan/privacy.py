"""medGAN under ``--dp-epsilon``: what is refused, turned off or taken from public metadata, so that
no path from the patients to the model bypasses DP-SGD (the list, and why: docs/privacy.md)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import Tensor

from ganapps.core.accounting import gaussian_noise_for
from ganapps.core.errors import ConfigError
from ganapps.core.meanings import MetricMeaning
from ganapps.plugins.medgan.data import CodeMatrix, group_code
from ganapps.plugins.medgan.options import MedGANOptions

log = logging.getLogger("ganapps.medgan")

#: share of --dp-epsilon spent on the noisy code prevalences of --mean-match (bench/dp_medgan_select.py)
PREVALENCE_SHARE = 0.15


def private_options(o: MedGANOptions) -> list[str]:
    """Refuse, or turn off and say so, what would read patients outside DP-SGD; the notes (data-independent)."""
    if o.visit_col is not None:
        raise ConfigError(
            "option --dp-epsilon protects rows, and with --visit-col a patient has several: drop --visit-col "
            "for patient-level privacy"
        )
    if o.min_count > 1:
        raise ConfigError("option --dp-epsilon: --min-count counts training patients; give --code-list instead")
    notes = []
    if o.minibatch_average:
        o.minibatch_average = False
        notes.append("--dp-epsilon: minibatch averaging is off (it mixes patients in one gradient).")
    if o.dp_max_codes < 1:
        raise ConfigError("option --dp-max-codes must be at least 1")
    if o.dp_warmup_steps < 0:
        raise ConfigError("option --dp-warmup-steps must be 0 or more")
    if o.mean_match:
        notes.append(
            f"--dp-epsilon: --mean-match matches code prevalences released with Gaussian noise "
            f"({PREVALENCE_SHARE:.0%} of the budget), not the patients' own means."
        )
    if o.ae_epochs is None:
        o.ae_epochs = 0
        notes.append(
            "--dp-epsilon: no autoencoder pre-training (give --ae-epochs N to spend part of the budget on it)."
        )
    for note in notes:
        log.info(note)
    return notes


def public_codes(o: MedGANOptions, train: CodeMatrix) -> list[str]:
    """The code list under DP: --code-list, else the columns of wide data (public metadata)."""
    path = o.code_list
    if path is None:
        return list(train.codes)
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"option --code-list: cannot read {path}: {exc.strerror or exc}") from None
    codes = list(dict.fromkeys(c.strip() for c in lines if c.strip()))
    if o.group_codes != "none":
        codes = list(dict.fromkeys(group_code(c, o.group_codes) for c in codes))
    if len(codes) < 2:
        raise ConfigError(f"option --code-list: {path} names {len(codes)} code(s); medGAN needs at least 2")
    return codes


#: what the keys of the prevalence release mean (``App.dp_meanings``; the report's privacy table)
DP_MEANINGS = {
    "share": MetricMeaning("share of ε given to the noisy code prevalences (the rest to DP-SGD)"),
    "sensitivity": MetricMeaning("L2 bound of one patient's row, √(--dp-max-codes); longer rows are scaled down to it"),
    "mean_noise_std": MetricMeaning("noise std of each released prevalence"),
}


def noisy_prevalences(x: Tensor, epsilon: float, delta: float, max_codes: int, seed: int) -> tuple[Tensor, dict]:
    """Each code's mean over the patients, released by the Gaussian mechanism: (means, accountant entry).

    A patient's row is scaled down to L2 norm ≤ √max_codes (binary rows with ≤ max_codes codes are
    untouched), so adding or removing one patient moves the column sums by at most √max_codes in L2;
    the sums get N(0, (σ·√max_codes)²) with σ set so that this release alone is (ε, δ)-DP, and are
    divided by the number of rows (public, as for DP-SGD's sampling rate). The means are what
    ``--mean-match`` matches under DP; the entry composes the release with DP-SGD (core/privacy.py).
    """
    sigma = gaussian_noise_for(epsilon, delta)
    bound = float(max_codes) ** 0.5
    rows = x.double()
    weight = (bound / rows.norm(dim=1).clamp_min(1e-12)).clamp(max=1.0)
    g = torch.Generator().manual_seed(seed * 7919 + 29)
    sums = (rows * weight[:, None]).sum(0) + torch.randn(x.shape[1], generator=g, dtype=torch.float64) * sigma * bound
    means = (sums / max(1, len(x))).clamp_min(0.0)
    entry = {
        "noise_multiplier": sigma,
        "selection_delta": 0.0,
        "share": PREVALENCE_SHARE,
        "sensitivity": round(bound, 4),
        "mean_noise_std": round(sigma * bound / max(1, len(x)), 6),
    }
    return means.float(), entry
