"""Issue 20: the unrolled GAN (``--unroll K``) on the 8-Gaussian ring, with and without unrolling.

The classic mode-collapse case of Metz et al. (2017, Fig. 1): eight Gaussians (std 0.02) on a
circle of radius 2. The app is written here, in the script, against the engine's public Python
API only (``App``, ``Unroll``, ``Trainer``, ``TrainConfig``), as a third-party plugin would be. The
networks and optimizers follow the reference notebook of the paper's experiment (Poole's
``unrolled_gan.ipynb``): z of 256, G and D with two hidden layers of 128 (tanh), orthogonal
initialisation with gain 1.4, batch 512, Adam (β1 = 0.5) with learning rate 1e-4 for D and 1e-3
for G (``--arch relu``: a ReLU discriminator with torch's default initialisation instead).

Metrics, on 2,500 samples (the protocol of VEEGAN, Srivastava et al. 2017): a sample is of *high
quality* when it lies within 3σ of a mode; a mode is *covered* when at least 20 of the 2,500
samples are of high quality for it. Step time: training seconds per iteration (one D step and
one G step), read from the Trainer. Each (variant, seed) cell is written to the JSON file as it
finishes, and cells already there are skipped, so the benchmark can run in chunks:

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/unrolled_ring.py \
        --variants plain,unroll5 --seeds 0,1,2 --steps 5000
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganapps.core import App, OptimizerSpec, TensorData, TrainConfig, Trainer, Unroll
from ganapps.core import losses as L

MODES, RADIUS, STD = 8, 2.0, 0.02
NZ, HIDDEN, BATCH = 256, 128, 512
SAMPLES, MIN_HITS = 2500, 20

#: name → (K, unrolled update rule, generator objective)
VARIANTS: dict[str, tuple[int, str, str]] = {
    "plain": (0, "auto", "nonsaturating"),
    "unroll5": (5, "auto", "nonsaturating"),  # the engine's default: Adam continued, as the paper
    "unroll5-sgd": (5, "sgd", "nonsaturating"),  # deviation: plain SGD steps at D's learning rate
    "unroll10": (10, "auto", "nonsaturating"),
    "plain-minimax": (0, "auto", "minimax"),  # the paper's objective: G maximises D's whole loss
    "unroll5-minimax": (5, "auto", "minimax"),
    "unroll5-minimax-sgd": (5, "sgd", "minimax"),
}


def centres() -> Tensor:
    angle = 2 * math.pi * torch.arange(MODES) / MODES
    return RADIUS * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


def ring(n: int, seed: int) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    return centres()[torch.randint(0, MODES, (n,), generator=g)] + STD * torch.randn(n, 2, generator=g)


class Ring8(App):
    """The paper's 2-D mixture of Gaussians, opted in to ``--unroll``."""

    name = "ring8"

    def __init__(self, rule: str = "auto", objective: str = "nonsaturating", arch: str = "notebook") -> None:
        super().__init__()
        self.rule, self.objective, self.arch = rule, objective, arch

    def build(self) -> dict[str, nn.Module]:
        act: type[nn.Module] = nn.Tanh if self.arch == "notebook" else nn.ReLU
        G = nn.Sequential(nn.Linear(NZ, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 2))
        D = nn.Sequential(nn.Linear(2, HIDDEN), act(), nn.Linear(HIDDEN, HIDDEN), act(), nn.Linear(HIDDEN, 1))
        if self.arch == "notebook":  # the reference notebook's orthogonal initialisation, gain 1.4
            for layer in [*G, *D]:
                if isinstance(layer, nn.Linear):
                    nn.init.orthogonal_(layer.weight, gain=1.4)
                    nn.init.zeros_(layer.bias)
        return {"generator": G, "discriminator": D}

    def configure_optimizers(self) -> list[OptimizerSpec]:
        return [
            OptimizerSpec("discriminator", ("discriminator",), lr=1e-4, betas=(0.5, 0.999)),
            OptimizerSpec("generator", ("generator",), lr=1e-3, betas=(0.5, 0.999)),
        ]

    def fakes(self, real: Tensor) -> Tensor:
        return self.nets.generator(torch.randn(len(real), NZ, device=self.device))

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return L.d_bce(self.nets.discriminator(real).squeeze(1), self.nets.discriminator(fake).squeeze(1))

    def g_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        if self.objective == "minimax":  # f(θ_G, θ_D) = −L_D: the real term matters once D is unrolled
            return {"loss": -self.d_loss(real, fake)}
        return {"loss": L.g_nonsaturating(self.nets.discriminator(fake).squeeze(1))}

    def discriminator_step(self, real: Tensor) -> dict[str, Tensor]:
        return {"loss": self.d_loss(real, self.fakes(real).detach())}

    def generator_step(self, real: Tensor) -> dict[str, Tensor]:
        return self.g_loss(real, self.fakes(real))

    def unrolled(self) -> Unroll:
        return Unroll(self.fakes, self.d_loss, self.g_loss, rule=self.rule)  # type: ignore[arg-type]


def coverage(samples: Tensor) -> dict[str, Any]:
    """Modes covered and the share of high-quality samples (within 3σ of a mode)."""
    dist = torch.cdist(samples, centres())
    near, mode = dist.min(dim=1)
    good = near <= 3 * STD
    hits = torch.bincount(mode[good], minlength=MODES)
    return {
        "modes": int((hits >= MIN_HITS).sum()),
        "high_quality": round(float(good.float().mean()), 4),
        "hits": hits.tolist(),
    }


def cell(variant: str, seed: int, steps: int, arch: str) -> dict[str, Any]:
    k, rule, objective = VARIANTS[variant]
    app = Ring8(rule, objective, arch)
    data = TensorData(ring(steps * BATCH, seed=1000 + seed))  # one pass: every batch is fresh
    cfg = TrainConfig(epochs=1, batch_size=BATCH, seed=seed, unroll=k, device="cpu", log_every=100)
    trainer = Trainer(app, cfg, progress=False)
    result = trainer.fit(data)
    with trainer.inference():
        samples = app.nets.generator(torch.randn(SAMPLES, NZ, generator=torch.Generator().manual_seed(seed)))
    return {
        "variant": variant,
        "seed": seed,
        "unroll": k,
        "rule": rule,
        "objective": objective,
        "arch": arch,
        "steps": result.steps,
        "seconds": round(result.seconds, 2),
        "ms_per_step": round(1000 * result.seconds / result.steps, 3),
        **coverage(samples),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default="plain,unroll5")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument(
        "--arch", choices=("notebook", "relu"), default="notebook", help="D: tanh + orthogonal init, or ReLU"
    )
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    ap.add_argument("--budget", type=float, default=420.0, help="stop starting cells after this many seconds")
    args = ap.parse_args()
    torch.set_num_threads(2)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    start = time.perf_counter()
    for variant in args.variants.split(","):
        for seed in map(int, args.seeds.split(",")):
            key = f"{variant}/seed{seed}/steps{args.steps}"
            if key in results:
                continue
            if time.perf_counter() - start > args.budget:
                print("budget spent; run again to continue")
                return
            results[key] = cell(variant, seed, args.steps, args.arch)
            print(key, {k: results[key][k] for k in ("modes", "high_quality", "ms_per_step")}, flush=True)
            out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
