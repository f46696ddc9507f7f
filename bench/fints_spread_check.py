"""Issue #19 diagnostic: is fints' spread right at 1 day but wrong at 10–20 days, *inside its training span*?

For the runs trained by ``bench/fints_backtest.py --split validation`` (``--work``), every 5th training
window continues into ``--n`` scenario paths through the app's own rollout (free regime chain, as in the
backtest); per horizon h the equal-weight portfolio's h-day log return of the real continuation is
standardised by the scenarios' mean and sd, and the root mean square of that z is printed (1: the
spread is right; > 1 too narrow; < 1 too wide). The same for GARCH-t would need refits per window and is
not computed: the point is whether the error is already there on the data the GAN was fitted to.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/fints_spread_check.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ganapps.core import load_bundle
from ganapps.plugins.fints.backtest import horizon_returns

HERE = Path(__file__).resolve().parent


def spread_ratios(bundle: Path, horizons: list[int], n: int, stride: int, seed: int) -> dict[str, float]:
    app = load_bundle(bundle)
    r = np.diff(np.log(app.tensors["prices"].numpy()), axis=0)
    w, top = app.options.window, max(horizons)
    starts = np.arange(w, len(r) - top + 1, stride)
    past = np.repeat(np.stack([r[t - w : t] for t in starts]), n, 0)
    user = np.zeros((len(past), 0))
    torch.manual_seed(seed)
    paths, _ = app.rollout(past, top, None, user)
    paths = paths.reshape(len(starts), n, top, -1)
    out = {}
    for h in horizons:
        sim = horizon_returns(paths[:, :, :h])[1]  # (windows, n)
        real = horizon_returns(np.stack([r[t : t + h] for t in starts]))[1]
        z = (real - sim.mean(1)) / sim.std(1)
        out[f"h{h}"] = round(float(np.sqrt(np.mean(z**2))), 3)
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", default="oil,gafa,eustock,goog,sp500")
    p.add_argument("--scalings", default="none,ewma")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--stride", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(HERE / "fints_spread_check.json"))
    a = p.parse_args()
    res: dict[str, dict[str, dict[str, float]]] = {}
    for s in a.scalings.split(","):
        res[s] = {}
        for c in a.cells.split(","):
            bundle = Path(f"/tmp/fints_backtest_validation_{s}") / c / "run" / "bundle"
            res[s][c] = spread_ratios(bundle, [1, 10, 20], a.n, a.stride, a.seed)
            print(s, c, res[s][c], flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
