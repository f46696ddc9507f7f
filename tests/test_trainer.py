"""The Trainer: determinism, checkpoint/resume, n_critic, phases, TTUR, EMA, early stopping, errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch

from ganapps.core import ConfigError, Evaluation, TrainConfig, Trainer
from ganapps.core.app import Phase, Step
from ganapps.core.callbacks import EarlyStopping, EvaluateEvery
from ganapps.core.checkpoint import load_checkpoint
from ganapps.core.rundir import RunDir, read_log
from ganapps.core.testing import RingApp, RingOptions
from ganapps.core.trainer import TrainingError, schedule


def make(**options):
    app = RingApp(RingOptions(rows=256, **options))
    data = app.load_data(None)
    app.fit(data)
    return app, data


def weights(app) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in app.nets.state_dict().items()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


CFG = dict(epochs=3, batch_size=32, seed=7, n_critic=2, ema=0.9)


def test_same_seed_gives_identical_weights() -> None:
    a, d = make(pretrain_epochs=1)
    Trainer(a, TrainConfig(**CFG), progress=False).fit(d)
    b, d = make(pretrain_epochs=1)
    Trainer(b, TrainConfig(**CFG), progress=False).fit(d)
    assert same(weights(a), weights(b))
    c, d = make(pretrain_epochs=1)
    Trainer(c, TrainConfig(**{**CFG, "seed": 8}), progress=False).fit(d)
    assert not same(weights(a), weights(c))


@pytest.mark.parametrize("stop_at", [5, 16, 27])  # mid-epoch, epoch boundary, later phase
def test_resume_equals_uninterrupted_run(tmp_path: Path, stop_at: int) -> None:
    a, d = make(pretrain_epochs=1)
    full = Trainer(a, TrainConfig(**CFG), progress=False)
    res_full = full.fit(d)

    run_dir = RunDir(tmp_path)
    b, d = make(pretrain_epochs=1)
    Trainer(b, TrainConfig(**CFG, max_steps=stop_at), run_dir=run_dir, progress=False).fit(d)
    assert load_checkpoint(run_dir.last_checkpoint)["global_step"] == stop_at

    c, d = make(pretrain_epochs=1)
    resumed = Trainer(c, TrainConfig(**CFG), run_dir=run_dir, progress=False)
    res = resumed.fit(d, resume=str(run_dir.last_checkpoint))
    assert res.steps == res_full.steps
    assert same(weights(a), weights(c))
    for x, y in zip(full.ema.shadow["generator"], resumed.ema.shadow["generator"], strict=True):
        assert torch.equal(x, y)
    strip = [{k: v for k, v in r.items() if k != "time"} for r in res_full.history]
    assert [{k: v for k, v in r.items() if k != "time"} for r in res.history] == strip
    # the step log on disk has each step exactly once
    steps = [r["step"] for r in read_log(run_dir.log_path)]
    assert steps == sorted(set(steps)) and steps[-1] == res_full.steps


def test_checkpoint_every_n_steps(tmp_path: Path) -> None:
    app, d = make()
    Trainer(
        app,
        TrainConfig(epochs=1, batch_size=32, checkpoint_every=3, max_steps=5),
        run_dir=RunDir(tmp_path),
        progress=False,
    ).fit(d)
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["global_step"] == 5


@pytest.mark.parametrize(("seconds", "saves"), [(0, 4 + 1), (3600, 2 + 1)])
def test_epoch_end_checkpoints_are_throttled_by_time(tmp_path: Path, monkeypatch, seconds, saves) -> None:
    # 1 warm-up epoch + 3 adversarial epochs: with a long interval only the phase ends (and the
    # end of the run) are saved; with 0 every epoch end is
    calls = []
    monkeypatch.setattr(Trainer, "save_checkpoint", lambda self, start=None: calls.append(self.position))
    app, d = make(pretrain_epochs=1)
    Trainer(app, TrainConfig(**CFG, checkpoint_seconds=seconds), run_dir=RunDir(tmp_path), progress=False).fit(d)
    assert len(calls) == saves
    assert calls[-1] == calls[-2]  # the last phase's end, then the run's end


def test_n_critic_runs_generator_every_kth_step() -> None:
    app, d = make()
    res = Trainer(app, TrainConfig(epochs=1, batch_size=32, n_critic=4), progress=False).fit(d)
    d_steps = sum("discriminator/loss" in r for r in res.history)
    g_steps = sum("generator/loss" in r for r in res.history)
    assert d_steps == 8 and g_steps == 2


def test_phases_run_in_order_and_are_logged() -> None:
    app, d = make(pretrain_epochs=2)
    res = Trainer(app, TrainConfig(epochs=1, batch_size=64), progress=False).fit(d)
    phases = [r["phase"] for r in res.history]
    assert phases == ["warmup"] * 8 + ["adversarial"] * 4
    assert all("warmup/loss" in r for r in res.history[:8])


def _ticks(epochs: list[int], position: tuple[int, int, int]) -> list[str]:
    """The schedule as short strings: phase P, epoch P.E from batch B, batch P.E.B, end P.E."""
    names = {"phase": "phase {0}", "epoch": "epoch {0}.{1}@{2}", "batch": "batch {0}.{1}.{2}={3}", "end": "end {0}.{1}"}
    batches = lambda p, e, first: (f"b{b}" for b in range(first, 2))  # noqa: E731
    return [names[t.kind].format(t.phase, t.epoch, t.index, t.batch) for t in schedule(epochs, position, batches)]


def test_the_schedule_walks_phases_epochs_and_batches_from_any_position() -> None:
    assert _ticks([1, 0, 1], (0, 0, 0)) == [
        "epoch 0.0@0",
        "batch 0.0.0=b0",
        "batch 0.0.1=b1",
        "end 0.0",
        "phase 1",  # a phase without epochs is still entered (its step counter restarts)
        "phase 2",
        "epoch 2.0@0",
        "batch 2.0.0=b0",
        "batch 2.0.1=b1",
        "end 2.0",
    ]
    second = ["phase 1", "epoch 1.0@0", "batch 1.0.0=b0", "batch 1.0.1=b1", "end 1.0"]
    # resumed mid-epoch: the rest of that epoch, and the phase it starts in is not entered again
    assert _ticks([2, 1], (0, 1, 1)) == ["epoch 0.1@1", "batch 0.1.1=b1", "end 0.1", *second]
    # after the last batch of an epoch but before its end; after the last epoch of a phase; at the end
    assert _ticks([1, 1], (0, 0, 2)) == ["epoch 0.0@2", "end 0.0", *second]
    assert _ticks([1, 1], (0, 1, 0)) == second
    assert _ticks([1, 1], (1, 1, 0)) == []


def test_learning_rates_per_optimizer_ttur() -> None:
    app, d = make()
    t = Trainer(app, TrainConfig(epochs=0, lr={"generator": 4e-4, "discriminator": 1e-4}), progress=False)
    t.fit(d)
    assert t.optimizers["generator"].param_groups[0]["lr"] == 4e-4
    assert t.optimizers["discriminator"].param_groups[0]["lr"] == 1e-4
    app, d = make()
    t = Trainer(app, TrainConfig(epochs=0, lr={"*": 5e-5}), progress=False)
    t.fit(d)
    assert {o.param_groups[0]["lr"] for o in t.optimizers.values()} == {5e-5}


def test_unknown_optimizer_in_lr_is_a_clear_error() -> None:
    app, d = make()
    with pytest.raises(ConfigError, match="no optimizer 'critic'"):
        Trainer(app, TrainConfig(epochs=1, lr={"critic": 1e-4}), progress=False).fit(d)


def test_generator_step_does_not_compute_discriminator_gradients() -> None:
    app, d = make()
    t = Trainer(app, TrainConfig(epochs=1, batch_size=32), progress=False)
    t.setup()
    gen_step = t.phases[-1].steps[1]
    t._update(gen_step, d.tensors[0][:32], logging_step=True)
    assert all(p.grad is None for p in app.nets.discriminator.parameters())
    assert any(p.grad is not None for p in app.nets.generator.parameters())


def test_a_step_may_leave_another_network_differentiable() -> None:
    app, d = make()
    t = Trainer(app, TrainConfig(epochs=1, batch_size=32), progress=False)
    t.setup()
    d_step = t.phases[-1].steps[0]
    t._train_only(d_step.optimizer)
    assert not any(p.requires_grad for p in app.nets.generator.parameters())
    t._train_only(d_step.optimizer, ("generator",))
    assert all(p.requires_grad for p in app.nets.generator.parameters())
    assert all(p.requires_grad for p in app.nets.discriminator.parameters())
    app, d = make()
    app.phases = lambda: [Phase("p", [Step("d", app.discriminator_step, "discriminator", differentiable=("gen",))], 1)]
    with pytest.raises(ConfigError, match="step 'd' of app ring names unknown network 'gen'"):
        Trainer(app, TrainConfig(epochs=1), progress=False).fit(d)


def test_fused_adam_is_asked_for_by_the_optimizer_spec() -> None:
    app, d = make()
    specs = app.configure_optimizers()
    app.configure_optimizers = lambda: [dataclasses.replace(specs[0], fused=True), specs[1]]
    t = Trainer(app, TrainConfig(epochs=1, batch_size=32), progress=False)
    t.fit(d)
    assert t.optimizers["discriminator"].defaults["fused"] is True
    assert not t.optimizers["generator"].defaults["fused"]


def _fit_recording_step_norms(grad_clip: float) -> tuple[Trainer, Any, dict[str, list[float]]]:
    """One epoch of the ring app; the norm of the gradients each optimizer stepped with, by optimizer."""
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    stepped: dict[int, list[float]] = {}

    def record(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
        stepped.setdefault(id(opt), []).append(float(torch.nn.utils.get_total_norm(grads)))

    app, d = make()
    t = Trainer(app, TrainConfig(epochs=1, batch_size=32, grad_clip=grad_clip), progress=False)
    handle = register_optimizer_step_pre_hook(record)
    try:
        res = t.fit(d)
    finally:
        handle.remove()
    return t, res, {name: stepped[id(opt)] for name, opt in t.optimizers.items()}


def test_grad_norm_is_logged_and_clipping_applies() -> None:
    """The logged norm is the norm before clipping; the optimizer steps with gradients clipped to --grad-clip."""
    _, res, stepped = _fit_recording_step_norms(0.0)
    for name in ("discriminator", "generator"):
        logged = [r[f"grad_norm/{name}"] for r in res.history]
        assert len(logged) == len(stepped[name]) == 8  # 256 rows, batch 32
        assert logged == pytest.approx(stepped[name], rel=1e-5)  # unclipped: the logged norm is the stepped one
    clip = 1e-3
    _, res, stepped = _fit_recording_step_norms(clip)
    for name in ("discriminator", "generator"):
        before = [r[f"grad_norm/{name}"] for r in res.history]
        assert min(before) > 10 * clip  # the raw gradients are far above the limit ...
        assert stepped[name] == pytest.approx([clip] * len(before), rel=1e-3)  # ... and were scaled down to it


def test_ema_weights_end_up_in_the_generator() -> None:
    app, d = make()
    t = Trainer(app, TrainConfig(epochs=2, batch_size=32, ema=0.99), progress=False)
    t.fit(d)
    raw = [p.detach().clone() for p in app.nets.generator.parameters()]
    t.finalize()
    averaged = list(app.nets.generator.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(raw, averaged, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(t.ema.shadow["generator"], averaged, strict=True))


class NeverBetter(RingApp):
    def evaluate(self, real, synthetic, train=None):
        return Evaluation(metrics={"frechet_distance": 1.0})


def _fit_evaluating(app_cls: type[RingApp], patience: int, monitor: tuple[str, str]) -> tuple[Trainer, Any]:
    """Ten epochs evaluated after each, with early stopping on ``monitor``."""
    app = app_cls(RingOptions(rows=128))
    data = app.load_data(None)
    app.fit(data)
    callbacks = [EvaluateEvery(1, data, 64), EarlyStopping(patience, monitor)]
    t = Trainer(app, TrainConfig(epochs=10, batch_size=64), callbacks=callbacks, progress=False)
    return t, t.fit(data)


def test_early_stopping_after_patience_evaluations() -> None:
    t, res = _fit_evaluating(NeverBetter, 2, ("frechet_distance", "min"))
    assert res.stopped_early
    assert "did not improve" in t.stop_reason
    assert max(r["epoch"] for r in res.history) == 3
    assert sum("eval/frechet_distance" in r for r in res.history) == 3


class NestedMetrics(RingApp):
    def evaluate(self, real, synthetic, train=None):
        return Evaluation(metrics={"top": 1, "shares": {"low": {"auc": 0.5}}, "note": "text", "list": [1, 2]})


def test_evaluate_every_logs_nested_metrics_and_early_stopping_can_monitor_one() -> None:
    t, res = _fit_evaluating(NestedMetrics, 1, ("shares/low/auc", "max"))
    evals = [r for r in res.history if "eval/top" in r]
    assert evals and all(r["eval/shares/low/auc"] == 0.5 for r in evals)
    assert not any(k.startswith(("eval/note", "eval/list")) for r in evals for k in r)
    assert res.stopped_early and "shares/low/auc" in t.stop_reason and len(evals) == 2


class Exploding(RingApp):
    def discriminator_step(self, real):
        out = super().discriminator_step(real)
        return {**out, "loss": out["loss"] * float("nan")}


def test_nan_losses_stop_training_with_advice() -> None:
    app = Exploding(RingOptions(rows=1024))
    data = app.load_data(None)
    app.fit(data)
    with pytest.raises(TrainingError, match="lower the learning rates"):
        Trainer(app, TrainConfig(epochs=1, batch_size=32), progress=False).fit(data)


def test_bad_settings_are_rejected() -> None:
    app, d = make()
    for bad in ({"batch_size": 0}, {"n_critic": 0}, {"ema": 1.0}, {"holdout": 1.5}):
        with pytest.raises(ConfigError):
            Trainer(app, TrainConfig(**bad), progress=False)
