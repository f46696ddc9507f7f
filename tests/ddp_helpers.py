"""Code that the worker processes of tests/test_distributed.py import (tests/ is put on their path).

``GradApp`` reads its noise z and its gradient-penalty mixing weights α from the batch, so one
training iteration is a pure function of the batch: two processes stepping on two shards can be
compared with one process stepping on the concatenated batch.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ganapps.core import App, OptimizerSpec, TrainConfig, Trainer
from ganapps.core import losses as L
from ganapps.core.data import TensorData
from ganapps.core.testing import RingApp, RingOptions, ring_data

ROWS = 48  # rows per process in the gradient test


@dataclass
class GradOptions:
    norm: Literal["none", "batch"] = field(default="none", metadata={"help": "Batch norm in both networks."})
    gp: float = field(default=0.0, metadata={"help": "WGAN-GP weight (0: BCE losses, no penalty)."})


class GradApp(App):
    """A GAN on 2-D points whose randomness comes with the batch (engine tests only)."""

    name = "ddpgrad"
    kind = "toy"
    description = "Toy GAN with noise in the batch (distributed tests)"
    Options = GradOptions
    train_defaults = {"epochs": 1, "batch_size": ROWS}

    def load_data(self, source: Any) -> TensorData:
        g = torch.Generator().manual_seed(1)
        n = 4 * ROWS
        return TensorData(ring_data(n, seed=1), torch.randn(n, 4, generator=g), torch.rand(n, 1, generator=g))

    def fit(self, train: TensorData) -> None:
        self.schema = {"dim": 2}

    def dataset(self, train: TensorData) -> TensorData:
        return train

    def build(self) -> dict[str, nn.Module]:
        def norm() -> nn.Module:
            return nn.BatchNorm1d(16) if self.options.norm == "batch" else nn.Identity()

        return {
            "generator": nn.Sequential(nn.Linear(4, 16), norm(), nn.ReLU(), nn.Linear(16, 2)),
            "discriminator": nn.Sequential(nn.Linear(2, 16), norm(), nn.LeakyReLU(0.2), nn.Linear(16, 1)),
        }

    def configure_optimizers(self) -> list[OptimizerSpec]:
        # SGD: an update proportional to the gradient (Adam's first step is lr·sign(g), which turns
        # float noise in a zero gradient — a bias before batch norm — into a full-size difference)
        return [
            OptimizerSpec("discriminator", ("discriminator",), lr=0.05, algorithm="sgd"),
            OptimizerSpec("generator", ("generator",), lr=0.05, algorithm="sgd"),
        ]

    def discriminator_step(self, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
        real, z, alpha = batch
        D = self.nets.discriminator
        fake = self.nets.generator(z).detach()
        d_real, d_fake = D(real), D(fake)  # two calls of the wrapped network, one backward
        if not self.options.gp:
            return {"loss": L.d_bce(d_real, d_fake)}
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)  # a third call, double backward
        penalty = ((grad.norm(2, dim=1) - 1) ** 2).mean()
        return {"loss": L.d_wgan(d_real, d_fake) + self.options.gp * penalty, "penalty": penalty}

    def generator_step(self, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
        _, z, _ = batch
        d_fake = self.nets.discriminator(self.nets.generator(z))  # D frozen and plain, G wrapped
        return {"loss": L.g_wgan(d_fake) if self.options.gp else L.g_nonsaturating(d_fake)}


CONFIGS: dict[str, tuple[dict[str, Any], bool]] = {
    "plain": ({}, False),
    "gradient-penalty": ({"gp": 10.0}, False),
    "sync-bn": ({"norm": "batch", "gp": 10.0}, True),
    "batch-norm-unsynced": ({"norm": "batch"}, False),
}


def one_iteration(options: dict[str, Any], rows: slice, sync_bn: bool) -> dict[str, Any]:
    """Build GradApp, run one training iteration (D step, G step) on ``rows``; gradients, weights, log."""
    app = GradApp(GradOptions(**options))
    data = app.load_data(None)
    app.fit(data)
    batch = data.take(torch.arange(rows.start, rows.stop))
    trainer = Trainer(app, TrainConfig(batch_size=ROWS, seed=3, device="cpu", sync_bn=sync_bn), progress=False)
    trainer.setup()
    losses = trainer._iteration(trainer.phases[-1], batch, logging_step=True)
    return {
        "grads": {n: p.grad.clone() for n, p in app.nets.named_parameters() if p.grad is not None},
        "state": {k: v.clone() for k, v in app.nets.state_dict().items()},
        "losses": {k: v for k, v in losses.items() if k.endswith("loss") or k.endswith("penalty")},
    }


def resume_check(out: Path, sync_bn: bool) -> dict[str, dict[str, Tensor]]:
    """dcgan (tiny, batch norm, EMA) trained straight through, and stopped mid-epoch then resumed
    from its checkpoint: the final weights and EMA of both."""
    import torch.distributed as dist

    from ganapps.core.rundir import RunDir
    from ganapps.datasets import HERE
    from ganapps.plugins.dcgan.app import DCGAN
    from ganapps.plugins.dcgan.options import DCGANOptions

    def train(max_steps: int = 0, run_dir: RunDir | None = None, resume: bool = False) -> Trainer:
        app = DCGAN(DCGANOptions(nz=8, ngf=4, ndf=4, classifier_epochs=1))
        data = app.load_data(HERE / "mnist" / "mnist_sample.npz")
        data = TensorData(*(t[:128] for t in data.tensors))
        app.fit(data)
        cfg = TrainConfig(epochs=2, batch_size=16, seed=5, ema=0.9, sync_bn=sync_bn, device="cpu", max_steps=max_steps)
        trainer = Trainer(app, cfg, run_dir=run_dir, progress=False)
        trainer.fit(data, resume=str(run_dir.last_checkpoint) if resume else None)
        return trainer

    def final(trainer: Trainer) -> dict[str, Tensor]:
        state = {k: v.clone() for k, v in trainer.app.nets.state_dict().items()}
        state.update({f"ema.{i}": t.clone() for i, t in enumerate(trainer.ema.shadow["generator"])})
        return state

    full = final(train())
    run_dir = RunDir(out / f"resumed-{sync_bn}")
    train(max_steps=6, run_dir=run_dir)  # 4 steps per epoch: stops in the middle of the second phase's first epoch
    dist.barrier()  # rank 0 has written the checkpoint
    return {"full": full, "resumed": final(train(run_dir=run_dir, resume=True))}


class CtrlC(RingApp):
    """RingApp whose process 1 alone receives Ctrl-C in the middle of iteration ``stop_at``."""

    stop_at = -1

    def generator_step(self, real: Tensor) -> dict[str, Tensor]:
        import torch.distributed as dist

        if self.progress.global_step == self.stop_at and dist.get_rank() == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return super().generator_step(real)


def interrupt_check(out: Path) -> dict[str, Any]:
    """Train straight through; and interrupted (Ctrl-C in one process), then resumed."""
    import torch.distributed as dist

    from ganapps.core.rundir import RunDir

    def train(stop_at: int, run_dir: RunDir | None = None, resume: bool = False) -> tuple[Trainer, bool]:
        app = CtrlC(RingOptions(rows=256))
        app.stop_at = stop_at
        data = app.load_data(None)
        app.fit(data)
        trainer = Trainer(app, TrainConfig(epochs=2, batch_size=16, seed=4, ema=0.9, device="cpu"), run_dir=run_dir)
        trainer.progress = False
        try:
            trainer.fit(data, resume=str(run_dir.last_checkpoint) if resume else None)
        except KeyboardInterrupt:
            return trainer, True
        return trainer, False

    def final(trainer: Trainer) -> dict[str, Tensor]:
        state = {k: v.clone() for k, v in trainer.app.nets.state_dict().items()}
        state.update({f"ema.{i}": t.clone() for i, t in enumerate(trainer.ema.shadow["generator"])})
        return state

    full, _ = train(-1)
    run_dir = RunDir(out / "interrupted")
    part, interrupted = train(5, run_dir)
    dist.barrier()  # rank 0 has written the checkpoint
    resumed, _ = train(-1, run_dir, resume=True)
    return {"full": final(full), "resumed": final(resumed), "interrupted": interrupted, "step": part.global_step}


def grad_worker(rank: int, world: int, port: int, out: str) -> None:
    """One process of the gradient test: every configuration on this rank's shard, saved to ``out``."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    import datetime

    import torch.distributed as dist

    # a short timeout: a collective that one process never joins fails the test instead of hanging it
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=90))
    results = {
        name: one_iteration(options, slice(rank * ROWS, (rank + 1) * ROWS), sync_bn)
        for name, (options, sync_bn) in CONFIGS.items()
    }
    results["resume"] = resume_check(Path(out), sync_bn=False)
    results["resume-sync-bn"] = resume_check(Path(out), sync_bn=True)
    results["ctrl-c"] = interrupt_check(Path(out))
    torch.save(results, Path(out) / f"rank{rank}.pt")
    dist.destroy_process_group()
