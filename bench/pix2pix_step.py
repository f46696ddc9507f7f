"""pix2pix training step: our app through the Trainer vs a plain hand-written PyTorch step.

Same networks (unet_256 generator at 256×256 — unet_128 at 128×128 — and the 70×70 PatchGAN,
ngf = ndf = 64, batch norm), same data path (the app's jittered pairs through a DataLoader, batch 1),
same arithmetic: one generator forward per iteration, D on (input, real) and (input, fake), BCE
losses with D's halved, G's adversarial + 100·L1, Adam 2e-4/β=(0.5, 0.999). The plain step is the
reference implementation's order (D update, then G update with D frozen); ours runs G then D on the
same fake, which costs the same. Variants rotate over rounds in one process (never two torch
jobs at once); reported: median seconds per iteration, images/s and the ratio Trainer / plain, for
the Trainer's default (a step-log record with gradient norms every iteration) and --log-every 20.

    python bench/pix2pix_step.py --sizes 128 256 --steps 30 8 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganapps.plugins.translation.data import PairedJitter
from ganapps.plugins.translation.pix2pix import Pix2Pix, Pix2PixOptions

sys.path.insert(0, str(Path(__file__).resolve().parent))
from step_timing import trainer_seconds  # noqa: E402  (a sibling bench module)

WARMUP = 3


def make_app(size: int) -> tuple[Pix2Pix, PairedJitter]:
    app = Pix2Pix(Pix2PixOptions(crop_size=size, load_size=size))
    g = torch.Generator().manual_seed(0)
    n = 16
    a = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)
    b = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)
    app.schema = {"channels": 3, "layout": "synthetic"}
    return app, PairedJitter(a, b, size, flip=True)


def plain(size: int, steps: int, seed: int) -> float:
    """The hand-written loop; seconds for ``steps`` iterations after warm-up."""
    torch.manual_seed(seed)
    app, data = make_app(size)
    nets = app.build()
    G, D = nets["generator"], nets["discriminator"]
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = torch.utils.data.DataLoader(data, batch_size=1, shuffle=True)

    def batches():
        while True:
            yield from loader

    it = batches()

    def step() -> None:
        x, y = next(it)
        fake = G(x)
        # D: real pairs → 1, fake pairs → 0, halved
        d_real, d_fake = D(torch.cat([x, y], 1)), D(torch.cat([x, fake.detach()], 1))
        loss_d = 0.5 * (
            F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        )
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        # G: fool the (frozen) D, stay close to y in L1
        D.requires_grad_(False)
        d_gen = D(torch.cat([x, fake], 1))
        loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen)) + 100 * F.l1_loss(fake, y)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
        loss_d.item(), loss_g.item()  # a real loop logs its losses

    for _ in range(WARMUP):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t0


def trainer(size: int, steps: int, seed: int, log_every: int = 1) -> float:
    """Our app through the Trainer; seconds for ``steps`` iterations after warm-up."""
    app, data = make_app(size)
    return trainer_seconds(app, data, batch_size=1, steps=steps, warmup=WARMUP, seed=seed, log_every=log_every)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--steps", type=int, nargs="+", default=[30, 8], help="timed iterations per size")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 1, "
        f"{args.rounds} rounds (median), {WARMUP} warm-up iterations"
    )
    for size, steps in zip(args.sizes, args.steps, strict=True):
        variants = {
            "plain": plain,
            "trainer": trainer,
            "trainer_log20": lambda size, steps, r: trainer(size, steps, r, log_every=20),
        }
        times: dict[str, list[float]] = {k: [] for k in variants}
        names = list(variants)
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]  # rotate: no variant always runs first
            for name in order:
                times[name].append(variants[name](size, steps, r) / steps)
            print(
                f"{size}px round {r + 1}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in times.items()), file=sys.stderr
            )
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{size}×{size} (unet_{size}, PatchGAN 70×70, {steps} timed iterations)")
        for key, label in (
            ("plain", "plain PyTorch step"),
            ("trainer", "Trainer (default: log every step)"),
            ("trainer_log20", "Trainer, --log-every 20"),
        ):
            print(
                f"  {label:<36}{med[key]:7.3f} s/it  {1 / med[key]:6.2f} img/s"
                + ("" if key == "plain" else f"  ratio {med[key] / med['plain']:.3f}")
            )


if __name__ == "__main__":
    main()
