"""Tabular transformer fit time and memory: ganapps' batched encoders vs RDT's ClusterBasedNormalizer.

CTGAN and SDV's CTGANSynthesizer encode each continuous column with RDT's
``ClusterBasedNormalizer`` (a scikit-learn BayesianGaussianMixture of up to 10 modes fitted on
every row of the column, one column after another). ganapps fits every column's mixture in
one batched torch EM on 1,000 quantile points per column (``continuous="gmm"``), or a
quantile grid (``continuous="quantile"``).

Tables (each resampled with replacement to ``--rows`` rows, seed 0):

- ``retail``: ../shared/data/ecommerce/online_retail.csv.gz — Quantity, UnitPrice, InvoiceDate
  (continuous), CustomerID (4,038 ids), Country, StockCode (4,021 codes), Description;
- ``creditcard``: ../shared/data/fraud/creditcard_ulb_subset.csv — 30 continuous columns + Class;
- ``highcard``: synthetic — a categorical column of 100,000 Zipf-distributed levels and a price.

Each competitor runs in its own fresh process, one after the other (never concurrently), so its
peak memory (VmHWM) is its own. RDT is timed on ``--rdt-columns`` continuous columns per table
and its total is extrapolated to all continuous columns (labelled as such): fitting all 30
credit-card columns on 500k rows would take about half an hour.

    flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/tabular_transformer.py --rows 500000 --rdt-columns 3
    .venv/bin/python bench/tabular_transformer.py --roundtrip   # exactness of the round trip, no timing
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", REPO.parent / "shared" / "data"))
if not SHARED.exists():
    SHARED = Path("/work/shared/data")


def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux)


def load(table: str, rows: int):
    import polars as pl

    from ganapps.core.io import read_table

    rng = np.random.default_rng(0)
    if table == "retail":
        df = read_table(SHARED / "ecommerce" / "online_retail.csv.gz").select(
            "Quantity", "UnitPrice", "InvoiceDate", "CustomerID", "Country", "StockCode", "Description"
        )
    elif table == "creditcard":
        df = read_table(SHARED / "fraud" / "creditcard_ulb_subset.csv")
    else:
        # every one of 100,000 levels at least once, the other rows Zipf-distributed over them
        levels = min(100_000, rows)
        tail = rng.zipf(1.2, rows * 4)
        tail = tail[tail <= levels][: rows - levels] - 1
        product = rng.permutation(np.concatenate([np.arange(levels), tail]))
        names = pl.Series([f"P{p:06d}" for p in range(levels)])
        return pl.DataFrame({"product": names.gather(product), "price": np.round(rng.lognormal(2, 1, len(product)), 2)})
    idx = rng.integers(0, df.height, rows)
    return df[idx.tolist()]


def worker(name: str, table: str, rows: int, rdt_columns: int) -> dict:
    import polars as pl
    import torch

    from ganapps.tabular import TabularTransformer, detect_columns

    df = load(table, rows)
    specs = detect_columns(df)
    continuous = [s.name for s in specs if s.kind in ("continuous", "datetime")]
    if os.environ.get("OMP_NUM_THREADS") is None:
        torch.set_num_threads(os.cpu_count() or 1)
    base = rss_mb("VmRSS")
    reset_peak()
    out: dict = {"table": table, "rows": df.height, "competitor": name, "continuous_columns": len(continuous)}
    if name.startswith("ganapps"):
        t = TabularTransformer(continuous=name.split("-")[1])
        t0 = time.perf_counter()
        t.fit(df, detect_columns(df))  # column typing included
        out["fit_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        x = t.transform(df)
        out["transform_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        t.inverse_transform(x)
        out["inverse_s"] = time.perf_counter() - t0
        out["width"] = t.width
        out["matrix_mb"] = x.element_size() * x.nelement() / 2**20
        modes = [s.width for s in t.spans if s.kind == "mode"]
        out["modes_mean"] = float(np.mean(modes)) if modes else None
        cats = {s.name: df[s.name].n_unique() for s in specs if s.kind in ("categorical", "boolean")}
        out["onehot_width_uncapped"] = sum(cats.values()) + sum(modes) + len(modes)
    else:  # RDT ClusterBasedNormalizer, as CTGAN's DataTransformer configures it
        import pandas as pd
        from rdt.transformers.numerical import ClusterBasedNormalizer

        warnings.filterwarnings("ignore")
        fits, transforms, modes = [], [], []
        for col in continuous[:rdt_columns]:
            s = df[col]
            if s.dtype == pl.String:  # text dates → seconds, as SDV's UnixTimestampEncoder would
                s = s.str.to_datetime("%Y-%m-%d %H:%M:%S").dt.epoch("s")
            frame = pd.DataFrame({col: s.cast(pl.Float64).to_numpy()})
            cbn = ClusterBasedNormalizer(
                missing_value_generation="from_column", max_clusters=min(len(frame), 10), enforce_min_max_values=True
            )
            t0 = time.perf_counter()
            cbn.fit(frame, col)
            fits.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            cbn.transform(frame)
            transforms.append(time.perf_counter() - t0)
            modes.append(int(cbn.valid_component_indicator.sum()))
            print(f"  rdt {table} {col}: fit {fits[-1]:.1f} s", file=sys.stderr, flush=True)
        out["columns_timed"] = continuous[:rdt_columns]
        out["fit_s_per_column"] = float(np.mean(fits))
        out["fit_s_timed"] = float(np.sum(fits))
        out["fit_s_extrapolated_all"] = float(np.mean(fits)) * len(continuous)
        out["transform_s_per_column"] = float(np.mean(transforms))
        out["modes_mean"] = float(np.mean(modes))
    out["peak_rss_mb"] = rss_mb("VmHWM") - base
    return out


def roundtrip() -> list[dict]:
    """Share of values changed by transform → inverse_transform on the real Online Retail file."""
    from ganapps.core.io import read_table
    from ganapps.tabular import TabularTransformer, detect_columns

    df = read_table(SHARED / "ecommerce" / "online_retail.csv.gz")
    specs = detect_columns(df)
    out = []
    for continuous in ("gmm", "quantile"):
        t = TabularTransformer(continuous=continuous).fit(df, specs)
        back = t.inverse_transform(t.transform(df))
        assert back.schema == df.schema
        for s in specs:
            if s.kind in ("continuous", "datetime"):
                changed = int((df[s.name] != back[s.name]).fill_null(True).sum())
                changed -= int((df[s.name].is_null() & back[s.name].is_null()).sum())
                out.append({"encoding": continuous, "column": s.name, "rows": df.height, "changed": changed})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--rdt-columns", type=int, default=3)
    ap.add_argument("--tables", default="retail,creditcard,highcard")
    ap.add_argument("--competitors", default="ganapps-gmm,ganapps-quantile,rdt-cbn")
    ap.add_argument("--out", default=str(REPO / "bench" / "tabular_transformer.json"))
    ap.add_argument("--worker", nargs=2, metavar=("COMPETITOR", "TABLE"), help=argparse.SUPPRESS)
    ap.add_argument("--roundtrip", action="store_true", help="exactness of the round trip on Online Retail")
    args = ap.parse_args()
    if args.roundtrip:
        for row in roundtrip():
            print(json.dumps({**row, "changed_share": row["changed"] / row["rows"]}))
        return
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.rows, args.rdt_columns)))
        return
    results = []
    for table in args.tables.split(","):
        for name in args.competitors.split(","):
            if table == "highcard" and name == "rdt-cbn":
                continue  # one continuous column; the point of this table is the categorical one
            cmd = [sys.executable, __file__, "--rows", str(args.rows), "--rdt-columns", str(args.rdt_columns)]
            proc = subprocess.run([*cmd, "--worker", name, table], capture_output=True, text=True, check=False)
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                raise SystemExit(f"{name} on {table} failed")
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(res)
            print(json.dumps(res), flush=True)
    info = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, no GPU",
        "python": platform.python_version(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "results": results,
    }
    Path(args.out).write_text(json.dumps(info, indent=2) + "\n")


if __name__ == "__main__":
    main()
