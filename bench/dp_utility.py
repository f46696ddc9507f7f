"""Issue 18: what differential privacy costs, ours against smartnoise-synth's DP anchors.

Cells (synthesizer × dataset × ε × seed), one JSON each under ``--out`` (bench/dp_utility/), skipped
when present, so the benchmark runs in chunks of a few minutes under the CPU lock (``--budget``
stops starting new cells after that many seconds). Synthesizers:

  ours       ``tabular`` on the tables, ``medgan`` on the binary patient × code matrices, through
             the same code as ``ganapps compare`` / ``ganapps run`` (``dp_epsilon`` when ε is given)
  dpctgan, patectgan, mst
             smartnoise-synth 1.0.8 in its own venv (bench/README.md), one subprocess per fit via
             bench/dp_rivals.py, one after the other; the rows it writes are judged here

Datasets: the six tables of ../shared/data/tables (3,000 training and 1,000 test rows per seed, the
split of bench/tabular_suite.py), judged by ``ganapps.tabular.compare.Judge`` (quality vs training
and test rows, ML efficacy, DCR and membership AUC); the matrices of bench/medgan_vs_sdv.py
(``comorbid``: generated; ``mimic``: MIMIC-III demo diagnoses) and Synthea conditions (``synthea``),
split by patient (20% held out), judged by its ``judge`` (dimension-wise probability r vs training
and held-out patients, membership AUC). δ = 1/(10·n) for every synthesizer (n training rows).

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/dp_utility.py \\
        --datasets credit_data --synths ours,dpctgan,patectgan,mst --eps 3,none --budget 420
    .venv/bin/python bench/dp_utility.py --report          # the markdown of bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", REPO.parent / "shared" / "data"))
SN_PYTHON = Path(os.environ.get("SMARTNOISE_PYTHON", "/work/venv-smartnoise/bin/python"))
OUT = REPO / "bench" / "dp_utility"
MATRICES = ("comorbid", "mimic", "synthea")
RIVALS = ("dpctgan", "patectgan", "mst")
TRAIN_ROWS, TEST_ROWS = 3000, 1000
#: share of a rival's ε spent by smartnoise on the bounds of continuous columns (counted inside ε)
PREPROCESSOR_SHARE = 0.1
#: ``tabular`` under DP: the app's own DP defaults (``dp_train_defaults``) unless ``--ours-dp`` names
#: epochs and batch (stops 26-27 ran 20 epochs of batch 500, before the app had DP defaults chosen on
#: validation rows: bench/RESULTS.md); each cell records its epochs and steps
OURS_DP: dict[str, int] = {}
#: epoch cap of the smartnoise GANs (their default is 300; both stop earlier when ε is spent)
RIVAL_EPOCHS: dict[str, int | None] = {"dpctgan": None, "patectgan": None}

log = logging.getLogger("dp_utility")


def cell_path(out: Path, dataset: str, synth: str, eps: float | None, seed: int) -> Path:
    return out / f"{dataset}__{synth}__{'nodp' if eps is None else f'eps{eps:g}'}__s{seed}.json"


# ------------------------------------------------------------------------------ tables
def table_split(name: str, seed: int) -> tuple[Any, Any, Any]:
    """(Table, training rows, test rows) of a MANIFEST table, split as ``ganapps compare`` does."""
    from ganapps.tabular.compare import load_tables, split_table

    manifest = json.loads((SHARED / "tables" / "MANIFEST.json").read_text())
    entry = next((e for e in manifest if e["file"].split(".")[0] == name), None)
    if entry is None:
        raise SystemExit(f"--datasets: no table {name!r} in {SHARED / 'tables'}")
    (table,) = load_tables(SHARED / "tables" / entry["file"], entry["target"], TRAIN_ROWS, TEST_ROWS)
    train, test = split_table(table, seed)
    return table, train, test


def run_rival(synth: str, train: pl.DataFrame, kinds: dict[str, str], eps: float, seed: int) -> tuple[Any, dict]:
    """A smartnoise fit in its own venv: (synthetic frame as written, its timings and budget)."""
    with tempfile.TemporaryDirectory() as tmp:
        job = {
            "synth": synth,
            "epsilon": eps,
            "delta": 1.0 / (10 * train.height),
            "seed": seed,
            "rows": train.height,
            "epochs": RIVAL_EPOCHS.get(synth),
            "preprocessor_share": PREPROCESSOR_SHARE,
            "categorical": [c for c, k in kinds.items() if k != "continuous"],
            "continuous": [c for c, k in kinds.items() if k == "continuous"],
            "train": f"{tmp}/train.csv",
            "out": f"{tmp}/synthetic.csv",
            "info": f"{tmp}/info.json",
            "threads": int(os.environ.get("OMP_NUM_THREADS", "2")),
        }
        train.write_csv(job["train"])
        Path(f"{tmp}/job.json").write_text(json.dumps(job))
        done = subprocess.run(
            [str(SN_PYTHON), str(REPO / "bench" / "dp_rivals.py"), f"{tmp}/job.json"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
            raise RuntimeError(f"{synth} failed: {lines[-1] if lines else done.returncode}")
        info = json.loads(Path(job["info"]).read_text())
        frame = pl.read_csv(job["out"], infer_schema_length=None)
    return frame, info


def like(frame: pl.DataFrame, train: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``train``'s dtypes (a CSV round trip may read "1"/"0" columns as numbers)."""
    cols = []
    for c in train.columns:
        s = frame[c]
        if train[c].dtype == pl.String:
            s = s.cast(pl.String)
        elif train[c].dtype.is_integer():
            s = s.cast(pl.Float64, strict=False).round(0).cast(train[c].dtype, strict=False)
        else:
            s = s.cast(train[c].dtype, strict=False)
        cols.append(s.alias(c))
    return pl.DataFrame(cols)


