"""The ``tabular`` app's decoding (sampled categories, forced conditions), marginal calibration,
target conditioning and downstream loss."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch

from ganapps.core import load_bundle, run
from ganapps.plugins.tabular.calibration import Decoder, quantile_map
from ganapps.plugins.tabular.model import Downstream, downstream_loss
from ganapps.plugins.tabular.sampler import ConditionalSampler
from ganapps.tabular import TabularTransformer
from ganapps.tabular.evaluate import quality_report


def table(n: int = 400, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1])
    spend = np.where(plan == "pro", 80.0, np.where(plan == "plus", 40.0, 10.0)) + rng.gamma(2.0, 3.0, n)
    rating = np.where(rng.random(n) < 0.2, np.nan, rng.normal(3, 1, n))
    churn = np.where(rng.random(n) < np.where(plan == "basic", 0.4, 0.1), "yes", "no")
    return pl.DataFrame({"plan": plan, "spend": spend, "rating": pl.Series(rating, nan_to_null=True), "churn": churn})


def skewed_raw(t: TabularTransformer, n: int, seed: int = 0) -> torch.Tensor:
    """A badly trained generator's raw output: one category favoured everywhere, values bunched."""
    g = torch.Generator().manual_seed(seed)
    raw = torch.randn(n, t.width, generator=g) * 0.3
    for s in t.spans:
        if s.kind == "category":
            raw[:, s.start] += 3.0  # the first slot wins most draws
        elif s.kind == "value":
            raw[:, s.start] = 1.0 + 0.3 * torch.randn(n, generator=g)  # tanh bunches near 0.76
        elif s.kind == "missing":
            raw[:, s.start] = -4.0 + 0.5 * torch.randn(n, generator=g)  # almost never missing
    return raw


def shares(x: torch.Tensor, s) -> torch.Tensor:
    return x[:, s.start : s.stop].mean(0)


def test_calibration_matches_every_training_marginal_and_identity_does_not() -> None:
    frame = table()
    t = TabularTransformer(continuous="quantile").fit(frame)
    real = t.transform(frame)
    sampler = ConditionalSampler.from_transformer(t)
    torch.manual_seed(0)
    c = sampler.sample_original(20_000)
    raw = skewed_raw(t, 20_000)
    plain, calibrated = Decoder(t.spans), Decoder(t.spans)
    calibrated.fit(raw, c.cond, c.mask, real, values=True)
    torch.manual_seed(1)
    x_plain = plain(raw, torch.zeros(len(raw), 0), torch.zeros(len(raw), 0))
    torch.manual_seed(2)
    x_cal = calibrated(raw, c.cond, c.mask)
    for s in t.spans:
        if s.kind == "category":
            assert (shares(x_cal, s) - shares(real, s)).abs().max() < 0.02, s
            assert (shares(x_plain, s) - shares(real, s)).abs().max() > 0.1, s
        elif s.kind == "missing":
            assert abs(float(shares(x_cal, s) - shares(real, s))) < 0.01
            assert float(shares(x_plain, s)) < 0.01
        elif s.kind == "value":  # the encoder's training values are uniform on [-1, 1]
            u = np.sort(x_cal[:, s.start].numpy())
            ks = np.abs((u + 1) / 2 - (np.arange(len(u)) + 0.5) / len(u)).max()
            assert ks < 0.02, s
            assert abs(float(x_plain[:, s.start].mean())) > 0.5
    back = Decoder(t.spans, calibrated.tensors())  # what a bundle stores and reloads
    torch.manual_seed(2)
    assert torch.equal(back(raw, c.cond, c.mask), x_cal)


def test_calibration_by_target_matches_each_class_and_pooled_does_not() -> None:
    """--calibrate-by-target: a generator that ignores the class still decodes to each class's own
    distribution of spend (pro spends most); pooled calibration gives every class the mixture."""
    frame = table(n=3000)
    t = TabularTransformer(continuous="quantile").fit(frame)
    real = t.transform(frame)
    sampler = ConditionalSampler.from_transformer(t)
    names = [s.column for s in t.discrete_spans]
    by = names.index("plan")
    torch.manual_seed(0)
    c = sampler.sample_original(20_000, column_p=torch.eye(len(names), dtype=torch.float64)[by])
    raw = skewed_raw(t, 20_000)
    pooled, by_class = Decoder(t.spans), Decoder(t.spans)
    pooled.fit(raw, c.cond, c.mask, real, values=True)
    by_class.fit(raw, c.cond, c.mask, real, values=True, by=by)
    assert bool(by_class.classes["use"].all())  # 1,800 / 900 / 300 training rows: every class its own maps
    plan, spend = (next(s for s in t.spans if s.column == col) for col in ("plan", "spend"))
    x_pooled, x_class = pooled(raw, c.cond, c.mask), by_class(raw, c.cond, c.mask)
    real_cls, gen_cls = real[:, plan.start : plan.stop].argmax(1), x_class[:, plan.start : plan.stop].argmax(1)
    assert torch.equal(gen_cls, c.cond[:, : plan.width].argmax(1))  # classes are the conditions
    for k in range(plan.width):
        want = float(real[real_cls == k, spend.start].mean())
        assert abs(float(x_class[gen_cls == k, spend.start].mean()) - want) < 0.03, k
        assert abs(float(x_pooled[gen_cls == k, spend.start].mean()) - want) > 0.3, k
    back = Decoder(t.spans, by_class.tensors())  # what a bundle stores and reloads
    torch.manual_seed(3)
    first = back(raw, c.cond, c.mask)
    torch.manual_seed(3)
    assert torch.equal(first, by_class(raw, c.cond, c.mask))


