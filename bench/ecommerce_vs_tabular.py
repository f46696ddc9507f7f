"""ganapps ``ecommerce`` vs ganapps ``tabular`` vs SDV ``CTGANSynthesizer`` on Online Retail order lines.

One 50,000-line sample of whole invoices (seed 0) of ``../shared/data/ecommerce/online_retail.csv.gz``
(all 8 columns, returns and guest lines included) is split by invoice: 80% train, 20% held out.
Each system fits the training lines (fit time = preprocessing + training, wall clock, on this
machine), generates as many lines as the held-out part has, and every output is scored by the
same code (``ganapps.plugins.ecommerce.metrics``) against the held-out purchases:

- SDMetrics QualityReport on product, quantity, unit price, timestamp, customer, country;
- basket size (lines per invoice, invoices being the generated InvoiceNo values): KS and
  Wasserstein-1 distance; basket value KS;
- co-purchase: correlation of real and synthetic phi coefficients of the 50 top products;
- catalogue share and share of lines priced at a price observed for their product.

``--part ecommerce`` trains once and scores 3 generations (seeds 0, 1, 2) with the basket-size
calibration (the default) and 3 without it (``size_calibration`` off): the table row is seed 0
calibrated, the spread and the uncalibrated draws are in the JSON.

``--part ctgan --ctgan-setup categorical`` gives SDV every id column as a categorical (one-hot;
9,814 columns on the 50k sample, too slow to fit here); ``--ctgan-setup keys`` is the metadata a
careful SDV user would write: ``InvoiceNo`` and ``CustomerID`` as sdtype ``id`` with a
``regex_format`` (SDV generates them, so every generated line gets a fresh invoice: baskets of 1
line, which is CTGAN's result on a line table), ``StockCode`` and ``Description`` as one
categorical via the ``FixedCombinations`` constraint (3,530 columns).

``--part full`` trains ``ecommerce`` on all 436,091 lines (timed: target < 15 minutes on CPU).
The ganapps apps train through the public API (``ganapps.core.run``); ``tabular`` is skipped
with a note when no such app is registered. Parts write ``bench/ecommerce_vs_tabular.json``
(merged), so they can run as separate commands:

    python bench/ecommerce_vs_tabular.py --part ecommerce
    python bench/ecommerce_vs_tabular.py --part tabular
    python bench/ecommerce_vs_tabular.py --part ctgan
    python bench/ecommerce_vs_tabular.py --part full
    python bench/ecommerce_vs_tabular.py --part table        # prints the markdown table
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", REPO.parent / "shared" / "data"))
DATA = SHARED / "ecommerce" / "online_retail.csv.gz"
OUT = REPO / "bench" / "ecommerce_vs_tabular.json"
COLS = {"invoice": "InvoiceNo", "product": "StockCode", "description": "Description", "quantity": "Quantity",
        "price": "UnitPrice", "date": "InvoiceDate", "customer": "CustomerID", "country": "Country", "category": None}  # fmt: skip


def load_all() -> pl.DataFrame:
    return pl.read_csv(
        DATA,
        infer_schema_length=10_000,
        schema_overrides={"InvoiceNo": pl.String, "StockCode": pl.String, "CustomerID": pl.String},
    )


def sample_split(df: pl.DataFrame, lines: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Whole invoices drawn at random until ``lines`` lines, then 80/20 by invoice."""
    inv = df["InvoiceNo"].unique().sort().to_numpy()
    rng = np.random.default_rng(seed)
    rng.shuffle(inv)
    sizes = df.group_by("InvoiceNo").len()
    size_of = dict(zip(sizes["InvoiceNo"].to_list(), sizes["len"].to_list(), strict=True))
    cum = np.cumsum([size_of[i] for i in inv])
    chosen = inv[: int(np.searchsorted(cum, lines)) + 1]
    held = set(chosen[: len(chosen) // 5].tolist())
    sub = df.filter(pl.col("InvoiceNo").is_in(chosen.tolist()))
    return sub.filter(~pl.col("InvoiceNo").is_in(list(held))), sub.filter(pl.col("InvoiceNo").is_in(list(held)))


def canon(frame: pl.DataFrame, where: str) -> tuple[pl.DataFrame, dict[str, Any]]:
    from ganapps.plugins.ecommerce import orders as O

    c = O.clean(O.canonical(frame, COLS, None, where), COLS, where)
    return c.lines, c.report


def score(train: pl.DataFrame, held: pl.DataFrame, synth: pl.DataFrame) -> dict[str, Any]:
    from ganapps.plugins.ecommerce import metrics as M

    tr, _ = canon(train, "train")
    ho, _ = canon(held, "held-out")
    sy, rep = canon(synth, "synthetic")
    b = M.basket_metrics(ho, sy)
    return {
        "quality": M.sdmetrics_quality(ho, sy)["quality_score"],
        "basket_size_ks": b["basket_size_ks"],
        "basket_size_wasserstein": b["basket_size_wasserstein"],
        "basket_size_mean": [b["basket_size_mean_real"], b["basket_size_mean_synthetic"]],
        "basket_value_ks": b["basket_value_ks"],
        "orders_per_customer_ks": b["orders_per_customer_ks"],
        "copurchase_corr": M.copurchase(ho, sy)[0]["copurchase_corr"],
        **{k: v for k, v in M.price_fidelity(tr, sy).items() if k in ("catalogue_share", "observed_price_share")},
        "synthetic_returns_dropped": rep["returns_cancellations"],
    }


def as_text(frame: Any) -> pl.DataFrame:
    """A synthesizer's output with the ids as text (as the input was read)."""
    from ganapps.core.io import read_table

    f = read_table(frame, "synthetic")
    return f.with_columns(
        *(pl.col(c).cast(pl.String) for c in ("InvoiceNo", "StockCode", "CustomerID") if c in f.columns),
        pl.col("InvoiceDate").cast(pl.String).str.slice(0, 19),
    )


def run_ecommerce(train: pl.DataFrame, epochs: int, batch: int, out: Path) -> tuple[float, Any]:
    from ganapps.core import run

    t = time.perf_counter()
    r = run("ecommerce", train, train={"epochs": epochs, "batch_size": batch, "holdout": 0.02, "seed": 0},
            out=out, samples=500, progress=False)  # fmt: skip
    return time.perf_counter() - t, r


def part_ecommerce(args: argparse.Namespace) -> dict[str, Any]:
    """One training; its generations scored with and without the basket-size calibration, 3 seeds each."""
    import torch

    train, held = sample_split(load_all(), args.lines, 0)
    draws: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as d:
        fit, r = run_ecommerce(train, args.epochs, args.batch_size, Path(d) / "run")
        for calibrated in (True, False):
            r.app.options.size_calibration = calibrated
            for seed in (0, 1, 2):
                torch.manual_seed(seed)
                draws.setdefault("calibrated" if calibrated else "raw_size", []).append(
                    score(train, held, r.app.generate(held.height))
                )
    keys = ("quality", "basket_size_ks", "basket_size_wasserstein", "basket_value_ks", "copurchase_corr")
    spread = {
        name: {k: [min(d[k] for d in ds), float(np.mean([d[k] for d in ds])), max(d[k] for d in ds)] for k in keys}
        for name, ds in draws.items()
    }
    return {"fit_s": fit, "train_s": r.metrics["training"]["seconds"], "epochs": args.epochs,
            "batch_size": args.batch_size, **draws["calibrated"][0], "seeds_min_mean_max": spread,
            "raw_size_seed0": draws["raw_size"][0]}  # fmt: skip


def part_tabular(args: argparse.Namespace) -> dict[str, Any]:
    from ganapps.core import run
    from ganapps.core.plugins import get_registry

    if "tabular" not in get_registry().apps:
        print("note: the ganapps `tabular` app is not registered here; skipping it")
        return {"skipped": "tabular app not registered"}
    train, held = sample_split(load_all(), args.lines, 0)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        r = run("tabular", train, train={"epochs": args.tabular_epochs, "batch_size": 500, "holdout": 0.02, "seed": 0},
                out=Path(d) / "run", samples=500, progress=False)  # fmt: skip
        fit = time.perf_counter() - t
        synth = as_text(r.app.generate(held.height))
    return {"fit_s": fit, "epochs": args.tabular_epochs, "batch_size": 500, **score(train, held, synth)}


CTGAN_SETUPS = {
    "categorical": "every id column (InvoiceNo, StockCode, Description, CustomerID, Country) categorical",
    "keys": "InvoiceNo and CustomerID sdtype id with a regex_format (SDV generates them, no one-hot); "
    "StockCode and Description one categorical pair via FixedCombinations; Country categorical",
}


def ctgan_metadata(pdf: Any, setup: str) -> tuple[Any, list[Any]]:
    """SDV 2.x metadata (and constraints) for one CTGAN setup (see ``CTGAN_SETUPS``)."""
    from sdv.cag import FixedCombinations
    from sdv.metadata import Metadata

    meta = Metadata.detect_from_dataframes({"orders": pdf})
    if meta.tables["orders"].primary_key:
        meta.remove_primary_key("orders")
    for c in ("InvoiceNo", "StockCode", "CustomerID", "Description", "Country"):
        meta.update_column(c, "orders", sdtype="categorical")  # ids as they are: invoices group lines
    if setup == "categorical":
        return meta, []
    # ids the way the SDV docs describe them: generated from a pattern, not learned
    meta.update_column("InvoiceNo", "orders", sdtype="id", regex_format="5[0-9]{5}")
    meta.update_column("CustomerID", "orders", sdtype="id", regex_format="1[0-9]{4}")
    return meta, [FixedCombinations(column_names=["StockCode", "Description"])]


def part_ctgan(args: argparse.Namespace) -> dict[str, Any]:
    import pandas as pd
    import torch
    from sdv.single_table import CTGANSynthesizer

    train, held = sample_split(load_all(), args.lines, 0)
    pdf = pd.DataFrame(train.to_dict(as_series=False))
    pdf["InvoiceDate"] = pd.to_datetime(pdf["InvoiceDate"])
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meta, constraints = ctgan_metadata(pdf, args.ctgan_setup)  # SDV 2.x API
        synth = CTGANSynthesizer(meta, epochs=args.ctgan_epochs, verbose=True, enable_gpu=False)
        if constraints:
            synth.add_constraints(constraints)
            # SDV 2.0.0's add_constraints() rebuilds the data processor without CTGAN's own defaults
            # (categorical columns passed raw for CTGAN to one-hot), so categoricals would silently become
            # UniformEncoder floats; restore them as CTGANSynthesizer.__init__ does.
            synth._update_default_transformers()
        processed = synth.preprocess({"orders": pdf})  # SDV 2.x: data as {table: frame}
        prep = time.perf_counter() - t
        print(
            f"ctgan[{args.ctgan_setup}]: preprocessed in {prep:.1f} s; columns {list(processed['orders'].columns)}",
            flush=True,
        )
        synth.fit_processed_data(processed)
        fit = time.perf_counter() - t
        width = int(synth._model._transformer.output_dimensions)  # the one-hot/mode-specific width CTGAN models
        print(
            f"ctgan[{args.ctgan_setup}]: {width} columns; {args.ctgan_epochs} epochs in {fit - prep:.1f} s", flush=True
        )
        torch.manual_seed(0)
        out = synth.sample(held.height)
        out = out["orders"] if isinstance(out, dict) else out
    return {"fit_s": fit, "preprocess_s": prep, "train_s": fit - prep, "epochs": args.ctgan_epochs, "batch_size": 500,
            "width": width, "setup": args.ctgan_setup, "setup_text": CTGAN_SETUPS[args.ctgan_setup], "lines": args.lines,
            **score(train, held, as_text(out))}  # fmt: skip


def part_full(args: argparse.Namespace) -> dict[str, Any]:
    df = load_all()
    t = time.perf_counter()
    from ganapps.core import run

    with tempfile.TemporaryDirectory() as d:
        r = run("ecommerce", df, train={"epochs": args.full_epochs, "batch_size": args.full_batch_size, "seed": 0},
                out=Path(d) / "run", progress=False)  # fmt: skip
    total = time.perf_counter() - t
    m = r.metrics["metrics"]
    return {
        "lines": df.height, "epochs": args.full_epochs, "batch_size": args.full_batch_size,
        "train_s": r.metrics["training"]["seconds"], "run_s": total,
        "quality": m.get("quality", {}).get("quality_score"), "basket_size_ks": m.get("basket_size_ks"),
        "copurchase_corr": m.get("copurchase", {}).get("copurchase_corr"),
        "conditional": m.get("conditional"), "privacy": m.get("privacy"),
    }  # fmt: skip


def table(results: dict[str, Any]) -> str:
    rows = ["| system | epochs | fit (s) | SDMetrics quality ↑ | basket size KS ↓ | basket size W1 ↓ | mean basket (real / synth) | basket value KS ↓ | co-purchase corr ↑ | observed price share ↑ |",
            "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in [k for k in results if k != "full"]:
        r = results.get(name)
        if not r:
            continue
        if "skipped" in r:
            rows.append(f"| {name} | — | skipped: {r['skipped']} | | | | | | | |")
            continue
        mb = r["basket_size_mean"]
        rows.append(
            f"| {name} | {r['epochs']} | {r['fit_s']:.0f} | {r['quality']:.3f} | {r['basket_size_ks']:.3f} | "
            f"{r['basket_size_wasserstein']:.1f} | {mb[0]:.1f} / {mb[1]:.1f} | {r['basket_value_ks']:.3f} | "
            f"{r['copurchase_corr']:.3f} | {r['observed_price_share']:.3f} |"
        )
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["ecommerce", "tabular", "ctgan", "full", "table"], required=True)
    p.add_argument("--lines", type=int, default=50_000)
    p.add_argument("--epochs", type=int, default=60, help="ecommerce epochs on the 50k sample")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--tabular-epochs", type=int, default=10)
    p.add_argument("--ctgan-epochs", type=int, default=3)
    p.add_argument("--ctgan-setup", choices=sorted(CTGAN_SETUPS), default="categorical", help="SDV metadata for CTGAN")
    p.add_argument("--full-epochs", type=int, default=8)
    p.add_argument("--full-batch-size", type=int, default=1000)
    args = p.parse_args()
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    if args.part == "table":
        print(table(results))
        return
    fn = {"ecommerce": part_ecommerce, "tabular": part_tabular, "ctgan": part_ctgan, "full": part_full}[args.part]
    res = fn(args)
    res["command"] = f"python bench/ecommerce_vs_tabular.py --part {args.part} " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "part"
    )
    key = args.part + ("" if args.part != "ctgan" or args.ctgan_setup == "categorical" else f"_{args.ctgan_setup}")
    key += "" if args.lines == 50_000 or args.part == "full" else f"@{args.lines}"
    results[key] = res
    OUT.write_text(json.dumps(results, indent=1, default=float))
    print(json.dumps(res, indent=1, default=float))


if __name__ == "__main__":
    main()
