"""What share of this machine's fp32 matmul peak a ``tabular`` training step reaches.

- FLOPs of one training iteration (downstream step when present, critic step with its gradient
  penalty's double backward, generator step; forward and backward) are counted at the dispatcher:
  every ``mm``/``addmm``/``bmm`` call, 2·m·k·n each (torch's ``FlopCounterMode`` cannot run
  through the gradient penalty's ``autograd.grad``);
- the iteration's wall time is the median over ``--steps`` Trainer steps after warm-up;
- the peak is the best ``torch.mm`` rate measured here at the *same layer shapes* (every Linear
  of the generator, critic and downstream model at its batch size), and, for reference, at a
  large square product (2048³).

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/tabular_flops.py \
        --table credit_data.csv --rows 3000 --out bench/tabular_flops.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", REPO.parent / "shared" / "data"))


class MatmulFlops(TorchDispatchMode):
    """Counts the FLOPs of the matrix products run inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        name = func.overloadpacket.__name__
        if name in ("mm", "addmm", "bmm"):
            a, b = (args[1], args[2]) if name == "addmm" else (args[0], args[1])
            batch = a.shape[0] if name == "bmm" else 1
            self.flops += 2 * batch * a.shape[-2] * a.shape[-1] * b.shape[-1]
        return func(*args, **(kwargs or {}))


def mm_rate(m: int, k: int, n: int, seconds: float = 0.3) -> float:
    """GFLOP/s of ``(m, k) @ (k, n)`` in fp32, best of repeated timings."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        for _ in range(10):
            a @ b
        best = min(best, (time.perf_counter() - t) / 10)
    return 2 * m * k * n / best / 1e9


def layer_shapes(app, batch: int) -> list[tuple[int, int, int]]:
    """(rows, in, out) of every Linear, with the critic's rows divided by ``pac``."""
    shapes = []
    for name, net in app.nets.items():
        rows = batch // app.options.pac if name == "discriminator" else batch
        shapes += [(rows, m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]
    return shapes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", default="credit_data.csv")
    p.add_argument("--target", default=None, help="default: the MANIFEST's target")
    p.add_argument("--rows", type=int, default=3000)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    warnings.simplefilter("ignore")
    from ganapps.core.io import read_table
    from ganapps.core.pipeline import make_configs
    from ganapps.core.plugins import get_registry
    from ganapps.core.trainer import Trainer

    manifest = {e["file"]: e for e in json.loads((SHARED / "tables" / "MANIFEST.json").read_text())}
    target = args.target or manifest[args.table]["target"]
    frame = read_table(SHARED / "tables" / args.table, require_rows=True)
    frame = frame.sample(min(args.rows, frame.height), seed=0)
    app_cls = get_registry().app("tabular")
    opts, cfg = make_configs(app_cls, {"target": target}, {"seed": 0, "device": "cpu", "epochs": 1})
    app = app_cls(opts)
    app.train_config = cfg
    app.fit(frame)
    data = app.dataset(frame)
    trainer = Trainer(app, cfg, progress=False)
    trainer.setup()
    batch = data.tensors[0][: cfg.batch_size]
    steps = app.phases()[0].steps

    def iteration() -> None:
        for s in steps:
            opt = trainer.optimizers[s.optimizer]
            opt.zero_grad(set_to_none=True)
            s.fn(batch)["loss"].backward()
            opt.step()

    for _ in range(5):
        iteration()
    with MatmulFlops() as counter:
        iteration()
    flops = counter.flops
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        iteration()
        times.append(time.perf_counter() - t)
    step_s = statistics.median(times)
    shapes = sorted(set(layer_shapes(app, len(batch))))
    rates = {f"{m}x{k}x{n}": round(mm_rate(m, k, n), 2) for m, k, n in shapes}
    peak_shapes = max(rates.values())
    peak_square = mm_rate(2048, 2048, 2048, seconds=1.0)
    achieved = flops / step_s / 1e9
    result = {
        "table": args.table,
        "rows": frame.height,
        "batch": len(batch),
        "threads": torch.get_num_threads(),
        "flops_per_iteration": flops,
        "seconds_per_iteration": round(step_s, 5),
        "achieved_gflops": round(achieved, 2),
        "mm_gflops_at_layer_shapes": rates,
        "peak_gflops_layer_shapes": peak_shapes,
        "peak_gflops_2048": round(peak_square, 2),
        "share_of_layer_shape_peak": round(achieved / peak_shapes, 3),
        "share_of_2048_peak": round(achieved / peak_square, 3),
    }
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
