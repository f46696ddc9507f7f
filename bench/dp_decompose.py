"""Issue 18: where DP-tabular's ML efficacy goes — noise, or the DP pipeline itself? Validation rows only.

On dp_tabular_select's spans (2,400 fit / 600 validation rows inside each table's 3,000-row
training span; no test rows read), one table at a time:

- ``nodp-default``: the non-DP app at its defaults (225 epochs, 256-wide critic, exact transformer);
- ``nodp-sched``: the non-DP app on the DP schedule (80 epochs of 500, 128-wide critic);
- ``nodp-sched-bce-pac1``: the same with the DP critic's loss (BCE) and pac 1;
- ``dp-eps<E>[-pooled]``: the DP app's defaults at ε = E (``-pooled``: no per-class calibration) (E = 10⁴: the DP pipeline with next to no noise:
  clipping, Poisson sampling, histogram-fitted transformer, noisy-count calibration).

The gaps between rows split the loss into schedule, DP pipeline and noise. One JSON per cell in
``--out``, skipped when present:

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/dp_decompose.py \
        --tables diamonds.csv,computers.csv --cells nodp-default,nodp-sched,dp-eps10000,dp-eps3 --seeds 0,1
    .venv/bin/python bench/dp_decompose.py --report
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
OUT = REPO / "bench" / "dp_decompose"


def settings_of(cell: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(app options, train settings) of a cell name."""
    if cell == "nodp-default":
        return {}, {}
    if cell == "nodp-sched":
        return {"discriminator_dim": [128, 128]}, {"epochs": 80, "batch_size": 500}
    if cell == "nodp-sched-bce-pac1":  # and the DP critic's loss and pac, still without DP
        return {"discriminator_dim": [128, 128], "loss": "bce", "pac": 1}, {"epochs": 80, "batch_size": 500}
    if cell.startswith("dp-eps"):
        eps, _, variant = cell.removeprefix("dp-eps").partition("-")
        options = {"pooled": {"calibrate_by_target": False}, "": {}}[variant]
        return options, {"dp_epsilon": float(eps)}
    raise SystemExit(f"unknown cell {cell!r}")


def run_cell(entry: dict[str, Any], cell: str, seed: int) -> dict[str, Any]:
    import tabular_select as TS

    from ganapps.tabular import TabularTransformer
    from ganapps.tabular.compare import fit_and_sample
    from ganapps.tabular.evaluate import ml_efficacy, quality_report

    options, settings = settings_of(cell)
    fit, val = TS.spans(entry, 3000, 600, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sample, timings = fit_and_sample(
            "tabular", fit, entry["target"], seed, "cpu", None, [""], options=options, settings=settings
        )
        specs = TabularTransformer().fit(fit).specs
        q = quality_report(val, sample, specs)
        ml = ml_efficacy(fit, sample, val, entry["target"], specs)
    return {
        "table": entry["file"],
        "cell": cell,
        "seed": seed,
        "quality_val": round(q["quality_score"], 4),
        "shapes": round(q["column_shapes"], 4),
        "pairs": round(q["column_pair_trends"], 4),
        "shapes_by_column": {k: round(v, 3) for k, v in q["column_shapes_by_column"].items()},
        "ml": round(ml["train_on_synthetic"][ml["metric"]], 4),
        "ml_real": round(ml["train_on_real"][ml["metric"]], 4),
        "seconds": round(timings["fit_seconds"], 1),
    }


def report(out: Path) -> None:
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    keys = ("quality_val", "shapes", "pairs", "ml", "ml_real")
    print("| table | cell | seeds | quality (val) | column shapes | pair trends | ML (val) | ML of real rows |")
    print("|---|---|---|---|---|---|---|---|")
    for t in sorted({r["table"] for r in rows}):
        for c in dict.fromkeys(r["cell"] for r in rows if r["table"] == t):
            rs = [r for r in rows if r["table"] == t and r["cell"] == c]
            means = " | ".join(f"{np.mean([r[k] for r in rs]):.3f}" for k in keys)
            print(f"| {t.split('.')[0]} | {c} | {len(rs)} | {means} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", default="diamonds.csv,computers.csv")
    p.add_argument("--cells", default="nodp-default,nodp-sched,dp-eps10000,dp-eps3")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--report", action="store_true")
    args = p.parse_args()
    out = Path(args.out)
    if args.report:
        return report(out)
    import tabular_select as TS
    import torch

    torch.set_num_threads(2)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {e["file"]: e for e in json.loads((TS.TABLES / "MANIFEST.json").read_text())}
    for seed in (int(s) for s in args.seeds.split(",")):
        for cell in args.cells.split(","):
            for table in args.tables.split(","):
                path = out / f"{table.split('.')[0]}__{cell}__s{seed}.json"
                if path.exists():
                    continue
                record = run_cell(manifest[table], cell, seed)
                path.write_text(json.dumps(record, indent=1) + "\n")
                print(path.name, record["quality_val"], record["ml"], record["seconds"], flush=True)


if __name__ == "__main__":
    main()
