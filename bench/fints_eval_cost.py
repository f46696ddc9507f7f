"""What the rolling-origin backtest adds to a `ganapps run fints`: the same 1-epoch run on the
shipped oil sample with ``--backtest-origins 0`` (none) and with the default backtest, one after
the other in one process, two rounds (the first also pays the imports); wall time of the whole run minus its training seconds.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/fints_eval_cost.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ganapps.core import run


def once(origins: int | None, out: Path) -> dict[str, float]:
    options = {} if origins is None else {"backtest_origins": origins}
    start = time.perf_counter()
    result = run("fints", "oil-sample", options=options, train={"epochs": 1, "seed": 0}, out=out, progress=False)
    wall = time.perf_counter() - start
    training = result.metrics["training"]["seconds"]
    backtest = result.metrics["metrics"].get("backtest") or {}
    return {
        "wall_s": round(wall, 2),
        "training_s": training,
        "outside_training_s": round(wall - training, 2),
        "backtest_horizons": sum(key.startswith("h") for key in backtest),
    }


def main() -> None:
    """Two rounds of (no backtest, default backtest); the first round also pays the imports."""
    off, on = "no backtest (--backtest-origins 0)", "default backtest"
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(2):
            cells = {off: once(0, Path(tmp) / f"off{r}"), on: once(None, Path(tmp) / f"on{r}")}
            for name, cell in cells.items():
                print(f"round {r + 1}: {name:36s} {cell}")
            extra = cells[on]["outside_training_s"] - cells[off]["outside_training_s"]
            print(f"round {r + 1}: the default backtest adds {extra:.1f} s")


if __name__ == "__main__":
    main()
