"""The ``srgan`` app: SRGAN ×4 super-resolution (Ledig et al. 2017) on folders of images.

Training follows the paper: the generator is first trained as SRResNet-MSE (pixel MSE only),
then SRGAN starts from it and alternates D and G on the perceptual loss (model.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganapps.core.app import App, Evaluation, OptimizerSpec, Phase, Step
from ganapps.core.data import TensorData, batched
from ganapps.core.devices import eval_mode
from ganapps.core.errors import ConfigError
from ganapps.core.images import read_photos, to_float
from ganapps.core.nn import RandomFeatures
from ganapps.plugins.srgan import model as M
from ganapps.plugins.srgan.data import HRCrops, downsample
from ganapps.plugins.srgan.metrics import meanings, sr_metrics
from ganapps.plugins.srgan.options import SRGANOptions
from ganapps.plugins.srgan.outputs import Upscaled, load, sample_grid, save

#: Adam's learning rate of G (both phases, one optimizer) and D: the paper's is 10⁻⁴ for 10⁶ steps; ours has
#: a few hundred, and 10⁻³ beat a 10⁻⁴ GAN phase on validation images (bench/RESULTS.md); --lr changes it
GAN_LR = 1e-3
#: held-out HR images kept in the bundle for `ganapps generate` and the per-epoch figures
N_EXAMPLES = 8


class SRGAN(App):
    name = "srgan"
    kind = "super-resolution"
    description = "SRGAN: ×4 super-resolution, SRResNet + adversarial perceptual loss (Ledig et al. 2017)"
    Options = SRGANOptions
    default_dataset = "facades-pix2pix-sample"
    output_suffix = ".png"
    train_defaults = {"epochs": 40, "batch_size": 8}
    metric_meanings = meanings()

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self._holdout: TensorData | None = None
        self._phi: nn.Module | None = None

    def next_commands(self, run: str, data: str | None) -> list[tuple[str, str]]:
        cmd = f"ganapps upscale {run} --input YOUR_IMAGES/ --out upscaled/"
        return [(cmd, "upscale a folder of your own low-resolution images ×4")]

    # ---------------------------------------------------------------- data
    def load_data(self, source: Any) -> TensorData:
        self.options.check()
        return TensorData(read_photos(Path(source), self.options.hr_size, self.options.pair_half, "--hr-size"))

    def split(self, data: Any, holdout: float, seed: int) -> tuple[Any, Any]:
        train, held = super().split(data, holdout, seed)
        self._holdout = held
        return train, held

    def _held_hr(self) -> Tensor:
        """Held-out HR images (float), or the examples kept in the bundle."""
        if self._holdout is not None and len(self._holdout):
            return to_float(self._holdout.tensors[0])
        return to_float(self.tensors["examples_hr"])

    def fit(self, train: TensorData) -> None:
        self.schema = {"hr_size": self.options.hr_size}
        source = self._holdout if self._holdout is not None and len(self._holdout) else train
        self.tensors["examples_hr"] = source.tensors[0][:N_EXAMPLES].clone()

    def dataset(self, train: TensorData) -> HRCrops:
        return HRCrops(train.tensors[0], self.options.crop_size)

    # ------------------------------------------------------------ networks
    def build(self) -> dict[str, nn.Module]:
        self.options.check()
        o = self.options
        return {
            "generator": M.SRResNet(o.channels, o.blocks, o.bicubic_skip),
            "discriminator": M.Discriminator(o.crop_size, o.ndf),
        }

    @property
    def phi(self) -> nn.Module | None:
        """The content loss's feature network (None: pixel MSE), rebuilt from its seed, never trained."""
        if self.options.content == "mse":
            return None
        if self._phi is None:
            self._phi = RandomFeatures().to(self.device)
        return self._phi

    def configure_optimizers(self) -> list[OptimizerSpec]:
        return [  # the paper's β₁ = 0.9
            OptimizerSpec("generator", ("generator",), lr=GAN_LR, betas=(0.9, 0.999)),
            OptimizerSpec("discriminator", ("discriminator",), lr=GAN_LR, betas=(0.9, 0.999)),
        ]

    def phases(self) -> list[Phase]:
        """SRResNet-MSE pre-training, then SRGAN: G (perceptual loss) then D on the same batch."""
        cfg = self.train_config
        pretrain = Phase("srresnet", [Step("srresnet", self.srresnet_step, "generator")], self.options.pretrain_epochs)
        g = Step("generator", self.generator_step, "generator", every=cfg.n_critic, role="generator", ema=True)
        d = Step("discriminator", self.discriminator_step, "discriminator", role="discriminator")
        return [pretrain, Phase("adversarial", [g, d], cfg.epochs)]

    # --------------------------------------------------------------- steps
    def srresnet_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        lr, hr = batch
        return {"loss": M.content_loss(self.nets.generator(lr), hr, None)}

    def generator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        lr, hr = batch
        sr = self.nets.generator(lr)
        o = self.options
        losses = M.perceptual_loss(sr, hr, self.nets.discriminator(sr), self.phi, o.adversarial_weight, o.pixel_weight)
        self._fake = (batch, sr.detach())  # D's step reuses this batch's SR images
        return losses

    def discriminator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        lr, hr = batch
        cached = getattr(self, "_fake", None)
        sr = cached[1] if cached is not None and cached[0] is batch else self.nets.generator(lr).detach()
        d_real, d_fake = self.nets.discriminator(hr), self.nets.discriminator(sr)
        loss = M.discriminator_loss(d_real, d_fake)
        return {"loss": loss, "d_real": torch.sigmoid(d_real).mean(), "d_fake": torch.sigmoid(d_fake).mean()}

    # ------------------------------------------------------------- outputs
    @torch.no_grad()
    def upscale(self, low_res: Tensor, batch_size: int = 16) -> Tensor:
        """×4 super-resolution of LR images (N, 3, h, w) in [-1, 1], in eval mode (BN running statistics)."""
        G = self.nets.generator
        with eval_mode(self.nets):
            out = [G(low_res[a:b].to(self.device)).float().cpu() for a, b in batched(len(low_res), batch_size)]
        return torch.cat(out) if out else low_res.new_zeros((0, 3, *(4 * s for s in low_res.shape[-2:])))

    def upscaled(self, hr: Tensor) -> Upscaled:
        """Downsample real HR images and upscale them back, bicubic and ours."""
        lr = downsample(hr)
        return Upscaled(lr, M.bicubic(lr), self.upscale(lr), hr)

    def generate(self, n: int, condition: Mapping[str, Any] | None = None, **_: Any) -> Upscaled:
        """The first ``n`` held-out HR images (from a bundle: its examples) through LR and back."""
        if condition:
            raise ConfigError("--condition: srgan takes no conditions (its low-res images are the condition)")
        hr = self._held_hr()
        if n > len(hr):
            raise ConfigError(
                f"option -n/--samples {n}: srgan upscales its {len(hr)} held-out images; "
                "upscale your own images with `ganapps upscale RUN --input DIR --out DIR`"
            )
        return self.upscaled(hr[:n])

    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        return len(self._held_hr())

    def save_samples(self, samples: Upscaled, path: Path) -> Path:
        return save(samples, path)

    def load_samples(self, path: Path) -> Upscaled:
        return load(path)

    def sample_vectors(self, samples: Any) -> Tensor | None:
        images = samples.ours if isinstance(samples, Upscaled) else None
        if images is None or len(images) < 2:
            return None
        return nn.functional.interpolate(images.float(), size=(16, 16), mode="area").flatten(1)

    def epoch_figures(self, epoch: int) -> dict[str, bytes]:
        samples = self.upscaled(to_float(self.tensors["examples_hr"]))
        return {"low-res | bicubic | ours | real": sample_grid(samples, scale=max(1, 128 // self.options.hr_size))}

    def evaluate(self, real: Any, synthetic: Upscaled, train: Any = None) -> Evaluation:
        if synthetic.real is None or len(synthetic) == 0:
            return Evaluation(notes=["no held-out images to evaluate on (--holdout 0)"])
        ours = sr_metrics(synthetic.ours, synthetic.real)
        floor = sr_metrics(synthetic.bicubic, synthetic.real)
        m: dict[str, Any] = {"held_out_images": len(synthetic), **ours}
        m.update({f"{k}_bicubic": v for k, v in floor.items()})
        notes = [
            f"psnr (dB) and ssim compare the ×4 upscalings of {len(synthetic)} held-out images, downsampled "
            "bicubically to 1/4, with the originals, on the Y channel with a 4-pixel border shaved (as the paper); "
            "*_bicubic are bicubic upscaling's: the floor to beat.",
            "content loss: " + ("pixel MSE" if self.options.content == "mse" else "MSE of fixed random conv features"),
        ]
        figures = {
            "held-out low-res | bicubic | ours | real": sample_grid(
                synthetic, scale=max(1, 128 // synthetic.real.shape[-1])
            )
        }
        return Evaluation(metrics=m, figures=figures, notes=notes)
