"""Options of the ``stylegan`` app: ``ganapps run stylegan`` (StyleGANOptions) and ``ganapps generate``
(GenerateOptions: truncation ψ and the style-mixing grid)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ganapps.core.errors import ConfigError
from ganapps.plugins.stylegan.augment import parse_policy

SIZES = (8, 16, 32, 64, 128)


@dataclass
class StyleGANOptions:
    image_size: int = field(
        default=32, metadata={"help": "Image side, a power of two from 8 to 128 (digits are resized to it)."}
    )
    z_dim: int = field(default=128, metadata={"help": "Size of z and w (the paper: 512)."})
    mapping_layers: int = field(
        default=2, metadata={"help": "Layers of the mapping network f (the paper: 8; StyleGAN2-ADA's small images: 2)."}
    )
    g_channels: int = field(
        default=16, metadata={"help": "G's channels at full resolution, doubling per halving up to --max-channels."}
    )
    d_channels: int = field(default=16, metadata={"help": "D's channels at full resolution, likewise."})
    max_channels: int = field(
        default=64, metadata={"help": "Most channels of any layer (the paper: 512); 16/64 fit a CPU in minutes."}
    )
    r1_gamma: float = field(default=0.01, metadata={"help": "R1 weight γ (0 = off); chosen on validation digits."})
    r1_every: int = field(default=16, metadata={"help": "Lazy R1: every k_D discriminator steps (the paper: 16)."})
    pl_weight: float = field(default=2.0, metadata={"help": "Path-length weight w_pl (0 = off; the paper: 2)."})
    pl_every: int = field(default=4, metadata={"help": "Lazy path length: every k_G generator steps (the paper: 4)."})
    mixing: float = field(default=0.9, metadata={"help": "Style-mixing probability of a batch (the paper: 0.9)."})
    augment: str = field(
        default="color,translation,cutout",
        metadata={
            "help": "DiffAugment policies for every image D sees (real and fake, D's and G's steps): "
            "none, or a comma list of color, translation, cutout (chosen on validation digits)."
        },
    )
    progressive: bool = field(
        default=False, metadata={"help": "Progressive growing (PGGAN): grow from 4×4 with fade-in, equal stages."}
    )
    pair_half: Literal["auto", "left", "none"] = field(
        default="auto",
        metadata={"help": "Image folders: which part is the photo: auto (left half of A|B pairs), left, none."},
    )
    classifier_epochs: int = field(default=3, metadata={"help": "Epochs of the judge classifier (labelled digits)."})

    def check(self) -> None:
        if self.image_size not in SIZES:
            raise ConfigError(f"option --image-size must be one of {', '.join(map(str, SIZES))}, got {self.image_size}")
        if min(self.z_dim, self.mapping_layers, self.g_channels, self.d_channels, self.max_channels) < 1:
            raise ConfigError(
                "options --z-dim, --mapping-layers, --g-channels, --d-channels, --max-channels must be ≥ 1"
            )
        if min(self.r1_every, self.pl_every) < 1:
            raise ConfigError("options --r1-every and --pl-every must be at least 1")
        if min(self.r1_gamma, self.pl_weight) < 0 or not 0 <= self.mixing <= 1:
            raise ConfigError("options --r1-gamma and --pl-weight must be ≥ 0 and --mixing between 0 and 1")
        parse_policy(self.augment)


@dataclass
class GenerateOptions:
    truncation: float = field(
        default=1.0, metadata={"help": "Truncation ψ: w̄ + ψ(w − w̄); 1 = none, 0 = the average image, 0.7 typical."}
    )
    mix_seeds: str = field(
        default="",
        metadata={
            "help": "A,B: a style-mixing grid of -n cells (a square): rows take the coarse styles of seed A's "
            "latents, columns the fine styles of seed B's, with the sources along the edges."
        },
    )
    mix_layer: int = field(
        default=0, metadata={"help": "Crossover layer of --mix-seeds: B's styles from this layer on (0 = half way)."}
    )

    def seeds(self) -> tuple[int, int] | None:
        """--mix-seeds as (A, B), or None when not given."""
        if not self.mix_seeds:
            return None
        parts = [p.strip() for p in str(self.mix_seeds).split(",")]
        if len(parts) != 2 or not all(p.lstrip("-").isdigit() for p in parts):
            raise ConfigError(f"option --mix-seeds must be two integer seeds A,B, got {self.mix_seeds!r}")
        return int(parts[0]), int(parts[1])
