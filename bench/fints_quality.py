"""Scenario quality of the fints app against GBM Monte Carlo and a block bootstrap, in one run.

On GOOG (TimeGAN's "stocks", one asset) and GAFA (AAPL, AMZN, FB, GOOG jointly, long form), it
trains fints on the first 80% of the returns, generates scenarios from the last training day over
the held-out 20%, and reports for ganapps and both baselines: out-of-sample stylized-fact errors,
VaR/ES 95/99% against the realised period, the TSTR predictive score, and in-sample TimeGAN
discriminative score (post-hoc GRU, |acc − 0.5|) with the nearest-neighbour copy check. Beside
that single-path protocol, a second one restarts one-block scenarios from the realised window every
``--horizon`` days of the held-out period (``rolling_origins``: pooled facts and a VaR backtest).

    flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/fints_quality.py [--shared ../shared/data] \
        [--epochs 30] [--out bench/fints_quality.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ganapps.core import run
from ganapps.plugins.fints import metrics as M
from ganapps.plugins.fints.metrics import FACTS

DATASETS = {
    "GOOG": ("finance/goog_daily_timegan.csv", {}),
    "GAFA": ("finance/gafa_stock_daily.csv", {"price_col": "Adj_Close"}),
}
ROWS = [
    *FACTS,
    "vol_error",
    "var95_error",
    "es95_error",
    "var99_error",
    "es99_error",
    "exceed95",
    "exceed99",
    "predictive_mae_return",
    "predictive_mae_abs_return",
    "discriminative_score",
    "nn_ratio",
    "copy_share",
]


ROLLING = [
    "acf_returns_error",
    "acf_abs_returns_error",
    "leverage_error",
    "cross_corr_error",
    "block_vol_error",
    "pinball95",
    "pinball99",
    "exceed95",
    "exceed99",
]


def _pooled(x: np.ndarray, lags: int, f=lambda a, b: (a, b)) -> np.ndarray:
    """Correlations at lags 1..``lags`` pooled over the blocks of ``x`` (..., K, h), demeaned over all of
    them: (..., lags)."""
    out = []
    for k in range(1, lags + 1):
        a, b = f(x[..., :-k], x[..., k:])
        a = a - a.mean((-2, -1), keepdims=True)
        b = b - b.mean((-2, -1), keepdims=True)
        out.append((a * b).mean((-2, -1)) / (a.std((-2, -1)) * b.std((-2, -1)) + 1e-12))
    return np.stack(out, -1)


def _pinball(y: np.ndarray, q: np.ndarray, tau: float) -> float:
    return float(np.mean((tau - (y < q)) * (y - q)))


def rolling_origins(app, rets: np.ndarray, n_train: int, scenarios: int, seed: int, lags: int = 10) -> dict:
    """Second out-of-sample protocol: scenarios of one block restarted from each realised point.

    Origins every ``--horizon`` days over the held-out period; at each, ``scenarios`` blocks of
    ``--horizon`` days continue the *realised* last ``--window`` days (the regime drawn as in
    unconditional generation). Like with like, scenario s of every origin makes one synthetic set of
    K blocks, as the realised blocks make one; each fact is pooled over a set's blocks (demeaned
    over all of them, so a model that follows the volatility level of the realised windows gets the
    level changes right; correlations: within-block moves), averaged over the S synthetic sets and
    compared with the realised set's; risk is a backtest: for each realised day,
    the 5% / 1% quantiles of the equal-weight portfolio return across that day's scenarios are its
    VaR (pinball loss, a proper score, lower is better; exceedance shares, ideal 5% / 1%).
    """
    o = app.options
    w, h = o.window, o.horizon
    origins = list(range(n_train, len(rets) - h + 1, h))
    k, a = len(origins), rets.shape[1]
    real = np.stack([rets[t : t + h] for t in origins])  # (K, h, A)
    past = np.concatenate([np.repeat(rets[None, t - w : t], scenarios, 0) for t in origins])
    user = np.repeat(app._user_conds(app.tensors["conds"].numpy()[-1])[None], len(past), 0)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_r = rets[:n_train]
    methods = {
        "ganapps": app.rollout(past, h, None, user)[0],
        "gbm": M.gbm_paths(train_r, k * scenarios, h, rng),
        "bootstrap": M.bootstrap_paths(train_r, k * scenarios, h, rng),
    }
    out = {}
    real_port = real.mean(2)
    for name, x in methods.items():
        x = x.reshape(k, scenarios, h, a)
        m = {}
        sets = x.transpose(1, 0, 2, 3)  # (S, K, h, A): set s = scenario s of every origin, like the realised set
        for key, f in (
            ("acf_returns_error", lambda u, v: (u, v)),
            ("acf_abs_returns_error", lambda u, v: (np.abs(u), np.abs(v))),
            ("leverage_error", lambda u, v: (u, v**2)),
        ):
            m[key] = float(
                np.mean(
                    [np.abs(_pooled(sets[..., i], lags, f).mean(0) - _pooled(real[..., i], lags, f)) for i in range(a)]
                )
            )
        if a > 1:
            iu = np.triu_indices(a, 1)
            d = sets - sets.mean(2, keepdims=True)  # within-block co-movements, as in the moment loss
            cov = np.einsum("skta,sktc->sac", d, d)
            sd = np.sqrt(np.einsum("saa->sa", cov))
            g = (cov / (sd[:, :, None] * sd[:, None, :]))[:, iu[0], iu[1]].mean(0)
            dr = real - real.mean(1, keepdims=True)
            cr = np.einsum("kta,ktc->ac", dr, dr)
            r = (cr / np.sqrt(np.outer(np.diag(cr), np.diag(cr))))[iu]
            m["cross_corr_error"] = float(np.abs(g - r).mean())
        port = x.mean(3)  # (K, S, h)
        gen_vol = np.median(port.std(2), axis=1)
        m["block_vol_error"] = float(np.abs(np.log(gen_vol / real_port.std(1))).mean())
        for tau, tag in ((0.05, "95"), (0.01, "99")):
            q = np.quantile(port, tau, axis=1)  # (K, h)
            m[f"pinball{tag}"] = _pinball(real_port, q, tau)
            m[f"exceed{tag}"] = float((real_port < q).mean())
        out[name] = m
    out["origins"] = k
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenarios", type=int, default=200)
    ap.add_argument("--disc-steps", type=int, default=2000)
    ap.add_argument("--disc-repeats", type=int, default=3)
    ap.add_argument("--arch", default="tcn")
    ap.add_argument("--ema", type=float, default=0.99, help="Generator EMA decay (the app's default).")
    ap.add_argument("--moment-weight", type=float, default=1.0, help="Moment-matching weight (the app's default).")
    ap.add_argument("--critic-ends", action="store_true", help="The app's --critic-ends (off by default).")
    ap.add_argument("--datasets", default="GOOG,GAFA", help="Comma-separated subset of GOOG,GAFA.")
    ap.add_argument("--out", default=str(Path(__file__).with_name("fints_quality.json")))
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (rel, options) in DATASETS.items():
            if name not in args.datasets.split(","):
                continue
            t0 = time.time()
            res = run(
                "fints",
                str(Path(args.shared) / rel),
                train={"epochs": args.epochs, "seed": args.seed, "device": "cpu", "ema": args.ema},
                options={
                    **options,
                    "arch": args.arch,
                    "critic_ends": args.critic_ends,
                    "moment_weight": args.moment_weight,
                    "disc_steps": args.disc_steps,
                    "disc_repeats": args.disc_repeats,
                },
                samples=args.scenarios,
                out=Path(tmp) / name,
                progress=False,
            )
            m = res.metrics["metrics"]
            rets = res.app.load_data(str(Path(args.shared) / rel)).returns()
            n_train = len(rets) - res.app.schema["eval_steps"]
            rolling = rolling_origins(res.app, rets, n_train, args.scenarios, args.seed)
            results[name] = {
                "tickers": res.app.schema["tickers"],
                "train_days": res.run_dir.read_info()["rows"]["train"],
                "holdout_days": res.app.schema["eval_steps"],
                "train_seconds": round(res.train.seconds, 1),
                "total_seconds": round(time.time() - t0, 1),
                "metrics": m,
                "rolling_origins": rolling,
            }
            print(f"{name}: {results[name]['total_seconds']} s", flush=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "results": results}, indent=2) + "\n")
    for name, r in results.items():
        m = r["metrics"]
        print(
            f"\n### {name} ({', '.join(r['tickers'])}; {r['train_days']} training days, {r['holdout_days']} held out; "
            f"training {r['train_seconds']} s)\n"
        )
        print("| metric | ganapps | GBM | block bootstrap |\n|---|---|---|---|")
        for row in ROWS:
            if row not in m["ganapps"]:
                continue
            vals = [m[k].get(row) for k in ("ganapps", "gbm", "bootstrap")]
            print(f"| {row} | " + " | ".join(f"{v:.4g}" for v in vals) + " |")
        print(
            f"\nfacts better than GBM: {m['facts_better_than_gbm']} of {m['facts_compared']}; "
            f"realised-train predictive MAE (TRTR): {m['real_train']['predictive_mae_return']:.4g} / "
            f"{m['real_train']['predictive_mae_abs_return']:.4g}; regime vol (low/mid/high): "
            + " / ".join(f"{v:.4g}" for v in m["regime_vol"].values())
        )
        print(
            "block_vol_ramp (last-6 / first-6 days' spread in a block): "
            + ", ".join(f"{k} {v:.3f}" for k, v in m["block_vol_ramp"].items())
        )
        ro = r["rolling_origins"]
        print(f"\nrolling origins ({ro['origins']} origins of one block each)\n")
        print("| metric | ganapps | GBM | block bootstrap |\n|---|---|---|---|")
        for row in ROLLING:
            if row in ro["ganapps"]:
                print(f"| {row} | " + " | ".join(f"{ro[k][row]:.4g}" for k in ("ganapps", "gbm", "bootstrap")) + " |")


if __name__ == "__main__":
    main()
