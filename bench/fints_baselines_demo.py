"""A small demonstration of the fints Monte Carlo baselines and backtest scores (issue #19) on the shipped
oil sample (Brent, WTI): non-overlapping origins ``--horizon`` days apart, every baseline refitted at each
origin on the returns before it, scored against the realised ``--horizon``-day path.

Not the rolling-origin benchmark the issue asks for (no fints scenarios, one data set, one seed):

    OMP_NUM_THREADS=2 python bench/fints_baselines_demo.py --horizon 5 --first 1500 --n 1000 \
        --out bench/fints_baselines_demo.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ganapps.plugins.fints import backtest as S
from ganapps.plugins.fints import baselines as B
from ganapps.plugins.fints.data import load_prices

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT / "datasets/oil/oil_prices.csv"))
    ap.add_argument("--horizon", type=int, default=5)
    ap.add_argument("--first", type=int, default=1500, help="index of the first origin (days of history)")
    ap.add_argument("--n", type=int, default=1000, help="scenarios per origin")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baselines", default=",".join(B.BASELINES))
    ap.add_argument("--out", default="")
    a = ap.parse_args()

    prices = load_prices(a.data)
    r = np.diff(np.log(prices.prices), axis=0)
    origins = list(range(a.first, len(r) - a.horizon + 1, a.horizon))
    result: dict = {"data": a.data, "tickers": prices.tickers, "days": len(r), "horizon": a.horizon}
    result["origins"] = len(origins)
    result["n"], result["seed"] = a.n, a.seed
    for name in a.baselines.split(","):
        gen = B.get_baseline(name)
        rng = np.random.default_rng(a.seed)
        t0 = time.perf_counter()
        per = [S.score_origin(B.scenarios_at(gen, r, o, a.n, a.horizon, rng), r[o : o + a.horizon]) for o in origins]
        summary = S.summarise(per)
        summary["seconds"] = round(time.perf_counter() - t0, 1)
        result[name] = summary
        print(name, json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}))
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
