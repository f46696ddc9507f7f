"""Where a ``tabular`` training step spends its time: cProfile over the Trainer on one dev table.

Trains the app at its defaults (``--target`` from MANIFEST.json) for ``--epochs`` epochs on
``--rows`` rows and prints the fit, train, calibration and generation times and the 25 functions
with the most own time. The first steps pay one-off imports; read the per-step shares from the
torch calls (``run_backward``, ``linear``, ``dropout``...).

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/tabular_profile.py --epochs 20
    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/tabular_profile.py --epochs 20 --torch

``--torch`` uses torch's profiler instead (per aten op, self CPU time) and prints the share of
the training time spent in matrix products (``aten::mm`` and ``aten::addmm``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import time
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", REPO.parent / "shared" / "data"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", default="credit_data.csv")
    p.add_argument("--rows", type=int, default=3000)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--torch", action="store_true", help="torch's profiler (per op) instead of cProfile")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    from ganapps.core.io import read_table
    from ganapps.core.pipeline import make_configs
    from ganapps.core.plugins import get_registry
    from ganapps.core.trainer import Trainer

    target = {e["file"]: e["target"] for e in json.loads((SHARED / "tables" / "MANIFEST.json").read_text())}[args.table]
    frame = read_table(SHARED / "tables" / args.table, require_rows=True)
    frame = frame.sample(min(args.rows, frame.height), seed=0)
    app_cls = get_registry().app("tabular")
    opts, cfg = make_configs(app_cls, {"target": target}, {"seed": 0, "device": "cpu", "epochs": args.epochs})
    app = app_cls(opts)
    app.train_config = cfg
    t = time.perf_counter()
    app.fit(frame)
    data = app.dataset(frame)
    print(f"fit + dataset {time.perf_counter() - t:.2f} s")
    trainer = Trainer(app, cfg, progress=False)
    if args.torch:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as torch_profile

        profile = torch_profile(activities=[ProfilerActivity.CPU])
        profile.__enter__()
    else:
        profile = cProfile.Profile()
        profile.enable()
    t = time.perf_counter()
    result = trainer.fit(data)
    trainer.finalize()
    elapsed = time.perf_counter() - t
    if args.torch:
        profile.__exit__(None, None, None)
    else:
        profile.disable()
    print(f"train {elapsed:.2f} s, {result.steps} steps, {1000 * elapsed / result.steps:.1f} ms/step")
    t = time.perf_counter()
    app.calibrate(frame)
    print(f"calibrate {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    app.generate(frame.height)
    print(f"generate {time.perf_counter() - t:.3f} s")
    if args.torch:
        ops = profile.key_averages()
        total = sum(e.self_cpu_time_total for e in ops)
        mm = sum(e.self_cpu_time_total for e in ops if e.key in ("aten::mm", "aten::addmm"))
        print(f"matrix products: {100 * mm / total:.0f}% of the profiled self CPU time")
        print(ops.table(sort_by="self_cpu_time_total", row_limit=25))
    else:
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
