"""Differential privacy (core/privacy.py): the accountant, DP-SGD in the Trainer, medgan's DP runs from
the CLI and the Python API, resume, and the combinations that cannot be private (one line, exit 2)."""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import torch
from torch import Tensor, nn

from ganapps.cli.testing import cli_fails, cli_ok
from ganapps.core import ConfigError, TrainConfig, Trainer, load_bundle, run
from ganapps.core.accounting import gaussian_noise_for
from ganapps.core.checkpoint import load_checkpoint
from ganapps.core.privacy import PrivacyPlan, default_delta, noise_for, spent
from ganapps.core.rundir import RunDir
from ganapps.core.testing import RingApp, RingOptions
from ganapps.plugins.medgan.privacy import noisy_prevalences

pytest.importorskip("opacus")

sys.path.insert(0, str(Path(__file__).parent))
from test_medgan import long_csv, wide_csv  # noqa: E402

DP = ["--dp-epsilon", "3", "--epochs", "4", "--batch-size", "32", "--top-k", "5"]


# ------------------------------------------------------------------ the accountant
def test_noise_multiplier_is_opacus_rdp_and_spends_the_budget() -> None:
    from opacus.accountants.utils import get_noise_multiplier

    sigma = noise_for(3.0, 1e-4, 0.4, 300)
    assert sigma == get_noise_multiplier(target_epsilon=3.0, target_delta=1e-4, sample_rate=0.4, steps=300)
    assert sigma == pytest.approx(9.2969, abs=1e-3)  # pinned: a change of accountant shows here
    plan = PrivacyPlan(3.0, 1e-4, 1.0, 100, 40, 0.4, 300, sigma)
    assert 2.99 <= spent(plan, 300) <= 3.0  # the planned steps spend the budget, not more
    assert spent(plan, 100) < spent(plan, 300) and spent(plan, 0) == 0
    assert noise_for(1.0, 1e-5, 0.01, 1000) > noise_for(8.0, 1e-5, 0.01, 1000)  # less ε, more noise
    assert default_delta(1000) == 1e-4 < 1 / 1000


def test_a_budget_too_small_for_the_steps_is_one_line() -> None:
    with pytest.raises(ConfigError, match="too small"):
        noise_for(1e-6, 1e-10, 1.0, 10_000)


# ------------------------------------------------------------------ the engine's DP-SGD
class DPRing(RingApp):
    """The ring app written for DP-SGD: one call of D on real and generated rows, a fixed number of these."""

    name = "dpring"
    dp_refusal = None
    fakes = "expected"  # or "real" (as many as real rows: refused) or "two-calls" (refused)
    norm = False

    def build(self) -> dict[str, nn.Module]:
        nets = super().build()
        if self.norm:
            nets["discriminator"] = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
        return nets

    def discriminator_step(self, real: Tensor) -> dict[str, Tensor]:
        n = self.privacy.expected_batch if self.fakes != "real" else len(real)
        fake = self._fake(n).detach()
        d = self.nets.discriminator
        if self.fakes == "two-calls":
            return {"loss": d(real).mean() - d(fake).mean()}
        logits = d(torch.cat([real, fake])).reshape(-1)
        target = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))])
        return {"loss": nn.functional.binary_cross_entropy_with_logits(logits, target)}

    def generator_step(self, real: Any) -> dict[str, Tensor]:
        assert real is None  # the generator never sees real rows under DP
        logits = self.nets.discriminator(self._fake(self.privacy.expected_batch))
        return {"loss": nn.functional.softplus(-logits).mean()}


def ring(**kw: Any) -> tuple[DPRing, Any]:
    app = DPRing(RingOptions(rows=128))
    for k, v in kw.items():
        setattr(app, k, v)
    data = app.load_data(None)
    app.fit(data)
    return app, data


DPCFG = dict(epochs=3, batch_size=32, seed=3, n_critic=2, dp_epsilon=2.0)


