"""Issue 18: tabular with and without --dp-epsilon on one table, quality and ML efficacy on the run's
holdout rows (validation, inside the table; no test split is touched). One cell per (ε, epochs, batch);
each cell's JSON is written beside this script and skipped when present (resumable).

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/dp_tabular_eps.py TABLE TARGET EPOCHS BATCH EPS...

ε 0 is the non-DP run (its own defaults: WGAN-GP, pac 10, per-class calibration).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ganapps.core import run

HERE = Path(__file__).parent / "dp_tabular_eps"


def main() -> None:
    table, target, epochs, batch, *eps = sys.argv[1:]
    HERE.mkdir(exist_ok=True)
    for e in [float(x) for x in eps]:
        name = Path(table).stem
        out = HERE / f"{name}_eps{e:g}_ep{epochs}_bs{batch}.json"
        if out.exists():
            continue
        start = time.time()
        train = {"epochs": int(epochs), "batch_size": int(batch), "dp_epsilon": e, "seed": 0}
        res = run(
            "tabular",
            table,
            options={"target": target},
            train=train,
            samples=2000,
            progress=False,
            out=f"/tmp/dpbench/{out.stem}",
        )
        m = res.metrics
        cell = {
            "table": name,
            "epsilon": e,
            "epochs": int(epochs),
            "batch_size": int(batch),
            "quality_score": m["metrics"]["quality_score"],
            "ml_efficacy_ratio": m["metrics"]["ml_efficacy"]["ratio"],
            "ml_efficacy": m["metrics"]["ml_efficacy"]["train_on_synthetic"],
            "privacy": m.get("differential_privacy"),
            "seconds": round(time.time() - start, 1),
        }
        out.write_text(json.dumps(cell, indent=1))
        print(name, e, epochs, batch, round(cell["quality_score"], 3), round(cell["ml_efficacy_ratio"], 3))


if __name__ == "__main__":
    main()
