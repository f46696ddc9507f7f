"""What pix2pix and CycleGAN share: image options, jitter, held-out examples, translation outputs, figures."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from ganapps.core.app import App, OptimizerSpec, Phase, Step
from ganapps.core.data import batched
from ganapps.core.devices import eval_mode
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.images import grid_png
from ganapps.core.io import atomic_path, write_bytes
from ganapps.plugins.translation.data import resize, to_float
from ganapps.plugins.translation.metrics import Extractor, FeatureKind, check_features, meanings

log = logging.getLogger("ganapps.translation")

Direction = Literal["AtoB", "BtoA"]
#: held-out inputs kept in the bundle for `ganapps generate` and the per-epoch figures
N_EXAMPLES = 8


@dataclass
class TranslationOptions:
    crop_size: int = field(
        default=64, metadata={"help": "Training image side (random crop); 256 = the papers' setting."}
    )
    load_size: int = field(
        default=0, metadata={"help": "Side images are resized to before the random crop (0 = crop·286/256)."}
    )
    ngf: int = field(default=64, metadata={"help": "Generator width (filters of its first layer)."})
    ndf: int = field(default=64, metadata={"help": "PatchGAN discriminator width (filters of its first layer)."})
    no_flip: bool = field(default=False, metadata={"help": "Do not flip training images at random."})
    decay_start: float = field(
        default=0.5,
        metadata={"help": "Share of the epochs at the initial learning rate; then it decays linearly to 0."},
    )
    features: FeatureKind = field(
        default="auto",
        metadata={"help": "FID/KID features: inception (local weights only), random-cnn (offline stand-in), auto."},
    )


@dataclass
class Translations:
    """Inputs, their translations and a third row: the targets (paired) or the cycle reconstructions."""

    inputs: Tensor
    outputs: Tensor
    third: Tensor | None = None
    third_label: str = "target"


Samples = dict[str, Translations]


class TranslationApp(App):
    """Base of the image-to-image apps: sizes, jitter, examples, ``translate`` and its outputs."""

    kind = "translation"
    output_suffix = ".png"
    train_defaults = {"epochs": 5, "batch_size": 1}
    metric_meanings = meanings()
    #: directions the trained model can translate
    directions: tuple[str, ...] = ("AtoB",)
    #: (generator side, discriminator side): each names a training step and the optimizer it updates
    sides: tuple[str, str] = ("generator", "discriminator")

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self._holdout: Any = None

    def next_commands(self, run: str, data: str | None) -> list[tuple[str, str]]:
        ways = self.directions
        how = ways[0] if len(ways) == 1 else f"{ways[0]}; --direction {ways[1]} for the other way"
        cmd = f"ganapps translate {run} --input YOUR_IMAGES/ --out translated/"
        return [(cmd, f"translate a folder of your own images ({how})")]

    # ------------------------------------------------------------- options
    @property
    def crop(self) -> int:
        return int(self.options.crop_size)

    @property
    def load(self) -> int:
        o = self.options
        return int(o.load_size) if o.load_size else int(round(o.crop_size * 286 / 256))

    def check_options(self) -> None:
        o = self.options
        size = o.crop_size
        if size < 32 or size & (size - 1):
            raise ConfigError(f"option --crop-size must be a power of two ≥ 32 (e.g. 64, 128, 256), got {size}")
        if o.load_size and o.load_size < size:
            raise ConfigError(f"option --load-size ({o.load_size}) must be at least --crop-size ({size})")
        if o.ngf < 1 or o.ndf < 1:
            raise ConfigError("options --ngf and --ndf must be at least 1")
        if not 0.0 <= o.decay_start <= 1.0:
            raise ConfigError(f"option --decay-start must be between 0 and 1, got {o.decay_start}")
        check_features(o.features)

    # --------------------------------------------------------------- data
    def split(self, data: Any, holdout: float, seed: int) -> tuple[Any, Any]:
        train, held = super().split(data, holdout, seed)
        self._holdout = held  # generate() translates these inputs
        return train, held

    def holdout_inputs(self, held: Any) -> dict[str, Tensor]:
        """The held-out inputs per direction, float at crop size (apps say which images go where)."""
        raise NotImplementedError

    def keep_examples(self, train: Any) -> None:
        """Keep a few held-out inputs (or training ones without a holdout) in the bundle, uint8 at crop size."""
        source = self._holdout if self._holdout is not None and len(self._holdout) else train
        for direction, images in self.holdout_inputs(source).items():
            self.tensors[f"examples_{direction}"] = ((images[:N_EXAMPLES] + 1) * 127.5).round().to(torch.uint8)

    def _resized(self, images: Tensor) -> Tensor:
        return to_float(resize(images, self.crop))

    # ---------------------------------------------------------- optimizers
    def lr_multiplier(self, epoch: int) -> float:
        """Constant for the first ``decay_start`` share of the epochs, then linear to 0 (both papers)."""
        total = max(1, self.train_config.epochs)
        constant = int(round(total * self.options.decay_start))
        return 1.0 - max(0, epoch + 1 - constant) / float(total - constant + 1)

    def optimizer(self, name: str, networks: tuple[str, ...]) -> OptimizerSpec:
        return OptimizerSpec(name, networks, lr=2e-4, betas=(0.5, 0.999), schedule=self.lr_multiplier)

    def phases(self) -> list[Phase]:
        """One adversarial phase, generator step first: the discriminator step then judges the
        batch the generator step just translated, so an iteration runs each generator forward once."""
        g, d = self.sides
        cfg = self.train_config
        generator = Step(g, self.generator_step, g, every=cfg.n_critic, role="generator", ema=True)
        discriminator = Step(d, self.discriminator_step, d, role="discriminator")
        return [Phase("adversarial", [generator, discriminator], epochs=cfg.epochs)]

    # ---------------------------------------------------------- translation
    def generator_for(self, direction: str, nets: Mapping[str, nn.Module] | None = None) -> nn.Module:
        """The network translating in ``direction`` (from ``nets``, by default the app's own)."""
        raise NotImplementedError

    def check_direction(self, direction: str | None) -> str:
        direction = direction or self.directions[0]
        if direction not in self.directions:
            raise ConfigError(
                f"option --direction {direction}: this {self.name} model translates {' and '.join(self.directions)} only"
            )
        return direction

    @torch.no_grad()
    def translate(
        self,
        images: Tensor,
        direction: str | None = None,
        batch_size: int = 16,
        nets: Mapping[str, nn.Module] | None = None,
    ) -> Tensor:
        """Translate images (N, 3, H, W) in [-1, 1] at crop size; the networks' current mode is kept."""
        G = self.generator_for(self.check_direction(direction), nets)
        out = [G(images[a:b].to(self.device)).float().cpu() for a, b in batched(len(images), batch_size)]
        return torch.cat(out) if out else images.new_zeros((0, *images.shape[1:]))

    def _inputs(self, n: int) -> dict[str, Tensor]:
        if self._holdout is not None and len(self._holdout):
            inputs = self.holdout_inputs(self._holdout)
            where = "held-out inputs"
        else:
            inputs = {d: to_float(self.tensors[f"examples_{d}"]) for d in self.directions}
            where = "example inputs kept in the bundle"
        have = min(len(v) for v in inputs.values())
        if n > have:
            raise ConfigError(
                f"option -n/--samples {n}: {self.name} translates its {have} {where}; "
                "translate your own images with `ganapps translate RUN --input DIR --out DIR`"
            )
        return {d: v[:n] for d, v in inputs.items()}

    def generate(self, n: int, condition: Mapping[str, Any] | None = None, **_: Any) -> Samples:
        """Translations of the first ``n`` held-out inputs (from a bundle alone: of its example inputs)."""
        if condition:
            raise ConfigError(f"--condition: {self.name} takes no conditions (its input images are the condition)")
        with eval_mode(self.nets):
            return {d: self.translations(d, x) for d, x in self._inputs(n).items()}

    def translations(self, direction: str, inputs: Tensor, targets: Tensor | None = None) -> Translations:
        return Translations(inputs, self.translate(inputs, direction), targets)

    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        if self._holdout is not None and len(self._holdout):
            return min(len(v) for v in self.holdout_inputs(self._holdout).values())
        return min(len(self.tensors[f"examples_{d}"]) for d in self.directions)

    # -------------------------------------------------------------- outputs
    @staticmethod
    def triplet_grid(samples: Samples, limit: int | None = None, scale: int = 1) -> bytes:
        """Rows of input | output | target (or reconstruction), direction after direction."""
        rows = []
        for t in samples.values():
            k = len(t.inputs) if limit is None else min(limit, len(t.inputs))
            for i in range(k):
                row = [t.inputs[i], t.outputs[i]]
                if t.third is not None:
                    row.append(t.third[i])
                rows.append(torch.stack(row))
        width = max(len(r) for r in rows)
        rows = [torch.cat([r, -torch.ones(width - len(r), *r.shape[1:])]) if len(r) < width else r for r in rows]
        return grid_png(torch.cat(rows), nrow=width, scale=scale)

    def save_samples(self, samples: Samples, path: Path) -> Path:
        suffix = path.suffix.lower()
        if suffix == ".png":
            return write_bytes(path, self.triplet_grid(samples))
        if suffix == ".npz":
            arrays: dict[str, np.ndarray] = {}
            for d, t in samples.items():
                arrays[f"{d}_input"] = _uint8(t.inputs)
                arrays[f"{d}_output"] = _uint8(t.outputs)
                if t.third is not None:
                    arrays[f"{d}_{t.third_label}"] = _uint8(t.third)
            with atomic_path(path) as tmp, tmp.open("wb") as fh:
                np.savez_compressed(fh, **arrays)
            return path
        raise ConfigError(f"option --out: {path.name}: translations are written as .png (a grid) or .npz (arrays)")

    def load_samples(self, path: Path) -> Samples:
        if path.suffix.lower() != ".npz":
            raise DataError(f"--synthetic {path}: give the .npz written by `ganapps generate --out X.npz`")
        out: Samples = {}
        with np.load(path) as z:
            for d in self.directions:
                if f"{d}_output" not in z:
                    raise DataError(f"--synthetic {path}: no array {d}_output (written by another app?)")
                third = next(
                    (k for k in z.files if k.startswith(f"{d}_") and k not in (f"{d}_input", f"{d}_output")), None
                )
                out[d] = Translations(
                    to_float(torch.from_numpy(z[f"{d}_input"])),
                    to_float(torch.from_numpy(z[f"{d}_output"])),
                    to_float(torch.from_numpy(z[third])) if third else None,
                    third.split("_", 1)[1] if third else "target",
                )
        return out

    def sample_vectors(self, samples: Any) -> Tensor | None:
        """Outputs (or real target-domain images) as 16×16 thumbnails, for the engine's diversity check."""
        if isinstance(samples, dict):
            images = next(iter(samples.values())).outputs
        else:
            images = self.target_images(samples)
        if images is None or len(images) < 2:
            return None
        return nn.functional.interpolate(images.float(), size=(16, 16), mode="area").flatten(1)

    def target_images(self, real: Any) -> Tensor | None:
        """Real images of the first direction's target domain (float, crop size)."""
        return None

    def epoch_figures(self, epoch: int) -> dict[str, bytes]:
        samples = {}
        for d in self.directions:
            x = to_float(self.tensors[f"examples_{d}"]).to(self.device)
            samples[d] = self.figure_row(d, x)
        return {"translations": self.triplet_grid(samples, scale=max(1, 128 // self.crop))}

    def figure_row(self, direction: str, inputs: Tensor) -> Translations:
        """One direction's example translations for the per-epoch figure."""
        return Translations(inputs.cpu(), self.translate(inputs, direction))

    def untrained_generators(self) -> dict[str, nn.Module]:
        """Freshly initialised networks (seeded), the baseline the metrics are compared with."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.train_config.seed)
            nets = nn.ModuleDict(self.build()).to(self.device).eval()
        return dict(nets.items())

    def extractor(self) -> Extractor:
        return Extractor(self.options.features)


def _uint8(images: Tensor) -> np.ndarray:
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
