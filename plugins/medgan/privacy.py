"""medGAN under ``--dp-epsilon``: what is refused, turned off or taken from public metadata, so that
no path from the patients to the model bypasses DP-SGD (the list, and why: docs/privacy.md)."""

from __future__ import annotations

import logging
from pathlib import Path

from ganapps.core.errors import ConfigError
from ganapps.plugins.medgan.data import CodeMatrix, group_code
from ganapps.plugins.medgan.options import MedGANOptions

log = logging.getLogger("ganapps.medgan")


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
    if o.mean_match:
        o.mean_match = 0.0
        notes.append("--dp-epsilon: --mean-match is off (it reads the real patients' code means).")
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