def table_cell(name: str, synth: str, eps: float | None, seed: int) -> dict[str, Any]:
    """One table cell: fit, draw as many rows as the training rows, judge as ``ganapps compare``."""
    from ganapps.tabular import TabularTransformer
    from ganapps.tabular.compare import Judge, fit_and_sample, headline

    table, train, test = table_split(name, seed)
    judge = Judge(TabularTransformer().fit(train, where=table.name), train, test, table.target, seed)
    start = time.perf_counter()
    if synth in ("ours", "ours-cats"):
        settings = {"dp_epsilon": eps, **OURS_DP} if eps is not None else None
        options = {"dp_metadata": public_categories(train, judge.specs)} if synth == "ours-cats" else None
        synthetic, info = fit_and_sample(
            "tabular", train, table.target, seed, "cpu", None, ["fit"], options=options, settings=settings
        )
        info = {k: info[k] for k in ("fit_seconds", "sample_seconds", "epochs", "batch_size", "steps")}
    else:
        kinds = {s.name: ("continuous" if s.kind == "continuous" else "categorical") for s in judge.specs}
        kinds = {c: kinds.get(c, "categorical") for c in train.columns}
        frame, info = run_rival(synth, train, kinds, float(eps), seed)
        synthetic = like(frame, train)
    wall = time.perf_counter() - start
    values = headline(judge.judge(synthetic))
    extra = {"ceiling_ml": headline(judge.ceiling())["ml"]} if synth == "ours" else {}
    return {"values": values, "wall_seconds": wall, **extra, **info}


def public_categories(train: pl.DataFrame, specs: Any) -> str:
    """A ``--dp-metadata`` file naming the category list of each text column, read off the training rows:
    what smartnoise's synthesizers take from the data without spending budget (``ours-cats``: ours under
    the rivals' assumption that category lists are public); numbers get no bounds."""
    kinds = {s.name: s.kind for s in specs}
    columns = {}
    for c in train.columns:
        if train[c].dtype == pl.String and kinds.get(c) in ("categorical", "boolean"):
            columns[c] = {"sdtype": "categorical", "categories": sorted(train[c].drop_nulls().unique().to_list())}
    path = Path(tempfile.mkdtemp()) / "public.json"
    path.write_text(json.dumps({"METADATA_SPEC_VERSION": "V1", "tables": {"t": {"columns": columns}}}))
    return str(path)


# ---------------------------------------------------------------------------- matrices
def matrix_split(name: str) -> tuple[Any, Any]:
    """(training, held-out) wide 0/1 pandas frames of a matrix, split by patient (seed 0)."""
    import medgan_vs_sdv as M

    if name != "synthea":
        train, hold, _ = M.load(name)
        return train, hold
    import pandas as pd

    from ganapps.plugins.medgan.data import load_codes, split_by_patient

    m, _, _ = load_codes(SHARED / "ehr" / "synthea_unmc" / "conditions.csv", patient_col="PATIENT", code_col="CODE")
    parts = split_by_patient(m, 0.2, seed=0)
    return tuple(pd.DataFrame((p.x > 0).numpy().astype(np.int64), columns=p.codes) for p in parts)


