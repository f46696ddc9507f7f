"""The privacy audit: would a leak be caught? (Steinke, Nasr & Jagielski 2023: one training run.)

100 canary patients, each with a code of its own, are put in a tiny training set by fair coins;
medGAN trains once; a white-box membership attack scores each canary by how much the trained
discriminator's logit on it moved from its initial value, and guesses "in" for the 20 highest
scores and "out" for the 20 lowest (r = 40 guesses, fixed in advance). The empirical ε lower bound
of those guesses (core/privacy.py's audit_epsilon, 95% confidence) must stay at or below the
claimed ε of a DP run; the same attack on a run without DP, and on a DP run whose noise is
switched off (clipping alone), must exceed it: the audit can fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import torch
from torch import nn

from ganapps.core import TrainConfig, Trainer
from ganapps.core.privacy import audit_epsilon, audit_p_value

pytest.importorskip("opacus")

CANARIES, BASE, CODES, GUESSES = 100, 60, 8, 20
CLAIM, DELTA = 1.0, 1e-5


def canary_table(seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    """60 real-looking patients over 8 codes, then the canaries that the coins put in (one code each)."""
    rng = np.random.default_rng(seed)
    base = (rng.random((BASE, CODES)) < np.linspace(0.6, 0.1, CODES)).astype(np.int64)
    inside = rng.random(CANARIES) < 0.5
    canaries = np.eye(CANARIES, dtype=np.int64)[inside]
    rows = np.block(
        [[base, np.zeros((BASE, CANARIES), np.int64)], [np.zeros((len(canaries), CODES), np.int64), canaries]]
    )
    names = [f"c{j}" for j in range(CODES)] + [f"k{i}" for i in range(CANARIES)]
    return pl.DataFrame(rows, schema=names, orient="row"), inside


def attack_scores(tmp_path: Path, frame: pl.DataFrame, **train: Any) -> np.ndarray:
    """Train medGAN on ``frame``; each canary's score: D(canary) after training minus before."""
    from ganapps.plugins.medgan.app import MedGAN
    from ganapps.plugins.medgan.options import MedGANOptions

    codes = tmp_path / "codes.txt"
    codes.write_text("\n".join(frame.columns))  # the same public code list with or without DP
    app = MedGAN(MedGANOptions(minibatch_average=False, mean_match=0.0, ae_epochs=0, code_list=str(codes)))
    app.train_config = cfg = TrainConfig(epochs=30, batch_size=32, seed=0, n_critic=2, **train)
    matrix = app.load_data(frame)
    app.fit(matrix)
    torch.manual_seed(cfg.seed)
    app.nets = nn.ModuleDict(app.build())
    d = app.nets.discriminator
    start = {k: v.clone() for k, v in d.state_dict().items()}
    trainer = Trainer(app, cfg, progress=False)
    trainer.fit(app.dataset(matrix))
    trainer.finalize()
    one_hot = torch.zeros(CANARIES, CODES + CANARIES)
    one_hot[torch.arange(CANARIES), CODES + torch.arange(CANARIES)] = 1
    with torch.no_grad():
        after = d(one_hot)
        d.load_state_dict(start)
        return (after - d(one_hot)).numpy()


def empirical_epsilon(scores: np.ndarray, inside: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    right = int(inside[order[:GUESSES]].sum() + (~inside[order[-GUESSES:]]).sum())
    return audit_epsilon(CANARIES, 2 * GUESSES, right, DELTA)


def test_the_audit_bound_is_what_the_paper_says() -> None:
    # pure DP, all r guesses right: reject ε while e^ε/(1+e^ε) ≤ 0.05^(1/r)
    q = 0.05 ** (1 / 40)
    assert audit_epsilon(CANARIES, 40, 40, 0.0) == pytest.approx(np.log(q / (1 - q)), abs=1e-6)
    assert audit_epsilon(CANARIES, 40, 20, 0.0) == 0.0  # chance-level guessing proves nothing
    assert audit_p_value(CANARIES, 40, 40, 1.0, 1e-2) > audit_p_value(CANARIES, 40, 40, 1.0, 0.0)  # δ costs
    assert audit_epsilon(CANARIES, 40, 40, 0.5) == 0.0  # with δ this large nothing can be shown


def test_dp_medgan_passes_the_canary_audit_that_catches_a_leak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame, inside = canary_table()
    leaky = empirical_epsilon(attack_scores(tmp_path, frame), inside)
    assert leaky > CLAIM, f"the attack is too weak to audit ε = {CLAIM}: it finds only ε ≥ {leaky:.2f} without DP"

    private = empirical_epsilon(attack_scores(tmp_path, frame, dp_epsilon=CLAIM, dp_delta=DELTA), inside)
    assert private <= CLAIM, (
        f"PRIVACY LEAK: a medGAN trained with --dp-epsilon {CLAIM} shows ε ≥ {private:.2f} to a membership "
        "attack on canaries (95% confidence): the DP-SGD implementation does not deliver its claim"
    )

    import ganapps.core.privacy as P

    monkeypatch.setattr(P, "noise_for", lambda *a: 0.0)  # a broken DP-SGD: clipping without noise
    broken = empirical_epsilon(attack_scores(tmp_path, frame, dp_epsilon=CLAIM, dp_delta=DELTA), inside)
    assert broken > CLAIM
