"""Issue 18: tabular with and without --dp-epsilon on one table, quality and ML efficacy on the run's
holdout rows (validation, inside the table; no test split is touched). One cell per (ε, epochs, batch);
each cell's JSON is written beside this script and skipped when present (resumable).

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/dp_tabular_eps.py TABLE TARGET EPOCHS BATCH EPS...

DP_SHARE=0.3 in the environment sets the preprocessing share of ε (default: the app's, 0.15).
ε 0 is the non-DP run (its own defaults: WGAN-GP, pac 10, per-class calibration).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from ganapps.core import run

HERE = Path(__file__).parent / "dp_tabular_eps"


def main() -> None:
    table, target, epochs, batch, *eps = sys.argv[1:]
    share = os.environ.get("DP_SHARE")
    if share:
        import ganapps.plugins.tabular.privacy as P

        P.PREPROCESSING_SHARE = float(share)
    HERE.mkdir(exist_ok=True)
    for e in [float(x) for x in eps]:
        name = Path(table).stem
        tag = f"_share{share}" if share else ""
        out = HERE / f"{name}_eps{e:g}_ep{epochs}_bs{batch}{tag}.json"
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
            "preprocessing_share": float(share) if share else 0.15,
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
