"""Batch scoring throughput: ``ganapps score`` on a 5-million-row CSV against a bare polars read.

Builds CSVs of 1 and 5 million rows by resampling the real ULB credit-card rows (original text,
seeded), trains a fraud bundle on the real data, then times in separate processes, on a warm
page cache: ``pl.read_csv(file)`` (bare read, whole file in memory), a bare streaming pass
(``scan_csv(...).collect_batches()`` over the same columns, nothing else) and
``ganapps -q score RUN --data file --out scores.csv``. Peak memory is each process's max RSS.

    flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/fraud_scoring.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "fraud" / "creditcard_ulb_subset.csv"
GANAPPS = str(Path(sys.executable).with_name("ganapps"))

BARE_READ = "import polars as pl, sys; df = pl.read_csv(sys.argv[1]); print(df.height)"
BARE_STREAM = (
    "import polars as pl, sys\n"
    "n = 0\n"
    "cols = {c: pl.Float64 for c in pl.scan_csv(sys.argv[1]).collect_schema().names() if c != 'Class'}\n"
    "for b in pl.scan_csv(sys.argv[1], schema_overrides=cols).select(list(cols)).collect_batches(chunk_size=100_000):\n"
    "    n += b.height\n"
    "print(n)"
)


def make_csv(path: Path, rows: int, seed: int = 0, chunk: int = 250_000) -> None:
    """``rows`` real rows drawn with replacement, written chunk by chunk (original text)."""
    real = pl.read_csv(DATA, infer_schema=False)
    rng = np.random.default_rng(seed)
    with path.open("wb") as fh:
        for start in range(0, rows, chunk):
            idx = rng.integers(0, real.height, min(chunk, rows - start))
            real[idx.tolist()].write_csv(fh, include_header=start == 0)


PEAK = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def timed(cmd: list[str]) -> dict[str, float]:
    """Wall seconds and peak RSS (MiB) of ``cmd``, measured by a fresh wrapper process."""
    out = subprocess.run([sys.executable, "-c", PEAK, *cmd], check=True, capture_output=True, text=True).stdout
    seconds, kib = out.split()
    return {"seconds": round(float(seconds), 2), "peak_rss_mib": round(int(kib) / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--workdir", default=None, help="where the big CSVs go (default: a temp dir)")
    ap.add_argument("--out", default=str(HERE / "fraud_scoring.json"))
    ap.add_argument("--chunk-size", type=int, default=None, help="ganapps score --chunk-size (default: its own)")
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", help="fraud app option")
    args = ap.parse_args()
    options = {k.replace("-", "_"): json.loads(v) for k, _, v in (o.partition("=") for o in args.option)}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp_path = Path(tmp)
        from ganapps.core import run

        start = time.perf_counter()
        r = run("fraud", str(DATA), options=options, out=tmp_path / "run", progress=False)
        print(f"trained the bundle in {time.perf_counter() - start:.1f} s")
        # fixed cost of the command (interpreter, torch, plugins, bundle): score the 3,610 real rows
        results["startup"] = timed(
            [GANAPPS, "-q", "score", str(r.run_dir.path), "--data", str(DATA), "--out", str(tmp_path / "s.csv")]
        )
        print("startup (3,610 rows):", results["startup"])
        for rows in sorted(args.rows):
            csv = tmp_path / f"tx_{rows}.csv"
            start = time.perf_counter()
            make_csv(csv, rows)
            size = csv.stat().st_size
            print(f"{rows:,} rows: {size / 2**30:.2f} GiB written in {time.perf_counter() - start:.1f} s")
            subprocess.run(["cat", str(csv)], check=True, stdout=subprocess.DEVNULL)  # warm the page cache
            res = {"bytes": size}
            chunk = ["--chunk-size", str(args.chunk_size)] if args.chunk_size else []
            res["score"] = timed(
                [GANAPPS, "-q", "score", str(r.run_dir.path), "--data", str(csv), "--out", str(tmp_path / "scores.csv")]
                + chunk
            )
            res["bare_stream"] = timed([sys.executable, "-c", BARE_STREAM, str(csv)])
            res["bare_read"] = timed([sys.executable, "-c", BARE_READ, str(csv)])
            res["score_over_bare_read"] = round(res["score"]["seconds"] / res["bare_read"]["seconds"], 2)
            res["score_over_bare_stream"] = round(res["score"]["seconds"] / res["bare_stream"]["seconds"], 2)
            res["scores_rows"] = pl.scan_csv(tmp_path / "scores.csv").select(pl.len()).collect().item()
            results[str(rows)] = res
            print(json.dumps(res))
            csv.unlink()
    results["machine"] = {"cpus": os.cpu_count(), "polars": pl.__version__}
    results["options"] = options
    results["chunk_size"] = args.chunk_size
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
