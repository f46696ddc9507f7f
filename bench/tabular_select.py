"""Choose the ``tabular`` app's defaults without touching any test rows: validation inside the
training span, leave-one-table-out over the dev tables.

Protocol (per dev table in ``../shared/data/tables/MANIFEST.json``):

- a seeded 3,000-row *training span* is drawn from the table (``--span-rows``); nothing outside
  it is read. It is split into 2,400 *fit* rows and 600 *validation* rows (``--val-rows``);
- every candidate configuration (``CONFIGS``) and the rivals (SDV GaussianCopula, TVAE) train on
  the fit rows, generate as many rows, and are scored by SDMetrics quality against the fit rows
  (what ``ganapps compare`` reports as "quality vs train") and by ML efficacy: HistGradientBoosting
  trained on the synthetic rows, macro F1 on the validation rows;
- a configuration's *utility* on a table is (quality − best rival quality) + (ML − best rival
  ML); leave-one-table-out picks, for each table, the configuration with the best mean utility
  over the *other* tables, and reports how that pick does on the left-out one.

The suite (``bench/tabular_suite.py``) draws its own train/test splits from the whole table;
no selection decision here ever reads a test score.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/tabular_select.py \
        --configs default --out bench/tabular_select.json

``--seed k`` draws another training span (and trains with seed k); give each seed its own
``--out``. ``--summarise FILES --configs A B`` reads such files (no training) and applies the rule
fixed in round 5 to utilities averaged over them: leaving each table out, *the fastest candidate
within 0.01 of the best mean utility on the other tables*.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", REPO.parent / "shared" / "data"))
TABLES = SHARED / "tables"

#: candidate configurations: name → (app options, train settings); epochs and the settings later
#: rounds changed are explicit, so a rerun trains what the round trained (the default was 300
#: epochs until round 6, and calibration pooled over the whole table until round 8)
CONFIGS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # round 1 (before target conditioning existed): calibration on/off
    "no-calibrate": ({"calibrate": False, "target_share": 0.0, "calibrate_by_target": False}, {"epochs": 300}),
    # round 2: the downstream loss alone, then target conditioning with and without it
    "target-loss": ({"target_loss": 1.0, "target_share": 0.0, "calibrate_by_target": False}, {"epochs": 300}),
    "no-target-loss": ({"target_loss": 0.0, "target_share": 0.0, "calibrate_by_target": False}, {"epochs": 300}),
    "tcond": ({"target_loss": 0.0, "target_share": 0.5, "calibrate_by_target": False}, {"epochs": 300}),
    "tcond+loss": ({"target_loss": 1.0, "target_share": 0.5, "calibrate_by_target": False}, {"epochs": 300}),
    # round 3: twice the steps
    "tcond-long": ({"target_loss": 0.0, "target_share": 0.5, "calibrate_by_target": False}, {"epochs": 600}),
    # round 4 (fit time): half the steps, by a doubled batch or by half the epochs
    "tcond-b1000": (
        {"target_loss": 0.0, "target_share": 0.5, "calibrate_by_target": False},
        {"batch_size": 1000, "epochs": 300},
    ),
    "tcond-e150": ({"target_loss": 0.0, "target_share": 0.5, "calibrate_by_target": False}, {"epochs": 150}),
    # round 5 (fit time, at the code of the commit that adds it: one generator forward per
    # iteration, one critic call, cheaper dropout, fused Adam): penalty every step or every 4th;
    # every 4th with half the epochs
    "fast": ({"gp_every": 1, "calibrate_by_target": False}, {"epochs": 300}),
    "fast-gp4": ({"gp_every": 4, "calibrate_by_target": False}, {"epochs": 300}),
    "fast-gp4-e150": ({"gp_every": 4, "calibrate_by_target": False}, {"epochs": 150}),
    # round 6 (fit time, at the code of the commit that adds it: the generator emits a grouped
    # layout so activations are slices, a one-matmul conditional loss, real rows kept on the
    # device, the step log every 10th step): 300 epochs as before, penalty every 2nd step, three
    # quarters of the epochs (225 epochs became the default after this round)
    "r6": ({"calibrate_by_target": False}, {"epochs": 300}),
    "r6-gp2": ({"gp_every": 2, "calibrate_by_target": False}, {"epochs": 300}),
    "r6-e225": ({"calibrate_by_target": False}, {"epochs": 225}),
    # round 7 (ML efficacy, at 225 epochs): three quarters of the steps conditioned on the target
    "e225-ts75": ({"target_share": 0.75, "calibrate_by_target": False}, {"epochs": 225}),
    # round 8 (ML efficacy, at 225 epochs): the generator's weights averaged (the engine's --ema).
    # Its warm-up decay (1 + t) / (10 + t) stays below 0.995 for the 1,350 generator steps, so
    # 0.995 averages about the last tenth of training; 0.98 about the last 50 steps
    "e225-ema995": ({"calibrate_by_target": False}, {"epochs": 225, "ema": 0.995}),
    "e225-ema98": ({"calibrate_by_target": False}, {"epochs": 225, "ema": 0.98}),
    # round 8: calibration within each target class (--calibrate-by-target)
    "e225-cbt": ({"calibrate_by_target": True}, {"epochs": 225}),
    # round 9: calibration within each target class (the default after round 8) with the EMA
    "cbt-ema995": ({"calibrate_by_target": True}, {"epochs": 225, "ema": 0.995}),
    "default": ({}, {}),
}


def spans(entry: dict[str, Any], span_rows: int, val_rows: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(fit rows, validation rows) of the table's seeded training span."""
    from ganapps.core.io import read_table

    frame = read_table(TABLES / entry["file"], require_rows=True)
    frame = frame.filter(pl.col(entry["target"]).is_not_null())
    rng = np.random.default_rng(1000 + seed)
    idx = rng.permutation(frame.height)[: min(span_rows, frame.height)]
    span = frame[idx.tolist()]
    return span[val_rows:], span[:val_rows]


