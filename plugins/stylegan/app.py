"""The ``stylegan`` app: a StyleGAN2-style generator (Karras et al. 2020) on digits or photos.

Labelled digits first train the digit apps' judge (a small classifier; phase ``classifier``), then G and D
play the non-saturating game with lazy R1 and the path-length penalty as separate, less frequent steps
(phase ``adversarial``), as the paper's lazy regularisation does. ``--progressive`` grows the resolution.

Where to read what: the networks, losses and regularisers in :mod:`.model`, DiffAugment (``--augment``,
on every image D sees) in :mod:`.augment`, the files in :mod:`.data`,
the evaluation in :mod:`.metrics`, the options in :mod:`.options`. This module is the glue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core import judge as J
from ganapps.core.app import App, Evaluation, OptimizerSpec, Phase, Step
from ganapps.core.data import TensorData, batched
from ganapps.core.devices import eval_mode
from ganapps.core.errors import ConfigError
from ganapps.core.images import Samples, grid_png
from ganapps.core.judge import DigitClassifier
from ganapps.datasets.digits import load_samples
from ganapps.plugins.stylegan import augment as A
from ganapps.plugins.stylegan import data as D
from ganapps.plugins.stylegan import metrics as M
from ganapps.plugins.stylegan import model as SG
from ganapps.plugins.stylegan.options import GenerateOptions, StyleGANOptions

#: the paper's Adam (lr 0.002, β = (0, 0.99)); with lazy regularisation every k steps both are scaled by
#: c = k / (k + 1) (lr·c, β^c), as the paper does, so the regularised optimizer moves as fast as without
LR, BETA2 = 2e-3, 0.99


def _lazy(k: int, on: bool) -> tuple[float, tuple[float, float]]:
    c = k / (k + 1) if on else 1.0
    return LR * c, (0.0, BETA2**c)


class StyleGAN(App):
    name = "stylegan"
    kind = "image"
    description = "StyleGAN2: mapping net, modulated convs, style mixing, lazy R1 + path length; PGGAN option"
    Options = StyleGANOptions
    GenerateOptions = GenerateOptions
    # EMA decay 0.998: the paper's half-life of 10k images at batch 32 (0.5^(32/10⁴))
    train_defaults = {"epochs": 8, "batch_size": 32, "ema": 0.998}
    default_dataset = "mnist-sample"
    output_suffix = ".npz"
    monitor = ("frechet_distance", "min")
    metric_meanings = M.meanings()

    # ---------------------------------------------------------------- data
    def load_data(self, source: Any) -> TensorData:
        self.options.check()
        return D.load_images(source, self.options.image_size, self.options.pair_half)

    def fit(self, train: TensorData) -> None:
        images, labels = train.tensors
        labelled = bool((labels >= 0).all()) and len(torch.unique(labels)) >= 2
        self.schema = {"channels": int(images.shape[1]), "judge_classes": int(labels.max()) + 1 if labelled else 0}

    def dataset(self, train: TensorData) -> TensorData:
        return train

    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        return 1000

    # ------------------------------------------------------------ networks
    def build(self) -> dict[str, torch.nn.Module]:
        o, s = self.options, self.schema
        o.check()
        nets: dict[str, torch.nn.Module] = {
            "generator": SG.Generator(
                o.image_size, s["channels"], o.z_dim, o.mapping_layers, o.g_channels, o.max_channels
            ),
            "discriminator": SG.Discriminator(o.image_size, s["channels"], o.d_channels, o.max_channels, o.progressive),
        }
        if s["judge_classes"]:
            nets["classifier"] = DigitClassifier(s["channels"], o.image_size, s["judge_classes"])
        return nets

    def configure_optimizers(self) -> list[OptimizerSpec]:
        o = self.options
        d_lr, d_betas = _lazy(o.r1_every, o.r1_gamma > 0)
        g_lr, g_betas = _lazy(o.pl_every, o.pl_weight > 0)
        specs = [
            OptimizerSpec("discriminator", ("discriminator",), lr=d_lr, betas=d_betas),
            OptimizerSpec("generator", ("generator",), lr=g_lr, betas=g_betas),
        ]
        if self.schema.get("judge_classes"):
            specs.insert(0, OptimizerSpec("classifier", ("classifier",), lr=1e-3, betas=(0.9, 0.999)))
        return specs

    def phases(self) -> list[Phase]:
        o, cfg = self.options, self.train_config
        steps = [Step("discriminator", self.discriminator_step, "discriminator", role="discriminator")]
        if o.r1_gamma > 0:
            steps.append(Step("r1", self.r1_step, "discriminator", every=o.r1_every))
        steps.append(
            Step("generator", self.generator_step, "generator", every=cfg.n_critic, role="generator", ema=True)
        )
        if o.pl_weight > 0:
            steps.append(Step("path_length", self.path_length_step, "generator", every=o.pl_every * cfg.n_critic))
        phases = [Phase("adversarial", steps, cfg.epochs)]
        if self.schema.get("judge_classes"):
            judge = [Step("classifier", self.classifier_step, "classifier")]
            phases.insert(0, Phase("classifier", judge, o.classifier_epochs))
        return phases

    # --------------------------------------------------------------- steps
    def _stage(self) -> tuple[int, float]:
        """(resolution, fade-in α) of this step: the full size, or PGGAN's schedule under --progressive."""
        size = self.options.image_size
        if not self.options.progressive:
            return size, 1.0
        return SG.progressive_stage(self.progress.phase_step - 1, self.progress.phase_steps, size)

    def _real(self, batch: tuple[Tensor, Tensor], res: int) -> Tensor:
        x = batch[0]
        return F.avg_pool2d(x, x.shape[-1] // res) if x.shape[-1] > res else x

    def _fake(self, n: int, res: int, alpha: float, **kw: Any) -> Any:
        """G(z) for n latents, style-mixed with probability --mixing at a uniform crossover layer."""
        G, o = self.nets.generator, self.options
        z = torch.randn(n, o.z_dim, device=self.device)
        z2 = crossover = None
        if float(torch.rand(())) < o.mixing:
            z2 = torch.randn(n, o.z_dim, device=self.device)
            crossover = int(torch.randint(1, self.n_latent, ()))
        return G(z, z2, crossover, res=res, alpha=alpha, **kw)

    @property
    def n_latent(self) -> int:
        G = self.nets.generator
        return getattr(G, "module", G).n_latent

    def classifier_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        images, labels = batch
        logits = self.nets.classifier(images)
        return {"loss": F.cross_entropy(logits, labels), "accuracy": (logits.argmax(1) == labels).float().mean()}

    def _d(self, images: Tensor, alpha: float) -> Tensor:
        """D(T(images)): every image D sees, real or fake, goes through the --augment transforms T."""
        return self.nets.discriminator(A.augment(images, A.parse_policy(self.options.augment)), alpha)

    def discriminator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        res, alpha = self._stage()
        real = self._real(batch, res)
        with torch.no_grad():
            fake = self._fake(len(real), res, alpha)
        d_real, d_fake = self._d(real, alpha), self._d(fake, alpha)
        loss = SG.d_loss(d_real, d_fake)
        return {"loss": loss, "d_real": torch.sigmoid(d_real).mean(), "d_fake": torch.sigmoid(d_fake).mean()}

    def r1_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Lazy R1: k_D · γ/2 · E‖∇ₓD(T(x))‖² on the real batch (∇ w.r.t. the untransformed x)."""
        res, alpha = self._stage()
        real = self._real(batch, res).detach().requires_grad_(True)
        penalty = SG.r1_penalty(self._d(real, alpha), real)
        o = self.options
        return {"loss": o.r1_every * o.r1_gamma / 2 * penalty, "r1": penalty}

    def generator_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        res, alpha = self._stage()
        fake = self._fake(len(batch[0]), res, alpha, track_w_avg=True)
        return {"loss": SG.g_loss(self._d(fake, alpha))}

    def path_length_step(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Lazy path length on half a batch: k_G · w_pl · (‖J_wᵀ y‖ − a)²."""
        res, alpha = self._stage()
        images, ws = self._fake(max(1, len(batch[0]) // 2), res, alpha, return_ws=True)
        lengths = SG.path_lengths(images, ws)
        G = self.nets.generator
        penalty = SG.path_length_penalty(lengths, getattr(G, "module", G).pl_mean)
        o = self.options
        return {"loss": o.pl_every * o.pl_weight * penalty, "path_length": lengths.mean(), "penalty": penalty}

    # ------------------------------------------------------------- outputs
    def _sample(
        self, z: Tensor, psi: float, z2: Tensor | None = None, crossover: int | None = None, fixed_noise: bool = False
    ) -> Tensor:
        """G's images for latents z (style-mixed with z2 from ``crossover`` on) at truncation ψ, in batches,
        clamped to the data's [-1, 1]: G has no tanh (as in the paper, whose code clamps when it writes
        pixels), and what is evaluated is what users get; ``fixed_noise``: the same noise maps for every
        image, so that images differ by their styles alone."""
        G = self.nets.generator
        out = []
        with eval_mode(G):
            for a, b in batched(len(z), 500):
                z2b = z2[a:b].to(self.device) if z2 is not None else None
                ws = G.styles(z[a:b].to(self.device), z2b, crossover, psi)
                noise = None
                if fixed_noise:
                    noise = [m.expand(b - a, -1, -1, -1) for m in G.make_noise(1, torch.Generator().manual_seed(0))]
                out.append(G.synthesis(ws, noise).float().clamp(-1.0, 1.0).cpu())
        return torch.cat(out)

    def generate(
        self,
        n: int,
        condition: Mapping[str, Any] | None = None,
        truncation: float = 1.0,
        mix_seeds: str = "",
        mix_layer: int = 0,
        **_: Any,
    ) -> Samples | D.Mixing:
        """``n`` images at truncation ψ; with ``mix_seeds`` "A,B" a √n × √n style-mixing grid."""
        if condition:
            raise ConfigError("--condition: stylegan is unconditional (it takes no conditions)")
        options = GenerateOptions(truncation, mix_seeds, mix_layer)
        if not 0 <= truncation <= 1:
            raise ConfigError(f"option --truncation must be between 0 and 1, got {truncation}")
        seeds = options.seeds()
        z_dim = self.options.z_dim
        if seeds is None:
            return self._sample(torch.randn(n, z_dim), truncation), None
        side = math.isqrt(n)
        if side * side != n:
            raise ConfigError(f"option -n with --mix-seeds must be a square (4, 9, 16, ...), got {n}")
        layer = mix_layer or self.n_latent // 2
        if not 0 < layer < self.n_latent:
            raise ConfigError(f"option --mix-layer must be between 1 and {self.n_latent - 1}, got {mix_layer}")
        z_rows = torch.randn(side, z_dim, generator=torch.Generator().manual_seed(seeds[0]))
        z_cols = torch.randn(side, z_dim, generator=torch.Generator().manual_seed(seeds[1]))
        mixed = self._sample(z_rows.repeat_interleave(side, 0), truncation, z_cols.repeat(side, 1), layer, True)
        rows, cols = (
            self._sample(z_rows, truncation, fixed_noise=True),
            self._sample(z_cols, truncation, fixed_noise=True),
        )
        return D.Mixing(rows, cols, mixed)

    def save_samples(self, samples: Samples | D.Mixing, path: Path) -> Path:
        return D.save(samples, path)

    def load_samples(self, path: Path) -> Samples:
        return load_samples(path)

    def next_commands(self, run: str, data: str | None) -> list[tuple[str, str]]:
        return [
            *super().next_commands(run, data),
            (f"ganapps generate {run} -n 16 --truncation 0.7 --out truncated.png", "16 samples at truncation ψ = 0.7"),
            (
                f"ganapps generate {run} -n 16 --mix-seeds 1,2 --out mixing.png",
                "style mixing: coarse styles of seed 1's latents (rows) with fine styles of seed 2's (columns)",
            ),
        ]

    # ---------------------------------------------------------- evaluation
    def sample_vectors(self, samples: Any) -> Tensor:
        images = samples.tensors[0] if isinstance(samples, TensorData) else samples[0]
        if self.schema.get("judge_classes"):
            return J.judge(self.nets.classifier, images, self.device)[0]
        return M.random_features(images, self.device)

    def evaluate(self, real: TensorData, synthetic: Samples, train: TensorData | None = None) -> Evaluation:
        k = self.schema.get("judge_classes", 0)
        if k:
            ev = M.evaluate_judged(self.nets.classifier, real, synthetic, train, k)
        else:
            ev = M.evaluate_unjudged(real, synthetic, train, self.device)
        ev.figures.update(self.style_figures())
        return ev

    def diagnose(self, real: TensorData, synthetic: Samples) -> list:
        k = self.schema.get("judge_classes", 0)
        return J.diagnose(self.nets.classifier, synthetic, k, False, self.device) if k else []

    def style_figures(self) -> dict[str, bytes]:
        """The report's truncation sweep (rows ψ = 1, 0.7, 0.4, 0; same 8 latents) and a 4 × 4 mixing grid."""
        z = torch.randn(8, self.options.z_dim, generator=torch.Generator().manual_seed(self.train_config.seed + 7))
        sweep = torch.cat([self._sample(z, psi) for psi in (1.0, 0.7, 0.4, 0.0)])
        scale = max(1, 64 // self.options.image_size)
        mixing = self.generate(16, mix_seeds="1,2")
        return {
            "truncation: rows ψ = 1, 0.7, 0.4, 0 (0 is w̄, the average image)": grid_png(sweep, nrow=8, scale=scale),
            "style mixing: row sources' coarse styles with column sources' fine styles": grid_png(
                D.mixing_cells(mixing), nrow=5, scale=scale
            ),
        }

    def epoch_figures(self, epoch: int) -> dict[str, bytes]:
        g = torch.Generator(device=self.device).manual_seed(self.train_config.seed + 12345)
        res, alpha = self._stage()
        z = torch.randn(64, self.options.z_dim, device=self.device, generator=g)
        images = self.nets.generator(z, res=res, alpha=alpha).float()
        scale = max(1, 64 // res)
        return {"samples": grid_png(images, nrow=8, scale=scale)}