def test_dp_sgd_trains_privately_and_deterministically() -> None:
    a, data = ring()
    trainer = Trainer(a, TrainConfig(**DPCFG), progress=False)
    res = trainer.fit(data)
    trainer.finalize()
    p = res.privacy
    assert p is not None and p["steps"] == p["steps_taken"] == 3 * 4  # 128 rows / 32: 4 batches an epoch
    assert p["sample_rate"] == 0.25 and p["delta"] == default_delta(128) and p["private_networks"] == ["discriminator"]
    assert 1.9 <= p["epsilon_spent"] <= 2.0 and p["noise_multiplier"] > 0.5
    b, data = ring()
    Trainer(b, TrainConfig(**DPCFG), progress=False).fit(data)
    for (k, x), (_, y) in zip(a.nets.state_dict().items(), b.nets.state_dict().items(), strict=True):
        assert torch.equal(x, y), k
    assert not hasattr(next(a.nets.discriminator.parameters()), "grad_sample")  # opacus' hooks are gone


def test_dp_noise_is_really_added() -> None:
    """The same run without DP, and with DP at a huge ε (σ small), end elsewhere than at ε = 2."""
    a, data = ring()
    Trainer(a, TrainConfig(**DPCFG), progress=False).fit(data)
    b, data = ring()
    Trainer(b, TrainConfig(**{**DPCFG, "dp_epsilon": 1e4}), progress=False).fit(data)
    wa, wb = (torch.cat([p.flatten() for p in x.nets.discriminator.parameters()]) for x in (a, b))
    assert (wa - wb).norm() > 0.1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"norm": True}, "is BatchNorm1d, which mixes the rows of a batch; use GroupNorm or LayerNorm"),
        ({"fakes": "two-calls"}, "calls 'discriminator' 2 times"),
        ({"fakes": "real"}, "their number must not depend on the real batch"),
    ],
)
def test_what_opacus_cannot_make_private_is_refused(change: dict[str, Any], message: str) -> None:
    app, data = ring(**change)
    with pytest.raises(ConfigError, match=message):
        Trainer(app, TrainConfig(**DPCFG), progress=False).fit(data)


def test_resume_keeps_the_accountant(tmp_path: Path) -> None:
    a, data = ring()
    Trainer(a, TrainConfig(**DPCFG), progress=False).fit(data)
    b, data = ring()
    Trainer(b, TrainConfig(**DPCFG, max_steps=5), run_dir=RunDir(tmp_path), progress=False).fit(data)
    assert load_checkpoint(RunDir(tmp_path).last_checkpoint)["privacy"]["taken"] == 5
    c, data = ring()
    res = Trainer(c, TrainConfig(**DPCFG), run_dir=RunDir(tmp_path), progress=False).fit(
        data, resume=str(RunDir(tmp_path).last_checkpoint)
    )
    assert res.privacy["steps_taken"] == 12
    for (k, x), (_, y) in zip(a.nets.state_dict().items(), c.nets.state_dict().items(), strict=True):
        assert torch.equal(x, y), k
    d, data = ring()  # more epochs would need another σ: refused
    with pytest.raises(ConfigError, match="resumes with its own epochs"):
        Trainer(d, TrainConfig(**{**DPCFG, "epochs": 5}), run_dir=RunDir(tmp_path), progress=False).fit(
            data, resume=str(RunDir(tmp_path).last_checkpoint)
        )


# ------------------------------------------------------------------ medgan from the CLI and the API
def bundle_notes(run_dir: Path) -> list[str]:
    """What the app said it replaced or turned off under DP (--dp-epsilon lines of the bundle's notes)."""
    return [n for n in load_bundle(run_dir).schema["notes"] if "mostly noise" not in n]