def matrix_cell(name: str, synth: str, eps: float | None, seed: int) -> dict[str, Any]:
    """One matrix cell: medGAN (or a rival on the 0/1 columns as categories), judged by medgan_vs_sdv."""
    import medgan_vs_sdv as M

    train, hold = matrix_split(name)
    n = max(len(train), 1000)
    start = time.perf_counter()
    if synth == "ours":
        settings = {"dp_epsilon": eps, "dp_delta": 1.0 / (10 * len(train))} if eps is not None else None
        x, seconds, info = M.run_medgan(train, n, seed, settings)
        info = {"fit_seconds": seconds, **info}
    else:
        frame = pl.DataFrame({c: train[c].astype(str).to_numpy() for c in train.columns})
        syn, info = run_rival(synth, frame, dict.fromkeys(train.columns, "categorical"), float(eps), seed)
        x = np.column_stack([syn[c].cast(pl.Float64, strict=False).fill_null(0).to_numpy() for c in train.columns])
        x = x[:n] if len(x) >= n else x
    wall = time.perf_counter() - start
    values = M.judge(train.to_numpy(), hold.to_numpy(), x)
    return {"values": values, "wall_seconds": wall, "train_shape": list(train.shape), "holdout": len(hold), **info}


# --------------------------------------------------------------------------------- runs
def run(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    for dataset in args.datasets.split(","):
        for eps in [None if e == "none" else float(e) for e in args.eps.split(",")]:
            for synth in args.synths.split(","):
                if synth != "ours" and eps is None:
                    continue  # the anchors are DP synthesizers: no non-DP cell
                for seed in range(args.seeds):
                    path = cell_path(out, dataset, synth, eps, seed)
                    if path.exists() and not (args.retry_errors and json.loads(path.read_text()).get("error")):
                        continue
                    if time.perf_counter() - began > args.budget:
                        log.info("budget of %d s spent: stopping before %s", args.budget, path.name)
                        return
                    record = one_cell(dataset, synth, eps, seed)
                    path.write_text(json.dumps(record, indent=1) + "\n")
                    log.info("%s: %s", path.name, record.get("error") or _short(record))


def one_cell(dataset: str, synth: str, eps: float | None, seed: int) -> dict[str, Any]:
    """The record of one cell; a failure is recorded (``error``), so that it is not rerun blindly."""
    record: dict[str, Any] = {"dataset": dataset, "synth": synth, "epsilon": eps, "seed": seed, "error": None}
    cell = matrix_cell if dataset in MATRICES else table_cell
    try:
        record.update(cell(dataset, synth, eps, seed))
    except Exception as exc:  # noqa: BLE001 - one failing synthesizer must not stop the chunk
        from ganapps.core.errors import one_line

        record["error"] = one_line(exc)
    return record


def _short(record: dict[str, Any]) -> str:
    v = record["values"]
    keys = ("quality_test", "ml", "membership_auc", "dim_prob_r_holdout")
    return ", ".join(f"{k} {v[k]:.3f}" for k in keys if v.get(k) is not None) + f", {record['wall_seconds']:.0f} s"


def main() -> None:
    global TRAIN_ROWS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="credit_data,cps1988,wa_churn,diamonds,computers,healthinsurance")
    p.add_argument("--synths", default="ours,dpctgan,patectgan,mst")
    p.add_argument("--eps", default="3,none", help="comma list of ε, 'none' for ours without DP")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--budget", type=float, default=420, help="start no new cell after this many seconds")
    p.add_argument("--out", default=str(OUT))
    p.add_argument(
        "--rival-epochs",
        type=int,
        default=None,
        help="cap DP-CTGAN's and PATE-CTGAN's epochs (time; recorded per cell)",
    )
    p.add_argument("--train-rows", type=int, default=TRAIN_ROWS, help="training rows per table (use its own --out)")
    p.add_argument("--ours-dp", default="", help="EPOCHS,BATCH for ours under DP (default: the app's DP defaults)")
    p.add_argument("--retry-errors", action="store_true", help="rerun cells that recorded an error")
    p.add_argument("--report", action="store_true", help="print the markdown of the cells in --out; run nothing")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    TRAIN_ROWS = args.train_rows
    if args.ours_dp:
        epochs, batch = (int(v) for v in args.ours_dp.split(","))
        OURS_DP.update(epochs=epochs, batch_size=batch)
    if args.rival_epochs:
        RIVAL_EPOCHS.update(dpctgan=args.rival_epochs, patectgan=args.rival_epochs)
    if args.report:
        from dp_utility_report import report

        print(report(Path(args.out), TRAIN_ROWS))
    else:
        run(args)


if __name__ == "__main__":
    main()
