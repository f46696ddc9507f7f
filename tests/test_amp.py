"""Mixed precision: gradient penalties follow PyTorch's AMP recipe (scaled output, unscaled
gradients, fp32 norm), and the Trainer applies its GradScaler's scale around every step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganapps.core import TrainConfig, Trainer
from ganapps.core import regularizers as R
from ganapps.core.testing import RingApp, RingOptions


def tiny_half_critic() -> nn.Linear:
    """A fp16 critic with 2e-6 weights: small enough that its input gradients underflow in fp16."""
    critic = nn.Linear(64, 1, bias=False).half()
    with torch.no_grad():
        critic.weight.fill_(2e-6)  # fp16 keeps 2e-6 (subnormal), but 2e-6 · 2e-2 flushes to 0
    return critic


def test_penalty_under_the_loss_scale_survives_fp16_underflow() -> None:
    critic = tiny_half_critic()
    x = torch.full((8, 64), 1.0, dtype=torch.float16)
    true_norm = 2e-6 * 8.0  # ‖w‖ = 2e-6·√64
    mixed = x.clone().requires_grad_(True)
    out = critic(mixed) * 1e-2  # a critic output scaled down further: its gradient is 2e-8
    plain = R.gradient_norm_penalty(out, mixed, center=0.0)
    assert plain.item() == 0.0  # fp16 gradients underflowed: the penalty sees nothing
    mixed = x.clone().requires_grad_(True)
    out = critic(mixed) * 1e-2
    with R.loss_scale(2.0**12):  # (2**16 itself overflows fp16: a GradScaler backs off from it)
        scaled = R.gradient_norm_penalty(out, mixed, center=0.0)
    assert scaled.dtype == torch.float32
    assert scaled.item() == pytest.approx((true_norm * 1e-2) ** 2, rel=0.05)


def test_loss_scale_leaves_fp32_penalties_unchanged_and_is_restored() -> None:
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    torch.manual_seed(1)
    plain = R.gradient_penalty(critic, real, fake)
    torch.manual_seed(1)
    with R.loss_scale(1024.0):
        scaled = R.gradient_penalty(critic, real, fake)
    assert scaled.item() == pytest.approx(plain.item(), rel=1e-5)
    assert R._LOSS_SCALE.get() == 1.0


def test_trainer_computes_each_step_under_its_scalers_scale() -> None:
    app = RingApp(RingOptions(rows=128, loss="wgan-gp"))
    data = app.load_data(None)
    app.fit(data)
    trainer = Trainer(app, TrainConfig(epochs=1, batch_size=32), progress=False)
    trainer.setup()
    seen: list[float] = []
    step = app.discriminator_step
    app.discriminator_step = lambda batch: (seen.append(R._LOSS_SCALE.get()), step(batch))[1]
    trainer.phases = app.phases()
    d_step = trainer.phases[-1].steps[0]
    trainer._update(d_step, data.tensors[0][:32], logging_step=False)
    trainer.scalers = {"discriminator": torch.amp.GradScaler("cpu", init_scale=512.0)}
    trainer._update(d_step, data.tensors[0][:32], logging_step=False)
    assert seen == [1.0, 512.0]
    assert R._LOSS_SCALE.get() == 1.0