def test_medgan_dp_from_the_cli(in_tmp: Path) -> None:
    data = wide_csv(in_tmp / "wide.csv")
    cli_ok("run", "medgan", "--data", str(data), *DP, "--out", "run")
    m = json.loads((in_tmp / "run" / "metrics.json").read_text())
    p = m["differential_privacy"]
    assert p["epsilon"] == 3 and 2.9 <= p["epsilon_spent"] <= 3 and p["accountant"] == "rdp"
    assert p["sample_rate"] == pytest.approx(32 / 96) and p["steps"] == p["steps_taken"] == 4 * 3
    assert p["delta"] == pytest.approx(1 / 960) and p["noise_multiplier"] > 1
    assert p["private_networks"] == ["discriminator"]  # no autoencoder pre-training by default under DP
    # membership inference and DCR stay in every report
    assert {"membership_auc", "dcr_ratio"} <= set(m["metrics"]["privacy"])
    report = (in_tmp / "run" / "report.html").read_text()
    assert "differential privacy" in report and "σ = " in report
    # the report's privacy section: the whole accounting explained, and what DP turned off
    section = report.split("<h2>Differential privacy</h2>")[1].split("<h2>")[0]
    for key in ("epsilon_dp_sgd", "epsilon_preprocessing", "preprocessing.sensitivity", "steps_taken"):
        assert f"<td>{key}</td>" in section, key
    assert "√(--dp-max-codes)" in section and "planned</span>" in section  # steps_taken read against steps
    assert p["notes"] == bundle_notes(in_tmp / "run") and p["notes"]
    assert all(html.escape(n) in section for n in p["notes"])
    bundle = load_bundle(in_tmp / "run")
    assert bundle.options.minibatch_average is False and bundle.options.mean_match == 30  # on noisy prevalences
    assert 0 < p["epsilon_preprocessing"] < p["epsilon_spent"] and p["preprocessing"]["sensitivity"] == 8.0
    assert bundle.codes == [f"c{j}" for j in range(12)]  # the file's columns, not a count over patients
    assert all(n.startswith("--dp-epsilon") for n in bundle.schema["notes"])  # nothing read off the patients
    assert any("mostly noise" in n for n in bundle.schema["notes"])  # 96 patients: the release is mostly noise
    assert [d["code"] for d in m["diagnostics"]].count("dp-noise") == 1  # and the report's diagnostics say so
    assert "dp-noise" in report.split("<h2>Diagnostics</h2>")[1].split("<h2>")[0]
    cli_ok("generate", "run", "-n", "10", "--out", "g.csv")


def test_medgan_dp_long_data_with_a_public_code_list_and_pretraining(tmp_path: Path) -> None:
    data = long_csv(tmp_path / "long.csv")
    public = tmp_path / "codes.txt"
    public.write_text("\n".join([f"0{40 + j}0" for j in range(12)] + ["V999"]) + "\n")
    result = run(
        "medgan",
        str(data),
        options={"code_list": str(public), "ae_epochs": 2, "top_k": 5},
        train={"dp_epsilon": 5, "epochs": 3, "batch_size": 32},
        out=tmp_path / "run",
        progress=False,
    )
    p = result.metrics["differential_privacy"]
    assert p["private_networks"] == ["decoder", "discriminator", "encoder"]
    assert p["steps"] == 2 * 3 + 3 * 3  # autoencoder and adversarial steps share one budget
    assert result.app.codes[-1] == "V999"  # a public code no patient has is still modelled


def test_medgan_dp_prevalence_release_bounds_one_patient() -> None:
    """A patient with more than --dp-max-codes codes moves the released sums by ≤ √max_codes (L2)."""
    x = (torch.rand(50, 20, generator=torch.Generator().manual_seed(0)) < 0.2).float()
    heavy = torch.ones(1, 20)  # 20 codes > 8: scaled down to norm √8
    a, entry = noisy_prevalences(x, 1.0, 1e-4, 8, seed=5)
    b, _ = noisy_prevalences(torch.cat([x, heavy]), 1.0, 1e-4, 8, seed=5)
    moved = (b.double() * 51 - a.double() * 50).norm()
    assert 1.0 < moved <= 8**0.5 + 1e-4 and entry["sensitivity"] == pytest.approx(8**0.5, abs=1e-4)
    assert entry["noise_multiplier"] == pytest.approx(gaussian_noise_for(1.0, 1e-4))
    c, _ = noisy_prevalences(x, 1.0, 1e-4, 8, seed=6)
    assert not torch.equal(a, c)  # the noise is there (and seeded)


