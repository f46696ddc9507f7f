"""Losses and regularizers against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganapps.core import losses as L
from ganapps.core import regularizers as R

LN2 = math.log(2.0)


def t(*v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)


def test_bce_discriminator() -> None:
    assert L.d_bce(t(0.0), t(0.0)).item() == pytest.approx(2 * LN2)
    # softplus(-2) + softplus(-1)
    assert L.d_bce(t(2.0), t(-1.0)).item() == pytest.approx(0.126928011 + 0.313261687, abs=1e-8)


def test_label_smoothing_in_bce() -> None:
    # a logit of 0 gives p = 0.5: the loss is ln 2 for any real target
    assert L.d_bce(t(0.0), t(-50.0), smoothing=0.1).item() == pytest.approx(LN2, abs=1e-8)
    # logit 3 with target 0.9: 0.9·softplus(−3) + 0.1·softplus(3)
    expected = 0.9 * math.log1p(math.exp(-3)) + 0.1 * math.log1p(math.exp(3))
    assert L.d_bce(t(3.0), t(-50.0), smoothing=0.1).item() == pytest.approx(expected, abs=1e-8)


def test_generator_bce_losses() -> None:
    assert L.g_nonsaturating(t(0.0, 2.0)).item() == pytest.approx((LN2 + 0.126928011) / 2, abs=1e-8)
    assert L.g_minimax(t(0.0)).item() == pytest.approx(-LN2)


def test_lsgan() -> None:
    assert L.d_lsgan(t(1.0, 0.0), t(0.0, 1.0)).item() == pytest.approx(0.5)
    assert L.g_lsgan(t(1.0, 3.0)).item() == pytest.approx(1.0)


def test_wgan() -> None:
    assert L.d_wgan(t(1.0, 2.0), t(0.5, 0.5)).item() == pytest.approx(-1.0)
    assert L.g_wgan(t(1.0, 2.0)).item() == pytest.approx(-1.5)


def test_hinge() -> None:
    assert L.d_hinge(t(0.5, 2.0), t(-2.0, 0.0)).item() == pytest.approx(0.75)
    assert L.g_hinge(t(1.0, 3.0)).item() == pytest.approx(-2.0)


def test_loss_table_names() -> None:
    assert set(L.LOSSES) == {"bce", "minimax", "lsgan", "wgan", "wgan-gp", "hinge"}


class Linear(nn.Module):
    """D(x) = w·x: its input gradient is w everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([3.0, 4.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.w


def test_gradient_penalty_linear_critic() -> None:
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert R.gradient_penalty(Linear(), real, fake).item() == pytest.approx((5.0 - 1.0) ** 2, rel=1e-5)
    assert R.gradient_penalty(Linear(), real, fake, center=0.0).item() == pytest.approx(25.0, rel=1e-5)


def test_gradient_penalty_backpropagates_to_critic() -> None:
    d = Linear()
    R.gradient_penalty(d, torch.randn(4, 2), torch.randn(4, 2)).backward()
    # d/dw (|w| − 1)² = 2(|w| − 1)·w/|w| = 2·4·(3, 4)/5
    assert torch.allclose(d.w.grad, torch.tensor([4.8, 6.4]), atol=1e-4)


def test_interpolates_lie_between_real_and_fake_and_take_gradients() -> None:
    torch.manual_seed(0)
    real, fake = torch.zeros(500, 3), torch.ones(500, 3)
    mixed = R.interpolates(real, fake)
    assert mixed.requires_grad and mixed.grad_fn is None  # a leaf: the penalty differentiates at it
    assert torch.equal(mixed[:, 0], mixed[:, 2])  # one α per sample
    assert mixed.min().item() >= 0.0 and mixed.max().item() <= 1.0
    assert mixed[:, 0].mean().item() == pytest.approx(0.5, abs=0.05)  # α ~ U(0, 1)
    # the penalty from scores computed elsewhere (e.g. in one critic call with real and fake)
    scores = torch.cat([real, mixed]) @ torch.tensor([3.0, 4.0, 0.0])
    assert R.gradient_norm_penalty(scores[500:], mixed).item() == pytest.approx(16.0, rel=1e-5)


def test_instance_noise_and_anneal() -> None:
    x = torch.zeros(20000)
    assert torch.equal(R.instance_noise(x, 0.0), x)
    torch.manual_seed(0)
    assert R.instance_noise(x, 0.5).std().item() == pytest.approx(0.5, rel=0.03)
    assert R.anneal(1.0, 5, 10) == pytest.approx(0.5)
    assert R.anneal(1.0, 20, 10) == 0.0


def test_dcgan_init() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(8, 64, 4), nn.BatchNorm2d(64))
    net.apply(R.dcgan_init)
    assert net[0].weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert net[1].weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.count_nonzero(net[0].bias) == 0