def test_decoder_samples_categories_and_forces_the_condition() -> None:
    frame = table()
    t = TabularTransformer(continuous="quantile").fit(frame)
    raw = torch.zeros(6000, t.width)  # equal logits: a sample is uniform, an argmax always slot 0
    plan = next(s for s in t.spans if s.column == "plan")
    x = Decoder(t.spans)(raw, torch.zeros(6000, 0), torch.zeros(6000, 0))
    assert (shares(x, plan) - 1 / plan.width).abs().max() < 0.03
    sampler = ConditionalSampler.from_transformer(t)
    cond = t.condition("plan", "pro")
    fixed = sampler.fixed(6000, cond.index, cond.category)
    x = Decoder(t.spans)(raw, fixed.cond, fixed.mask)
    assert torch.all(x[:, plan.start + cond.category] == 1)


def test_quantile_map_is_monotone_onto_minus_one_one() -> None:
    v = torch.randn(1000, 1) ** 3
    grid = torch.quantile(v[:, 0].double(), torch.linspace(0, 1, 257, dtype=torch.float64))[None].float()
    u = quantile_map(v, grid)[:, 0]
    order = torch.argsort(v[:, 0])
    assert torch.all(torch.diff(u[order]) >= 0) and u.min() >= -1 and u.max() <= 1
    assert abs(float(u.mean())) < 0.02


TINY = {"embedding_dim": 16, "generator_dim": [32], "discriminator_dim": [32], "pac": 5}


def test_calibrated_run_has_better_column_shapes_than_uncalibrated(tmp_path) -> None:
    frame = table(500)
    shapes = {}
    for calibrate in (True, False):
        r = run("tabular", frame, out=tmp_path / str(calibrate), progress=False, samples=500,
                train={"epochs": 4, "batch_size": 100, "seed": 3},
                options={**TINY, "calibrate": calibrate})  # fmt: skip
        synth = pl.read_csv(r.samples_path)
        shapes[calibrate] = quality_report(frame, synth, r.app.tt.specs)["column_shapes"]
    assert shapes[True] > 0.93 and shapes[True] > shapes[False] + 0.05, shapes


def test_target_conditioning_shares_and_generation(tmp_path) -> None:
    frame = table(300)
    r = run("tabular", frame, out=tmp_path / "t", progress=False, samples=2000,
            train={"epochs": 2, "batch_size": 100, "seed": 0},
            options={**TINY, "target": "churn", "target_share": 0.5})  # fmt: skip
    app = r.app
    # a table this small says what was measured on small tables, and how to check
    assert any(d.code == "small-table" and "ganapps compare" in d.remedy for d in r.diagnostics)
    names = [s.column for s in app.tt.discrete_spans]
    p_train, p_gen = app._column_p(training=True), app._column_p(training=False)
    assert float(p_train[names.index("churn")]) == 0.5 and abs(float(p_train.sum()) - 1) < 1e-9
    assert float(p_gen[names.index("churn")]) == 1.0
    # every generated row is conditioned on the target at its training frequency: exact marginal
    synth = pl.read_csv(r.samples_path)
    assert abs((synth["churn"] == "yes").mean() - (frame["churn"] == "yes").mean()) < 0.03


def test_class_maps_are_in_the_bundle_and_decode_the_same_after_reload(tmp_path) -> None:
    r = run("tabular", table(800), out=tmp_path / "c", progress=False, samples=50,
            train={"epochs": 1, "batch_size": 100, "seed": 0}, options={**TINY, "target": "churn"})  # fmt: skip
    assert r.app.tensors["calibration.class_use"].tolist() == [True, True]  # both classes ≥ 100 training rows
    back = load_bundle(tmp_path / "c")
    torch.manual_seed(5)
    first = r.app.generate(300)
    torch.manual_seed(5)
    assert back.generate(300).equals(first)


def test_downstream_loss_against_hand_values() -> None:
    model = Downstream(torch.tensor([0, 1]), torch.tensor([2, 3]), classify=True, hidden=4)
    rows = torch.tensor([[0.5, -0.5, 1.0, 0.0], [0.1, 0.2, 0.0, 1.0]])
    logits = model(rows)
    expected = -(torch.log_softmax(logits, 1) * rows[:, 2:]).sum(1).mean()
    assert torch.allclose(downstream_loss(model, rows), expected)
    reg = Downstream(torch.tensor([0, 1]), torch.tensor([2]), classify=False, hidden=4)
    assert torch.allclose(downstream_loss(reg, rows), ((reg(rows) - rows[:, 2:3]) ** 2).mean())


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_downstream_model_only_with_a_weight(tmp_path, weight: float) -> None:
    r = run("tabular", table(200), out=tmp_path / "d", progress=False, samples=50,
            train={"epochs": 1, "batch_size": 100, "seed": 0},
            options={**TINY, "target": "churn", "target_loss": weight})  # fmt: skip
    assert ("downstream" in r.app.nets) == (weight > 0)
    steps = [s.name for s in r.app.phases()[0].steps]
    assert ("downstream" in steps) == (weight > 0)