def score(fit: pl.DataFrame, val: pl.DataFrame, sample: Any, target: str) -> dict[str, Any]:
    from ganapps.tabular import TabularTransformer
    from ganapps.tabular.evaluate import ml_efficacy, quality_report

    specs = TabularTransformer().fit(fit).specs
    q = quality_report(fit, sample, specs)
    ml = ml_efficacy(fit, sample, val, target, specs)
    return {
        "quality": q["quality_score"],
        "shapes": q["column_shapes"],
        "pairs": q["column_pair_trends"],
        "by_column": q["column_shapes_by_column"],
        "ml": ml["train_on_synthetic"][ml["metric"]],
        "ml_real": ml["train_on_real"][ml["metric"]],
    }


def run_one(entry: dict[str, Any], name: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from ganapps.tabular.compare import fit_and_sample

    fit, val = spans(entry, args.span_rows, args.val_rows, seed)
    if name.startswith("sdv-"):
        options, train = {}, ({"epochs": args.rival_epochs} if name != "sdv-gaussiancopula" else {})
        app = name
    else:
        options, train = CONFIGS[name]
        app = "tabular"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the same fit → train → calibrate → generate path as ``ganapps compare``
        sample, timings = fit_and_sample(
            app, fit, entry["target"], seed, "cpu", None, [""], options=options, settings=train
        )
        out = score(fit, val, sample, entry["target"])
    out["seconds"] = round(timings["fit_seconds"], 2)
    return out


def utility(results: dict[str, dict[str, dict[str, Any]]], table: str, cfg: str, rivals: list[str]) -> float:
    """(quality − best rival's) + (ML − best rival's) of ``cfg`` on ``table``."""
    r = results[table]
    bq = max(r[x]["quality"] for x in rivals if x in r)
    bm = max(r[x]["ml"] for x in rivals if x in r)
    return r[cfg]["quality"] - bq + r[cfg]["ml"] - bm


def loto(results: dict[str, dict[str, dict[str, Any]]], configs: list[str], rivals: list[str]) -> dict[str, Any]:
    """Leave-one-table-out choice of a configuration by mean utility over the other tables."""

    tables = sorted(results)
    out = {}
    for held in tables:
        others = [t for t in tables if t != held]
        means = {c: float(np.mean([utility(results, t, c, rivals) for t in others])) for c in configs}
        pick = max(means, key=means.get)
        out[held] = {
            "pick": pick,
            "utility_on_held_out": utility(results, held, pick, rivals),
            "mean_utility_others": means,
        }
    return out


def summarise(paths: list[str], configs: list[str], rivals: list[str]) -> None:
    """Utilities and fit times averaged over seeds' result files, and the rule's pick per left-out table."""
    runs = [json.loads(Path(p).read_text())["results"] for p in paths]
    tables = sorted(runs[0])

    mean = {c: {t: float(np.mean([utility(r, t, c, rivals) for r in runs])) for t in tables} for c in configs}
    fit = {c: float(np.mean([r[t][c]["seconds"] for r in runs for t in tables])) for c in configs}
    print(f"{len(runs)} seeds; utility per table (mean over seeds), mean utility, mean fit seconds")
    for c in configs:
        cells = " ".join(f"{t.split('.')[0]} {mean[c][t]:+.3f}" for t in tables)
        print(f"{c:14s} {cells} | mean {np.mean(list(mean[c].values())):+.3f} | fit {fit[c]:.1f} s")
    if len(configs) == 2:
        a, b = configs
        per_seed = [np.mean([utility(r, t, b, rivals) - utility(r, t, a, rivals) for t in tables]) for r in runs]
        print(f"{b} − {a}, mean over tables, per seed: " + " ".join(f"{d:+.3f}" for d in per_seed))
    for held in tables:
        others = {c: float(np.mean([mean[c][t] for t in tables if t != held])) for c in configs}
        best = max(others.values())
        pick = min((c for c in configs if others[c] >= best - 0.01), key=fit.get)
        print(f"LOTO {held:22s} pick={pick:14s} utility on held-out={mean[pick][held]:+.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--summarise", nargs="*", metavar="FILE", help="seeds' result files: summarise, train nothing")
    p.add_argument("--tables", nargs="*", help="files of MANIFEST.json (default: all)")
    p.add_argument("--configs", nargs="*", default=list(CONFIGS))
    p.add_argument("--rivals", nargs="*", default=["sdv-gaussiancopula", "sdv-tvae"])
    p.add_argument("--rival-epochs", type=int, default=300)
    p.add_argument("--span-rows", type=int, default=3000)
    p.add_argument("--val-rows", type=int, default=600)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=str(REPO / "bench" / "tabular_select_rivals.json"))
    p.add_argument("--out", default=str(REPO / "bench" / "tabular_select.json"))
    args = p.parse_args()
    if args.summarise:
        summarise(args.summarise, args.configs, args.rivals)
        return
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    manifest = json.loads((TABLES / "MANIFEST.json").read_text())
    entries = [e for e in manifest if not args.tables or e["file"] in args.tables]
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    results: dict[str, dict[str, Any]] = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    results = results.get("results", {})
    for e in entries:
        t = e["file"]
        for rival in args.rivals:
            key = f"{t}|{rival}|{args.seed}|{args.span_rows}|{args.val_rows}|{args.rival_epochs}"
            if key not in cache:
                cache[key] = run_one(e, rival, args.seed, args)
                cache_path.write_text(json.dumps(cache, indent=1))
            results.setdefault(t, {})[rival] = cache[key]
        for c in args.configs:
            r = run_one(e, c, args.seed, args)
            results.setdefault(t, {})[c] = r
            best = {k: max(results[t][x][k] for x in args.rivals) for k in ("quality", "ml")}
            print(
                f"{t:22s} {c:28s} q={r['quality']:.3f} (sh {r['shapes']:.3f} pr {r['pairs']:.3f}) "
                f"ml={r['ml']:.3f} real={r['ml_real']:.3f} | best rival q={best['quality']:.3f} "
                f"ml={best['ml']:.3f} | {r['seconds']:.1f}s",
                flush=True,
            )
            Path(args.out).write_text(json.dumps({"results": results}, indent=1))
    configs = [c for c in CONFIGS if all(c in results[t] for t in results)]
    summary = loto(results, configs, args.rivals) if len(results) > 1 and configs else {}
    Path(args.out).write_text(json.dumps({"results": results, "loto": summary}, indent=1))
    for t, s in summary.items():
        print(f"LOTO {t:22s} pick={s['pick']:28s} utility on held-out={s['utility_on_held_out']:+.3f}")


if __name__ == "__main__":
    main()
