"""Data-parallel scaling: training throughput (samples/s) of 1 vs N processes, per app.

Each configuration is a real ``ganapps run APP ... --nproc N`` (torchrun, gloo on CPU, NCCL on
CUDA) in a fresh directory, one after the other, alternating over rounds (never two at once).
Throughput comes from the run's own step log (``metrics.jsonl``: step and training time), after
warm-up steps, so process start, data loading, evaluation and the report are not counted:

    samples/s = global batch × (last step − warm-up step) / (time of last step − time of warm-up step)

Configurations (global batch = processes × --batch-size; OMP_NUM_THREADS is ignored from the
environment: ``--nproc N`` gives each process cores / N threads):

- ``1 proc``         one process, batch B, every core for its threads (torch's default);
- ``1 proc, 1 thread``  the same on one core: what one worker of the N-process runs gets;
- ``2 procs, B/2``   two processes of batch B/2: the same global batch and maths, cores split;
- ``2 procs, B``     two processes of batch B: twice the global batch per step (weak scaling);
- ``2 procs, B/2 sync-bn``  as the second, batch norm over the global batch (--sync-bn).

    python bench/ddp_scaling.py --apps dcgan --steps 100 --rounds 2
    python bench/ddp_scaling.py --procs 2 4 8        # on a machine with 8 GPUs (one per process)

Apps are a list that grows: add an entry to ``APPS`` (the CLI arguments of a fixed workload) when
an app lands; apps not installed are skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Workload:
    """The fixed training job timed for one app."""

    args: list[str]
    batch: int
    about: str
    sync_bn: bool = True  # whether the app has batch norm worth synchronising
    env: dict[str, str] = field(default_factory=dict)


APPS: dict[str, Workload] = {
    # DCGAN at its default widths on the shipped 28×28 digits; the judge phase is skipped so every
    # timed step is an adversarial one (a D step and a G step).
    "dcgan": Workload(["--classifier-epochs", "0", "--samples", "64"], batch=64, about="DCGAN 28×28, ngf=ndf=64"),
    # the CTGAN-class tabular app at its default widths on the shipped Online Retail sample (mixed
    # types, 4,613 rows); each step samples its own conditions, so every process sees the whole table
    "tabular": Workload(
        ["--data", "online-retail-sample", "--samples", "200"],
        batch=500,
        about="tabular, CTGAN widths (256, 256), pac 10",
    ),
}


@dataclass
class Config:
    name: str
    nproc: int
    batch: int
    sync_bn: bool = False
    threads: int | None = None  # OMP_NUM_THREADS; None: torch's default (1 proc) or cores / N (--nproc N)


def configs(w: Workload, procs: list[int]) -> list[Config]:
    out = [Config("1 proc", 1, w.batch), Config("1 proc, 1 thread", 1, w.batch, threads=1)]
    for n in procs:
        out += [Config(f"{n} procs, B/{n}", n, w.batch // n), Config(f"{n} procs, B", n, w.batch)]
        if w.sync_bn:
            out.append(Config(f"{n} procs, B/{n} sync-bn", n, w.batch // n, sync_bn=True))
    return out


def installed(app: str) -> bool:
    from ganapps.core.plugins import get_registry

    return app in get_registry().apps


def measure(app: str, w: Workload, c: Config, steps: int, warmup: int, workdir: Path) -> dict:
    """One run; samples/s from its step log."""
    out = workdir / f"{app}-{c.nproc}-{c.batch}-{int(c.sync_bn)}-{time.monotonic_ns()}"
    cmd = [sys.executable, "-m", "ganapps", "-q", "run", app, *w.args, "--batch-size", str(c.batch)]
    cmd += ["--max-steps", str(steps), "--epochs", "1000", "--out", str(out), "--nproc", str(c.nproc)]
    cmd += ["--sync-bn"] if c.sync_bn else []
    t0 = time.perf_counter()
    env = {**os.environ, **w.env}
    env.pop("OMP_NUM_THREADS", None)
    if c.threads:
        env["OMP_NUM_THREADS"] = str(c.threads)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    first = next(r for r in log if r["step"] == warmup)
    last = log[-1]
    global_batch = c.batch * c.nproc
    rate = global_batch * (last["step"] - first["step"]) / (last["time"] - first["time"])
    return {
        "samples_per_s": rate,
        "ms_per_step": 1000 * (last["time"] - first["time"]) / (last["step"] - first["step"]),
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", nargs="+", default=list(APPS), help="apps to time (default: all listed)")
    parser.add_argument("--steps", type=int, default=150, help="training steps per run")
    parser.add_argument("--warmup", type=int, default=20, help="steps left out of the timing")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every configuration, alternating")
    parser.add_argument("--procs", type=int, nargs="+", default=[2], help="process counts besides 1 (GPUs: 2 4 8)")
    args = parser.parse_args()

    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, CUDA: {torch.cuda.is_available()}")
    print(f"python {sys.version.split()[0]}; command: {' '.join(sys.argv)}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for app in args.apps:
            if app not in APPS:
                print(f"{app}: no workload in bench/ddp_scaling.py APPS; skipped")
                continue
            if not installed(app):
                print(f"{app}: not installed; skipped")
                continue
            w = APPS[app]
            results: dict[str, list[dict]] = {c.name: [] for c in configs(w, args.procs)}
            for r in range(args.rounds):
                for c in configs(w, args.procs):
                    m = measure(app, w, c, args.steps, args.warmup, Path(tmp))
                    results[c.name].append(m)
                    print(
                        f"round {r + 1} {app} {c.name:22s} {m['samples_per_s']:8.1f} samples/s "
                        f"{m['ms_per_step']:7.1f} ms/step  (run wall {m['wall']:.0f} s)",
                        flush=True,
                    )
            base = statistics.median(m["samples_per_s"] for m in results["1 proc"])
            for c in configs(w, args.procs):
                rates = [m["samples_per_s"] for m in results[c.name]]
                steps = [m["ms_per_step"] for m in results[c.name]]
                med = statistics.median(rates)
                rows.append((app, c.name, c.batch * c.nproc, med, statistics.median(steps), med / base, rates))
    print()
    print("| app | configuration | global batch | samples/s (median) | ms/step | vs 1 proc | runs (samples/s) |")
    print("|---|---|---|---|---|---|---|")
    for app, name, gb, med, ms, ratio, rates in rows:
        runs = ", ".join(f"{r:.0f}" for r in rates)
        print(f"| {app} | {name} | {gb} | {med:.0f} | {ms:.0f} | {ratio:.2f}× | {runs} |")


if __name__ == "__main__":
    main()
