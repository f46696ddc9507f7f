"""SRGAN training step: our app through the Trainer vs a plain hand-written PyTorch step.

Same networks (the app's default SRResNet and discriminator), same data path (the app's HR crops
and their bicubic LR through a DataLoader, batch 16), same arithmetic: one generator forward per
iteration, G's perceptual loss (random-feature content loss + the app's adversarial and pixel
terms) with D frozen, then D on (HR, detached SR), Adam(β₁ = 0.9). The adversarial phase only
(no SRResNet pre-training). Variants rotate over rounds in one process (never two torch jobs at
once); reported: median seconds per iteration and the ratio Trainer / plain, for the Trainer's
default (a step-log record with gradient norms every iteration) and --log-every 20. Mirrors bench/pix2pix_step.py.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/srgan_step.py --steps 20 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from ganapps.core.nn import RandomFeatures
from ganapps.plugins.srgan import model as M
from ganapps.plugins.srgan.app import GAN_LR, SRGAN
from ganapps.plugins.srgan.data import HRCrops
from ganapps.plugins.srgan.options import SRGANOptions

sys.path.insert(0, str(Path(__file__).resolve().parent))
from step_timing import trainer_seconds  # noqa: E402  (a sibling bench module)

WARMUP = 3
BATCH = 16


def make_app() -> tuple[SRGAN, HRCrops]:
    app = SRGAN(SRGANOptions(pretrain_epochs=0))
    g = torch.Generator().manual_seed(0)
    hr = torch.randint(0, 256, (64, 3, 64, 64), generator=g, dtype=torch.uint8)
    app.schema = {"hr_size": 64}
    return app, HRCrops(hr, app.options.crop_size)


def plain(steps: int, seed: int) -> float:
    """The hand-written loop; seconds for ``steps`` iterations after warm-up."""
    torch.manual_seed(seed)
    app, data = make_app()
    nets = app.build()
    G, D = nets["generator"], nets["discriminator"]
    phi = RandomFeatures()
    lr_ = GAN_LR
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_, betas=(0.9, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_, betas=(0.9, 0.999))
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True, drop_last=True)

    def batches():
        while True:
            yield from loader

    it = batches()

    def step() -> None:
        lr, hr = next(it)
        # G: content (φ features) + the app's adversarial and pixel terms, D frozen
        sr = G(lr)
        D.requires_grad_(False)
        o = app.options
        losses = M.perceptual_loss(sr, hr, D(sr), phi, o.adversarial_weight, o.pixel_weight)
        opt_g.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt_g.step()
        D.requires_grad_(True)
        # D: real HR → 1, the same SR (detached) → 0
        loss_d = M.discriminator_loss(D(hr), D(sr.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_d.item(), losses["loss"].item()  # a real loop logs its losses

    for _ in range(WARMUP):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t0


def trainer(steps: int, seed: int, log_every: int = 1) -> float:
    """Our app through the Trainer; seconds for ``steps`` iterations after warm-up."""
    app, data = make_app()
    return trainer_seconds(app, data, batch_size=BATCH, steps=steps, warmup=WARMUP, seed=seed, log_every=log_every)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="timed iterations")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, "
        f"{args.rounds} rounds (median), {WARMUP} warm-up iterations"
    )
    variants = {
        "plain": plain,
        "trainer": trainer,
        "trainer_log20": lambda steps, r: trainer(steps, r, log_every=20),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotate: no variant always runs first
        for name in order:
            times[name].append(variants[name](args.steps, r) / args.steps)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.4f}s" for k, v in times.items()), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    record = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": BATCH, "steps": args.steps}
    record.update({"rounds_s_per_it": times, "median_s_per_it": med})
    record["ratio"] = {k: med[k] / med["plain"] for k in med if k != "plain"}
    (Path(__file__).parent / "srgan_step.json").write_text(json.dumps(record, indent=1) + "\n")
    o = SRGANOptions()
    print(
        f"HR crops {o.crop_size}px (SRResNet C={o.channels}, B={o.blocks}; D ndf={o.ndf}), {args.steps} timed iterations"
    )
    for key, label in (
        ("plain", "plain PyTorch step"),
        ("trainer", "Trainer (default: log every step)"),
        ("trainer_log20", "Trainer, --log-every 20"),
    ):
        print(
            f"  {label:<36}{med[key]:7.4f} s/it" + ("" if key == "plain" else f"  ratio {med[key] / med['plain']:.3f}")
        )


if __name__ == "__main__":
    main()
