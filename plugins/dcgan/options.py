"""Options of the ``dcgan`` and ``cgan`` apps: ``ganapps run`` (DCGANOptions) and, for a cgan run,
``ganapps generate`` (GenerateOptions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class DCGANOptions:
    nz: int = field(default=100, metadata={"help": "Size of the noise vector z."})
    ngf: int = field(default=64, metadata={"help": "Generator width (feature maps of its last layer)."})
    ndf: int = field(default=64, metadata={"help": "Discriminator width (feature maps of its first layer)."})
    loss: Literal["bce", "lsgan", "hinge", "wgan-gp"] = field(
        default="bce", metadata={"help": "Adversarial loss (wgan-gp drops batch norm from D)."}
    )
    gp_weight: float = field(default=10.0, metadata={"help": "Gradient-penalty weight λ for wgan-gp."})
    label_smoothing: float = field(default=0.0, metadata={"help": "One-sided label smoothing for bce (e.g. 0.1)."})
    instance_noise: float = field(default=0.0, metadata={"help": "Std of noise added to D's inputs, annealed to 0."})
    image_size: int = field(default=28, metadata={"help": "Image side: 28 (MNIST) or 32/64/128; data are resized."})
    classifier_epochs: int = field(default=3, metadata={"help": "Epochs of the judge classifier's phase."})


@dataclass
class GenerateOptions:
    label: int | None = field(default=None, metadata={"help": "Generate only this class (cgan)."})
