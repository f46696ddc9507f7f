"""Engine overhead: the same DCGAN networks trained N steps by the Trainer and by a plain loop.

Both run in this process, one after the other, alternating over several rounds (never two torch
jobs at once). The plain loop does exactly the app's arithmetic (a D step on a fresh detached fake
batch, then a G step on a fresh fake batch, BCE losses, Adam 2e-4/β=(0.5, 0.999)) with nothing
around it. Reported: median seconds per step of each and their ratio (Trainer / plain; target ≤ 1.05).

    python bench/engine_overhead.py --steps 200 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganapps.core import TrainConfig, Trainer
from ganapps.core.data import TensorData
from ganapps.core.rundir import RunDir
from ganapps.datasets import HERE
from ganapps.plugins.dcgan.app import DCGAN
from ganapps.plugins.dcgan.options import DCGANOptions


def make_app() -> tuple[DCGAN, TensorData]:
    app = DCGAN(DCGANOptions(classifier_epochs=0))
    data = app.load_data(HERE / "mnist" / "mnist_sample.npz")
    app.fit(data)
    return app, data


def plain_loop(steps: int, batch_size: int, seed: int) -> float:
    """The hand-written PyTorch loop; returns seconds for ``steps`` iterations after warm-up."""
    torch.manual_seed(seed)
    app, data = make_app()
    nets = app.build()
    G, D = nets["generator"], nets["discriminator"]
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    x = data.tensors[0]
    n_batches = len(x) // batch_size
    nz = app.options.nz

    def step(i: int) -> None:
        real = x[(i % n_batches) * batch_size : (i % n_batches + 1) * batch_size]
        fake = G(torch.randn(batch_size, nz)).detach()
        d_real, d_fake = D(real), D(fake)
        loss_d = F.binary_cross_entropy_with_logits(
            d_real, torch.ones_like(d_real)
        ) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        d_gen = D(G(torch.randn(batch_size, nz)))
        loss_g = F.softplus(-d_gen).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        loss_d.item(), loss_g.item()  # a real loop logs its losses

    for i in range(20):
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    return time.perf_counter() - t0


def trainer_loop(steps: int, batch_size: int, seed: int, run_dir: Path | None, freeze: bool) -> float:
    """The Trainer on the same app; seconds for ``steps`` iterations after 20 warm-up ones."""
    app, data = make_app()
    cfg = TrainConfig(epochs=1000, batch_size=batch_size, seed=seed, max_steps=steps + 20, deterministic=False)
    trainer = Trainer(app, cfg, run_dir=RunDir(run_dir) if run_dir else None, progress=False)
    if not freeze:
        trainer._train_only = lambda optimizer, differentiable=(): None  # type: ignore[method-assign]
    start = [0.0]
    original = trainer._iteration

    def timed(phase, batch, logging_step):  # type: ignore[no-untyped-def]
        if trainer.global_step == 20:  # warm-up done: start the clock
            start[0] = time.perf_counter()
        return original(phase, batch, logging_step)

    trainer._iteration = timed  # type: ignore[method-assign]
    trainer.fit(data)
    return time.perf_counter() - start[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    variants = {
        "plain": lambda r, tmp: plain_loop(args.steps, args.batch_size, r),
        "trainer": lambda r, tmp: trainer_loop(args.steps, args.batch_size, r, None, True),
        "trainer_nofreeze": lambda r, tmp: trainer_loop(args.steps, args.batch_size, r, None, False),
        "trainer_rundir": lambda r, tmp: trainer_loop(args.steps, args.batch_size, r, tmp, True),
    }
    wall: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]  # rotate: no variant always runs first
            for name in order:
                rd = Path(tmp) / f"{name}{r}"
                rd.mkdir()
                c0 = time.process_time()
                wall[name].append(variants[name](r, rd))
                cpu[name].append(time.process_time() - c0)
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in wall.items()), file=sys.stderr)
    med = {k: statistics.median(v) / args.steps * 1000 for k, v in wall.items()}
    medc = {k: statistics.median(v) for k, v in cpu.items()}
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
        f"{args.steps} timed steps x {args.rounds} rounds (median)"
    )
    print(f"{'plain loop':<36}{med['plain']:7.2f} ms/step")
    for key, label in (
        ("trainer", "Trainer (default)"),
        ("trainer_nofreeze", "Trainer, freezing off"),
        ("trainer_rundir", "Trainer + JSONL log + checkpoints"),
    ):
        print(
            f"{label:<36}{med[key]:7.2f} ms/step  wall ratio {med[key] / med['plain']:.3f}"
            f"  (process CPU ratio {medc[key] / medc['plain']:.3f})"
        )


if __name__ == "__main__":
    main()
