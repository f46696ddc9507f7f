"""ganapps ``tabular`` vs SDV's ``CTGANSynthesizer``: fit time, sampling time, SDMetrics quality.

Both fit the same pandas table with the same epochs and batch size, one after the other in this
process (never concurrently: two torch jobs on two cores slow each other ~10×). Fit time includes
each one's preprocessing (our transformer; SDV's metadata-driven RDT transformers and CTGAN's
Bayesian GMMs). Quality is judged by the rival's own tool for both: SDV's ``evaluate_quality``
(SDMetrics QualityReport) with SDV's auto-detected metadata, synthetic rows vs the training table.

Data (``../shared/data`` or $GANAPPS_SHARED_DATA):
  retail  20,000 rows of Online Retail (Quantity, UnitPrice, Country, InvoiceDate, StockCode), seed 0
  credit  the ULB credit-card subset (3,610 × 31)

    python bench/tabular_vs_sdv.py                       # both tables, both systems
    python bench/tabular_vs_sdv.py --tables credit --systems ganapps
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", REPO.parent / "shared" / "data"))

#: table → (loader, epochs). Epochs as in ../shared/ANCHORS.md's SDV baselines.
EPOCHS = {"retail": 10, "credit": 30}


def load(name: str, rows: int, seed: int) -> pd.DataFrame:
    if name == "retail":
        df = pl.read_csv(SHARED / "ecommerce" / "online_retail.csv.gz", infer_schema_length=100_000)
        df = df.select("Quantity", "UnitPrice", "Country", "InvoiceDate", "StockCode").sample(rows, seed=seed)
        pdf = (
            df.to_pandas(use_pyarrow_extension_array=False)
            if _has_pyarrow()
            else pd.DataFrame(df.to_dict(as_series=False))
        )
        pdf["InvoiceDate"] = pd.to_datetime(pdf["InvoiceDate"])
        return pdf
    if name == "credit":
        return pd.read_csv(SHARED / "fraud" / "creditcard_ulb_subset.csv")
    raise SystemExit(f"unknown table {name!r}")


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def quality(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float]:
    from sdv.evaluation import evaluate_quality
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes({"t": real})  # SDV 2.x API
    report = evaluate_quality(real, synthetic, metadata, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {
        "quality": round(float(report.get_score()), 4),
        "column_shapes": round(float(props.get("Column Shapes", float("nan"))), 4),
        "column_pair_trends": round(float(props.get("Column Pair Trends", float("nan"))), 4),
    }


def run_ganapps(
    df: pd.DataFrame, epochs: int, batch: int, seed: int, options: dict[str, Any], lr: float | None = None
) -> dict[str, Any]:
    from ganapps.core import TrainConfig, Trainer
    from ganapps.core.config import build
    from ganapps.plugins.tabular.app import TabularGAN
    from ganapps.plugins.tabular.options import TabularOptions

    t0 = time.perf_counter()
    app = TabularGAN(build(TabularOptions, options))
    app.train_config = cfg = TrainConfig(
        epochs=epochs,
        batch_size=batch,
        seed=seed,
        device="cpu",
        lr={"generator": lr, "discriminator": lr} if lr else {},
    )
    torch.manual_seed(seed)
    app.fit(df)  # column typing + transformer fit
    data = app.dataset(df)  # encoding
    Trainer(app, cfg, progress=False).fit(data)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    synthetic = app.generate(len(df))
    sample_s = time.perf_counter() - t1
    return {"fit_s": fit_s, "sample_s": sample_s, "synthetic": synthetic, "width": app.tt.width}


def run_sdv(df: pd.DataFrame, epochs: int, batch: int, seed: int) -> dict[str, Any]:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer

    torch.manual_seed(seed)
    t0 = time.perf_counter()
    metadata = Metadata.detect_from_dataframes({"t": df})  # SDV 2.x: data as {table: frame}
    synth = CTGANSynthesizer(metadata, epochs=epochs, batch_size=batch, verbose=False, enable_gpu=False)
    synth.fit({"t": df})
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    synthetic = synth.sample(len(df))
    synthetic = synthetic["t"] if isinstance(synthetic, dict) else synthetic
    sample_s = time.perf_counter() - t1
    return {"fit_s": fit_s, "sample_s": sample_s, "synthetic": synthetic}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", nargs="+", default=["retail", "credit"], choices=sorted(EPOCHS))
    parser.add_argument("--systems", nargs="+", default=["ganapps", "sdv"], choices=["ganapps", "sdv"])
    parser.add_argument("--rows", type=int, default=20_000, help="Rows sampled from Online Retail.")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--epochs", type=int, help="Override the per-table epochs.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, help="ganapps learning rate of both networks (default: the app's).")
    parser.add_argument("--option", action="append", default=[], help="ganapps tabular option NAME=VALUE.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if not SHARED.exists():
        raise SystemExit(f"needs the shared datasets at {SHARED} (set GANAPPS_SHARED_DATA)")
    options = dict(o.split("=", 1) for o in args.option)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ganapps options {options or 'default'}")
    results = []
    for table in args.tables:
        df = load(table, args.rows, args.seed)
        epochs = args.epochs or EPOCHS[table]
        for system in args.systems:
            if system == "ganapps":
                r = run_ganapps(df, epochs, args.batch_size, args.seed, options, args.lr)
            else:
                r = run_sdv(df, epochs, args.batch_size, args.seed)
            synthetic = r.pop("synthetic")
            if not isinstance(synthetic, pd.DataFrame):
                synthetic = synthetic.to_pandas()
            r.update(quality(df, synthetic), table=table, system=system, rows=len(df), epochs=epochs)
            results.append(r)
            print(
                f"{table:7s} {system:8s} rows {len(df):6d} epochs {epochs:3d}  fit {r['fit_s']:8.1f} s  "
                f"sample {r['sample_s']:6.2f} s  quality {r['quality']:.3f} "
                f"(shapes {r['column_shapes']:.3f}, pairs {r['column_pair_trends']:.3f})",
                flush=True,
            )
    for table in args.tables:
        by = {r["system"]: r for r in results if r["table"] == table}
        if {"ganapps", "sdv"} <= set(by):
            g, s = by["ganapps"], by["sdv"]
            print(
                f"{table}: ganapps fit time = {g['fit_s'] / s['fit_s']:.3f} × SDV's "
                f"({s['fit_s'] / g['fit_s']:.1f}× faster); quality {g['quality']:.3f} vs {s['quality']:.3f}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
