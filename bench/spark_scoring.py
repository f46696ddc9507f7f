"""Batch scoring throughput: ``ganapps score`` vs ``ganapps score --engine spark`` on the same rows.

Builds ``--rows`` transactions by resampling the real ULB credit-card rows (``../shared``; the
shipped 1,000-row sample when absent), seeded, written once as one Parquet file (for
``ganapps score``) and once as 8 Parquet parts (for Spark, so that ``local[2]`` has tasks for
both cores); trains a fraud bundle on the shipped sample (scoring cost does not depend on the
training); then times each command in its own process, on a warm page cache:

- ``ganapps -q score RUN --data tx.parquet --out local.parquet``
- ``ganapps -q score RUN --data 'parts/*' --engine spark --master local[N] --out spark_out``

and reports wall seconds of the whole process (start-up included: Python, torch, the JVM) and the
rows/s of each command's summary line (the scoring itself), and checks that the two outputs hold
the same scores, flags and errors row for row.

    flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/spark_scoring.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data" / "fraud" / "creditcard_ulb_subset.csv"
GANAPPS = str(Path(sys.executable).with_name("ganapps"))


def make_rows(rows: int, seed: int = 0) -> pl.DataFrame:
    """``rows`` real rows drawn with replacement, with a ``key`` column (0..rows-1)."""
    from ganapps.datasets import HERE as SAMPLES

    source = SHARED if SHARED.exists() else SAMPLES / "creditcard" / "creditcard_sample.csv"
    real = pl.read_csv(source)
    idx = np.random.default_rng(seed).integers(0, real.height, rows)
    return real[idx.tolist()].with_row_index("key").with_columns(pl.col("key").cast(pl.Int64))


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout.strip().splitlines()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--masters", nargs="+", default=["local[2]", "local[1]"])
    ap.add_argument("--json", type=Path, default=HERE / "spark_scoring.json")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="spark-bench-"))
    rows = make_rows(args.rows)
    rows.write_parquet(tmp / "tx.parquet")
    (tmp / "parts").mkdir()
    for i, part in enumerate(np.array_split(np.arange(rows.height), 8)):
        rows[int(part[0]) : int(part[-1]) + 1].write_parquet(tmp / "parts" / f"part-{i}.parquet")
    run = tmp / "run"
    subprocess.run([GANAPPS, "-q", "run", "fraud", "--epochs", "5", "--samples", "100", "--out", str(run)], check=True)

    results: dict[str, dict[str, float | str]] = {}
    local_cmd = [
        GANAPPS,
        "-q",
        "score",
        str(run),
        "--data",
        str(tmp / "tx.parquet"),
        "--out",
        str(tmp / "local.parquet"),
    ]
    timed(local_cmd)  # warm the page cache and the imports
    wall, line = timed(local_cmd)
    results["ganapps score"] = {"wall_s": wall, "summary": line}
    for master in args.masters:
        out = tmp / ("spark_" + re.sub(r"\W", "", master))
        cmd = [GANAPPS, "-q", "score", str(run), "--data", f"{tmp / 'parts'}/*", "--engine", "spark"]
        wall, line = timed([*cmd, "--master", master, "--out", str(out)])
        results[f"--engine spark --master {master}"] = {"wall_s": wall, "summary": line}

    local = pl.read_parquet(tmp / "local.parquet")
    for r in results.values():
        m = re.search(r"scored ([\d,]+) rows in ([\d.]+) s \(([\d,]+) rows/s\)", str(r["summary"]))
        assert m, r["summary"]
        r["rows"], r["score_s"], r["rows_per_s"] = int(m[1].replace(",", "")), float(m[2]), int(m[3].replace(",", ""))
        r["rows_per_s_wall"] = round(r["rows"] / float(r["wall_s"]))
    for master in args.masters:
        got = pl.read_parquet(tmp / ("spark_" + re.sub(r"\W", "", master)) / "*.parquet").sort("key")
        same = (
            got["key"].to_list() == local["row"].to_list()
            and np.array_equal(got["score"].to_numpy(), local["score"].to_numpy(), equal_nan=True)
            and got["fraud"].equals(local["fraud"])
            and got["error"].equals(local["error"])
        )
        results[f"--engine spark --master {master}"]["equal_to_ganapps_score"] = bool(same)

    print(f"| command ({args.rows:,} rows) | wall s (with start-up) | scoring s | rows/s (summary) | rows/s (wall) |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| `{name}` | {r['wall_s']:.1f} | {r['score_s']:.1f} | {r['rows_per_s']:,} | {r['rows_per_s_wall']:,} |")
    for name, r in results.items():
        if "equal_to_ganapps_score" in r:
            print(f"{name}: equal to ganapps score row for row: {r['equal_to_ganapps_score']}")
    args.json.write_text(json.dumps({"rows": args.rows, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
