"""SRGAN (Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network", CVPR 2017), ×4.

Generator G (SRResNet, the paper's Fig. 4): a 9×9 conv + PReLU, B residual blocks
(conv3×3-BN-PReLU-conv3×3-BN, identity skip), a conv3×3-BN with a skip over all the blocks, two
sub-pixel stages (conv3×3 to 4·C channels, PixelShuffle ×2, PReLU) and a 9×9 conv to RGB.
With ``bicubic_skip`` (our default, not the paper's) that output is added to the bicubic
upscaling of the input, so G learns the residual (docs/srgan.md measures the difference).

Discriminator D: conv3×3-LeakyReLU(0.2), then seven conv3×3-BN-LeakyReLU blocks whose width
doubles every other block (64→512 in the paper) and whose stride alternates 2 and 1, then a
dense head Dense(1024)-LeakyReLU-Dense(1) (a logit; the sigmoid lives in the loss).

Perceptual loss (eq. 3): l^SR = l^SR_X + 10⁻³ · l^SR_Gen, with the content loss l^SR_X an MSE
between feature maps φ(G(I^LR)) and φ(I^HR), and l^SR_Gen = −log D(G(I^LR)). The paper's φ is a
pretrained VGG19; we may not download one, so φ is a fixed, seeded random conv network
(:class:`ganapps.core.nn.RandomFeatures`; docs/srgan.md says why and measures it against pixel MSE).

Our deviation (ESRGAN-style, Wang et al. 2018): the GAN phase's content loss may add a pixel term,
l^SR_X = MSE(φ(G(I^LR)), φ(I^HR)) + λ_pix · MSE(G(I^LR), I^HR), so the adversarial phase keeps the
pixel fidelity its SRResNet-MSE pre-training earned (λ_pix = 0 is the paper's loss).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: the paper's weight of the adversarial term (the app's default is --adversarial-weight, 10⁻⁴: docs/srgan.md)
ADVERSARIAL_WEIGHT = 1e-3


class ResidualBlock(nn.Module):
    """conv3×3-BN-PReLU-conv3×3-BN with an identity skip (the paper's B residual blocks)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SubPixelUpsample(nn.Module):
    """×2 by sub-pixel convolution (Shi et al. 2016): conv to 4·C channels, PixelShuffle(2), PReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.act = nn.PReLU(channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.shuffle(self.conv(x)))


class SRResNet(nn.Module):
    """The generator: LR image (N, 3, h, w) in [-1, 1] → SR image (N, 3, 4h, 4w) in [-1, 1]."""

    def __init__(self, channels: int = 64, blocks: int = 16, bicubic_skip: bool = False) -> None:
        super().__init__()
        self.bicubic_skip = bicubic_skip
        self.head = nn.Sequential(nn.Conv2d(3, channels, 9, padding=4), nn.PReLU(channels))
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))
        self.after_blocks = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        self.upsample = nn.Sequential(SubPixelUpsample(channels), SubPixelUpsample(channels))
        self.tail = nn.Conv2d(channels, 3, 9, padding=4)

    def forward(self, lr: Tensor) -> Tensor:
        h = self.head(lr)
        h = h + self.after_blocks(self.blocks(h))  # the long skip over all residual blocks
        out = self.tail(self.upsample(h))
        if self.bicubic_skip:  # our deviation: G learns the residual over bicubic upsampling
            return bicubic(lr) + out
        return torch.tanh(out)


def _block(c_in: int, c_out: int, stride: int, norm: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, stride, 1)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    return [*layers, nn.LeakyReLU(0.2)]


class Discriminator(nn.Module):
    """The paper's D for HR images of side ``size``: 8 conv layers (4 of stride 2), dense head."""

    def __init__(self, size: int, width: int = 64, hidden: int = 1024) -> None:
        super().__init__()
        widths = [width, width, 2 * width, 2 * width, 4 * width, 4 * width, 8 * width, 8 * width]
        layers = _block(3, widths[0], 1, norm=False)
        for i in range(1, 8):
            layers += _block(widths[i - 1], widths[i], stride=2 if i % 2 else 1)
        self.features = nn.Sequential(*layers)
        side = size // 16
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(widths[-1] * side * side, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1)
        )

    def forward(self, hr: Tensor) -> Tensor:
        return self.head(self.features(hr)).squeeze(1)


def content_loss(sr: Tensor, hr: Tensor, phi: nn.Module | None) -> Tensor:
    """l^SR_X: MSE of φ features (eq. 5), or pixel MSE (eq. 4, SRResNet-MSE) when ``phi`` is None."""
    if phi is None:
        return F.mse_loss(sr, hr)
    return F.mse_loss(phi(sr), phi(hr))


def adversarial_loss(d_fake: Tensor) -> Tensor:
    """l^SR_Gen = Σ −log D(G(I^LR)) (eq. 6), averaged over the batch; ``d_fake`` are logits."""
    return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))


def discriminator_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """D maximises log D(I^HR) + log(1 − D(G(I^LR))) (eq. 2), as a BCE on logits."""
    return F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) + F.binary_cross_entropy_with_logits(
        d_fake, torch.zeros_like(d_fake)
    )


def perceptual_loss(
    sr: Tensor,
    hr: Tensor,
    d_fake: Tensor,
    phi: nn.Module | None,
    adversarial_weight: float = ADVERSARIAL_WEIGHT,
    pixel_weight: float = 0.0,
) -> dict[str, Tensor]:
    """l^SR = l^SR_X + w_adv · l^SR_Gen (eq. 3; the paper's w_adv = 10⁻³), plus ``pixel_weight`` · pixel MSE
    (our deviation, 0 in the paper), with each term for logging."""
    content = content_loss(sr, hr, phi)
    adversarial = adversarial_loss(d_fake)
    pixel = F.mse_loss(sr, hr)
    loss = content + adversarial_weight * adversarial + pixel_weight * pixel
    return {"loss": loss, "content": content, "adversarial": adversarial, "pixel": pixel}


def bicubic(lr: Tensor, scale: int = 4) -> Tensor:
    """The floor to beat: bicubic ×``scale`` upsampling, clamped to [-1, 1]."""
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(-1, 1)
