"""The ``tabular`` app's training iteration: one generator forward shared by the critic and
generator steps, one critic call, the lazy gradient penalty, and the CPU dropout it uses."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch

from ganapps.core import TrainConfig, Trainer
from ganapps.core.nn import Dropout
from ganapps.core.plugins import get_registry
from ganapps.plugins.tabular.options import TabularOptions

TINY = {"embedding_dim": 16, "generator_dim": [32], "discriminator_dim": [32], "pac": 5}


def trained(n_critic: int = 1, **options) -> tuple[object, object, list[int]]:
    """A tabular app trained 2 epochs of 4 iterations; the generator's forward calls per iteration."""
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"plan": rng.choice(["a", "b", "c"], 200), "spend": rng.gamma(2.0, 3.0, 200)})
    app = get_registry().app("tabular")(TabularOptions(**{**TINY, **options}))
    cfg = TrainConfig(epochs=2, batch_size=50, seed=0, device="cpu", n_critic=n_critic)
    app.train_config = cfg
    app.fit(frame)
    data = app.dataset(frame)
    calls: list[int] = []
    trainer = Trainer(app, cfg, progress=False)
    trainer.setup()
    app.nets.generator.register_forward_hook(lambda *_: calls.append(app.progress.phase_step))
    result = trainer.fit(data)
    return app, result, calls


def test_one_generator_forward_per_iteration_and_the_generator_still_learns() -> None:
    app, result, calls = trained()
    assert result.steps == 8
    assert calls == list(range(1, 9))  # the generator step reuses the critic step's rows
    assert all(np.isfinite(r["generator/loss"]) for r in result.history)
    assert "_rows" not in app.__dict__  # consumed by the generator step
    # a generator step without a critic step first (e.g. called on its own) draws its own rows
    losses = app.generator_step(torch.zeros(50, 1))
    losses["loss"].backward()
    assert all(p.grad is not None for p in app.nets.generator.parameters())


def test_with_n_critic_the_generator_judges_the_last_critic_steps_rows() -> None:
    _, result, calls = trained(n_critic=2)
    assert calls == list(range(1, 9))  # one forward per critic step, none added by the generator's
    assert sum("generator/loss" in r for r in result.history) == 4


@pytest.mark.parametrize("every", [1, 3])
def test_gradient_penalty_every_kth_critic_step_weighted_k(every: int) -> None:
    _, result, _ = trained(gp_every=every)
    for i, r in enumerate(result.history, start=1):
        assert ("discriminator/gp" in r) == (i % every == 0)
        expected = -r["discriminator/wasserstein"] + 10.0 * every * r.get("discriminator/gp", 0.0)
        assert r["discriminator/loss"] == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_bad_gp_every_is_a_config_error() -> None:
    from ganapps.core.errors import ConfigError

    app = get_registry().app("tabular")(TabularOptions(gp_every=0))
    with pytest.raises(ConfigError, match="option --gp-every must be at least 1, got 0"):
        app.fit(pl.DataFrame({"a": ["x", "y"] * 10}))


@pytest.mark.parametrize("p", [0.5, 0.2])
def test_cpu_dropout_keeps_each_unit_with_probability_1_minus_p_and_rescales(p: float) -> None:
    torch.manual_seed(0)
    drop = Dropout(p)
    x = torch.ones(300, 333)  # not a multiple of 32 units
    y = drop(x)
    kept = y != 0
    assert kept.float().mean().item() == pytest.approx(1 - p, abs=0.01)
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / (1 - p)))
    assert kept[:, 0].float().mean().item() == pytest.approx(1 - p, abs=0.1)  # every bit position is used
    assert kept[:, -1].float().mean().item() == pytest.approx(1 - p, abs=0.1)
    assert not torch.equal(drop(x), y)  # a fresh mask per call
    assert torch.equal(drop.eval()(x), x)
    with pytest.raises(ValueError, match="dropout rate"):
        Dropout(1.0)
