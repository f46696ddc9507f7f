"""Regularizers and stabilisers: gradient penalties, instance noise, init."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

import torch
from torch import Tensor, nn

#: the loss scale of the step being computed: the GradScaler's scale while the engine trains in
#: fp16 mixed precision, else 1 (see :func:`loss_scale`)
_LOSS_SCALE: ContextVar[float] = ContextVar("ganapps_loss_scale", default=1.0)


@contextlib.contextmanager
def loss_scale(scale: float) -> Iterator[None]:
    """Within it, input-gradient penalties follow PyTorch's AMP recipe for gradient penalties:
    the critic's output is multiplied by ``scale`` before ``autograd.grad`` (so fp16 gradients do
    not underflow to zero), the gradients are divided by it again, and the norm is taken in fp32.
    The Trainer sets it around every step when it trains with a GradScaler; apps need do nothing.
    """
    token = _LOSS_SCALE.set(float(scale))
    try:
        yield
    finally:
        _LOSS_SCALE.reset(token)


def _input_grad(out: Tensor, x: Tensor) -> Tensor:
    """∂ Σ out / ∂x with a graph, computed under the current loss scale and returned unscaled, in fp32."""
    scale = _LOSS_SCALE.get()
    (grad,) = torch.autograd.grad(out.sum() * scale if scale != 1.0 else out.sum(), x, create_graph=True)
    grad = grad.float()
    return grad / scale if scale != 1.0 else grad


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, center: float = 1.0) -> Tensor:
    """WGAN-GP penalty E[(‖∇D(x̂)‖ − center)²] on random interpolates x̂ of real and fake.

    ``critic`` is a closure so conditional critics can pass their condition along. Multiply by
    λ (10 in the paper) yourself. Packed (PacGAN) critics work as long as ``critic`` unpacks.
    To score real, fake and interpolates in one critic call, use :func:`interpolates` and
    :func:`gradient_norm_penalty` instead.
    """
    mixed = interpolates(real, fake)
    return gradient_norm_penalty(critic(mixed), mixed, center)


def interpolates(real: Tensor, fake: Tensor) -> Tensor:
    """x̂ = α·real + (1 − α)·fake, one α ~ U(0, 1) per sample, detached and requiring grad."""
    alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    return (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)


def gradient_norm_penalty(out: Tensor, mixed: Tensor, center: float = 1.0) -> Tensor:
    """E[(‖∇ₓ out‖ − center)²] for critic scores ``out`` computed from ``mixed`` (:func:`interpolates`)."""
    norms = _input_grad(out, mixed).reshape(mixed.shape[0], -1).norm(2, dim=1)
    return ((norms - center) ** 2).mean()


def instance_noise(x: Tensor, std: float) -> Tensor:
    """Add N(0, std²) noise to discriminator inputs (real and fake alike); anneal std towards 0."""
    if std <= 0:
        return x
    return x + std * torch.randn_like(x)


def anneal(start: float, step: int, total: int) -> float:
    """Linear annealing from ``start`` at step 0 to 0 at ``total`` (for instance noise)."""
    if total <= 0:
        return 0.0
    return max(0.0, start * (1.0 - step / total))


def dcgan_init(module: nn.Module) -> None:
    """DCGAN weight init: conv weights N(0, 0.02), batch-norm weights N(1, 0.02) and zero biases.

    Use as ``net.apply(dcgan_init)``.
    """
    if isinstance(module, nn.Conv1d | nn.Conv2d | nn.ConvTranspose1d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d | nn.InstanceNorm2d) and module.weight is not None:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
