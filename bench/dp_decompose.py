"""Issue 18: where DP-tabular's ML efficacy goes — noise, or the DP pipeline itself? Validation rows only.

On dp_tabular_select's spans (2,400 fit / 600 validation rows inside each table's 3,000-row
training span; no test rows read), one table at a time:

- ``nodp-default``: the non-DP app at its defaults (225 epochs, 256-wide critic, exact transformer);
- ``nodp-sched``: the non-DP app on the DP schedule (80 epochs of 500, 128-wide critic);
- ``nodp-sched-bce-pac1``: the same with the DP critic's loss (BCE) and pac 1;
- ``dp-eps<E>[-pooled][-C<c>]``: the DP app's defaults at ε = E (``-pooled``: no per-class calibration;
  ``-C<c>``: clipping norm c instead of 1) (E = 10⁴ or 10⁶: the DP pipeline with next to no noise:
  clipping, Poisson sampling, histogram-fitted transformer, noisy-count calibration; at 10⁶ with C = 100
  next to no clipping either).

The gaps between rows split the loss into schedule, DP pipeline and noise. One JSON per cell in
``--out``, skipped when present:

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/dp_decompose.py \
        --tables diamonds.csv,computers.csv --cells nodp-default,nodp-sched,dp-eps10000,dp-eps3 --seeds 0,1
    .venv/bin/python bench/dp_decompose.py --report
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import sys
import warnings
from collections.abc import Iterator
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
        eps, *tokens = cell.removeprefix("dp-eps").split("-")
        options: dict[str, Any] = {"dp_optimizer": "adam"}  # the DP default until stop 30 (now SGD)
        settings: dict[str, Any] = {"dp_epsilon": float(eps)}
        for token in tokens:
            if token == "pooled":
                options["calibrate_by_target"] = False
            elif token.startswith("C"):  # the clipping norm (1 by default)
                settings["dp_max_grad_norm"] = float(token[1:])
            elif token.startswith(("sgd", "aeps")):  # the critic's optimizer (exploration; patched in run_cell)
                settings["critic_optimizer"] = token
            else:
                raise SystemExit(f"unknown token {token!r} in cell {cell!r}")
        return options, settings
    raise SystemExit(f"unknown cell {cell!r}")


@contextlib.contextmanager
def critic_optimizer(token: str) -> Iterator[None]:
    """Exploration before the app had ``--dp-optimizer``: ``sgd<lr>`` patches the critic to plain SGD at lr
    (keeping Adam's weight decay 1e-6); ``aeps<e>`` to Adam with ε = e (default 1e-8)."""
    if not token:
        yield
        return
    import torch

    from ganapps.core import trainer
    from ganapps.plugins.tabular.app import TabularGAN

    original, table = TabularGAN.configure_optimizers, dict(trainer.OPTIMIZERS)

    def patched(self: Any) -> list[Any]:
        specs = original(self)
        d = specs[0]
        if token.startswith("sgd"):
            specs[0] = dataclasses.replace(d, algorithm="sgd", lr=float(token[3:]))
        else:
            specs[0] = dataclasses.replace(d, algorithm="adamw")
        return specs

    trainer.OPTIMIZERS["adamw"] = functools.partial(torch.optim.Adam, eps=float(token[4:] or 1e-8))
    TabularGAN.configure_optimizers = patched  # type: ignore[method-assign]
    try:
        yield
    finally:
        TabularGAN.configure_optimizers = original  # type: ignore[method-assign]
        trainer.OPTIMIZERS.clear()
        trainer.OPTIMIZERS.update(table)


def run_cell(entry: dict[str, Any], cell: str, seed: int) -> dict[str, Any]:
    import tabular_select as TS

    from ganapps.tabular import TabularTransformer
    from ganapps.tabular.compare import fit_and_sample
    from ganapps.tabular.evaluate import ml_efficacy, quality_report

    options, settings = settings_of(cell)
    fit, val = TS.spans(entry, 3000, 600, seed)
    with warnings.catch_warnings(), critic_optimizer(settings.pop("critic_optimizer", "")):
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


def report(out: Path, seeds: set[int] | None = None) -> None:
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    rows = [r for r in rows if seeds is None or r["seed"] in seeds]
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
    p.add_argument("--report-seeds", action="store_true", help="report only the cells of --seeds")
    args = p.parse_args()
    out = Path(args.out)
    if args.report:
        return report(out, {int(x) for x in args.seeds.split(",")} if args.report_seeds else None)
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
