"""``ganapps run srgan`` options: sizes, network widths, the content loss, the two phases."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ganapps.core.errors import ConfigError
from ganapps.core.images import Half
from ganapps.plugins.srgan.data import SCALE


@dataclass
class SRGANOptions:
    hr_size: int = field(
        default=64, metadata={"help": "Side HR images are centre-cropped and resized to (LR side = HR side / 4)."}
    )
    crop_size: int = field(
        default=32, metadata={"help": "Side of the random HR training crops (the paper: 96); a multiple of 16."}
    )
    channels: int = field(default=32, metadata={"help": "Generator width (the paper: 64)."})
    blocks: int = field(default=6, metadata={"help": "Residual blocks B of the generator (the paper: 16)."})
    bicubic_skip: bool = field(
        default=True, metadata={"help": "Add G's output to the bicubic upscaling (not the paper; faster to learn)."}
    )
    ndf: int = field(default=16, metadata={"help": "Discriminator width of its first layer (the paper: 64)."})
    content: Literal["random-features", "mse"] = field(
        default="random-features",
        metadata={"help": "Content loss: MSE of fixed random conv features, or pixel MSE (SRGAN-MSE)."},
    )
    adversarial_weight: float = field(
        default=1e-4, metadata={"help": "Weight of the adversarial term in G's perceptual loss (the paper: 1e-3)."}
    )
    pixel_weight: float = field(
        default=1.0,
        metadata={"help": "Weight of a pixel-MSE term added to the GAN phase's content loss (the paper: 0)."},
    )
    pretrain_epochs: int = field(
        default=100, metadata={"help": "Epochs of SRResNet-MSE pre-training (pixel MSE only) before the GAN phase."}
    )
    pair_half: Half = field(
        default="auto",
        metadata={"help": "Which part of each image is the photo: auto (left half of A|B pairs), left, none."},
    )

    def check(self) -> None:
        if self.crop_size < 16 or self.crop_size % 16:
            raise ConfigError(
                f"option --crop-size must be a multiple of 16 (D halves it 4 times), got {self.crop_size}"
            )
        if self.hr_size < self.crop_size or self.hr_size % SCALE:
            raise ConfigError(
                f"option --hr-size ({self.hr_size}) must be at least --crop-size ({self.crop_size}) "
                f"and a multiple of {SCALE}"
            )
        if min(self.channels, self.blocks, self.ndf) < 1:
            raise ConfigError("options --channels, --blocks and --ndf must be at least 1")
        for name in ("adversarial_weight", "pixel_weight"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"option --{name.replace('_', '-')} must be at least 0, got {value}")
        if self.pretrain_epochs < 0:
            raise ConfigError(f"option --pretrain-epochs must be at least 0, got {self.pretrain_epochs}")