def test_medgan_dp_learns_the_noisy_prevalences(tmp_path: Path) -> None:
    """Under DP the generator warms up on the released prevalences alone: at a large ε its codes'
    prevalences follow the real ones; without the warm-up (or without --mean-match) they do not."""
    data = wide_csv(tmp_path / "wide.csv", n=200)
    real = pl.read_csv(data).drop("patient_id").to_numpy().mean(0)

    def r(options: dict[str, Any]) -> tuple[float, dict]:
        res = run(
            "medgan",
            str(data),
            options={"top_k": 5, **options},
            train={"dp_epsilon": 500, "epochs": 1, "batch_size": 64, "seed": 0},
            out=tmp_path / "_".join(f"{k}{v}" for k, v in options.items()),
            progress=False,
        )
        fake = res.app.generate(4000).x.numpy().mean(0)
        return float(np.corrcoef(real, fake)[0, 1]), res.metrics["differential_privacy"]

    warm, p = r({"dp_warmup_steps": 300})
    cold, _ = r({"dp_warmup_steps": 0})
    off, q = r({"mean_match": 0.0})
    assert warm > 0.75 and warm > cold + 0.2 and warm > off + 0.2, (warm, cold, off)
    assert p["epsilon_preprocessing"] > 0 and "epsilon_preprocessing" not in q  # no release without --mean-match


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tabular", "--dp-epsilon", "3", "--continuous", "gmm"], "--continuous gmm fits modes on the rows"),
        (["tabular", "--dp-epsilon", "3", "--target-loss", "1"], "--target-loss trains a second network"),
        (["medgan", "--dp-epsilon", "3"], "give the public list of codes with --code-list"),
        (["medgan", "--dp-epsilon", "3", "--nproc", "2"], "drop --nproc"),
        (["medgan", "--dp-epsilon", "3", "--eval-every", "1", "--patience", "2"], "drop --patience"),
        (["medgan", "--dp-epsilon", "3", "--grad-clip", "1"], "drop --grad-clip"),
        (["medgan", "--dp-epsilon", "3", "--visit-col", "hadm_id"], "drop --visit-col"),
        (["medgan", "--dp-epsilon", "3", "--min-count", "2"], "give --code-list instead"),
        (["medgan", "--dp-epsilon", "3", "--dp-max-codes", "0"], "--dp-max-codes must be at least 1"),
        (["medgan", "--dp-epsilon", "3", "--dp-warmup-steps", "-1"], "--dp-warmup-steps must be 0 or more"),
        (["medgan", "--dp-epsilon", "-1"], "dp-epsilon must be a finite number >= 0"),
        (["medgan", "--dp-epsilon", "inf"], "dp-epsilon must be a finite number >= 0"),  # ε = ∞ is no privacy
        (["medgan", "--dp-epsilon", "3", "--dp-max-grad-norm", "inf"], "dp-max-grad-norm must be finite"),
        (["tabular", "--dp-epsilon", "1e-5"], "ε = 5e-06 is too little for the app's release of statistics"),
        (["tabular", "--dp-epsilon", "3", "--dp-metadata", "nope.json"], "option --dp-metadata: nope.json does not"),
        (["medgan", "--dp-epsilon", "3", "--dp-delta", "1"], "dp-delta must be in [0, 1)"),
        (["tabular", "--dp-epsilon", "3", "--dp-delta", "0.05"], "option --dp-delta 0.05 is at least 1/n for these"),
        (["dcgan", "--dp-epsilon", "3"], "has not declared every path"),
    ],
)
def test_combinations_that_cannot_be_private_fail_in_one_line(in_tmp: Path, args: list[str], message: str) -> None:
    line = cli_fails("run", *args, "--epochs", "1", "--out", "run")
    assert message in line


def test_missing_opacus_says_how_to_install(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opacus", None)  # import opacus raises ImportError
    data = wide_csv(in_tmp / "wide.csv")
    line = cli_fails("run", "medgan", "--data", str(data), *DP)
    assert "pip install 'ganapps[dp]'" in line
