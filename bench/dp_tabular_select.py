"""Issue 18: ``tabular``'s schedule under ``--dp-epsilon``, chosen on validation rows only.

The protocol of bench/tabular_select.py (no test rows read): per dev table of
``../shared/data/tables/MANIFEST.json`` a seeded 3,000-row training span (seed 1000 + s), split
into 2,400 fit and 600 validation rows. Each candidate trains on the fit rows at ε = 3
(δ = 1/(10·n_fit)) through ``ganapps compare``'s own fit path, draws as many rows, and is scored
against the validation rows: SDMetrics quality (synthetic vs validation rows) and ML efficacy
(HistGradientBoosting trained on the synthetic rows, macro F1 on the validation rows). A
candidate's utility on a table is quality + ML; leave-one-table-out picks, for each table, the
candidate with the best mean utility over the other tables. One JSON per (table, candidate, seed)
under ``--out``, skipped when present, so it runs in chunks under the CPU lock. ``--span N`` uses N-row
spans (N/5 validation rows) instead of 3,000; give such cells their own ``--out``
(``bench/dp_tabular_select_span5000/``).

Compare candidates run on the same machine: torch's float results differ between CPUs and the GAN
magnifies them (the same configuration and seeds scored 1.474 on stop 30's machine and 1.496 on stop
31's), so rerun the baseline beside new candidates under a new name (``-cb0`` did), and let no one-seed
difference under ~0.03 choose anything.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/dp_tabular_select.py --budget 300
    .venv/bin/python bench/dp_tabular_select.py --report
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
OUT = REPO / "bench" / "dp_tabular_select"
EPSILON = 3.0

#: name → (app options, train settings); every candidate names its epochs, batch, critic widths
#: and calibration explicitly, so a rerun trains what the round trained whatever the app's DP
#: defaults are by then (the rounds ran before ``--dp-discriminator-dim`` existed, passing the
#: widths as ``discriminator_dim``, which the critic then used under DP too)
#: (rounds 1-4 trained the critic with Adam, the only optimizer then; stop 30 made SGD the DP default)
POOLED = {"calibrate_by_target": False, "dp_discriminator_dim": [256, 256], "dp_optimizer": "adam"}
D128 = {"dp_discriminator_dim": [128, 128], "dp_optimizer": "adam"}
#: the settings of the default since stop 31 (-cb12-split1)
DEFAULT_SETTINGS = {
    "epochs": 80,
    "batch_size": 500,
    "share": 0.5,
    "lr": {"discriminator": 0.3},
    "class_bins": 12,
    "split_from": 1.0,
}
CANDIDATES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # round 1 (calibration pooled over the table, the only DP calibration then): the schedule
    # (epochs × batch), the critic's width, the generator's EMA (free: the generator never sees
    # rows, so averaging its weights is post-processing)
    "e20-b500": (POOLED, {"epochs": 20, "batch_size": 500}),
    "e10-b500": (POOLED, {"epochs": 10, "batch_size": 500}),
    "e40-b500": (POOLED, {"epochs": 40, "batch_size": 500}),
    "e20-b1000": (POOLED, {"epochs": 20, "batch_size": 1000}),
    "e20-b500-d128": ({**POOLED, **D128}, {"epochs": 20, "batch_size": 500}),
    "e20-b500-ema98": (POOLED, {"epochs": 20, "batch_size": 500, "ema": 0.98}),
    # round 2 (round 1 picked e40-b500 in every fold): more steps, and calibration within each
    # target class from noisy class-split histograms
    "e80-b500": (POOLED, {"epochs": 80, "batch_size": 500}),
    "e80-b500-d128": ({**POOLED, **D128}, {"epochs": 80, "batch_size": 500}),
    "e40-b500-cbt": (
        {"calibrate_by_target": True, "dp_discriminator_dim": [256, 256], "dp_optimizer": "adam"},
        {"epochs": 40, "batch_size": 500},
    ),
    # round 3 (e80-b500-d128 best so far, at a third of a 256-wide critic's cost per step; e80-b500
    # stopped unfinished for time): longer still with the narrower critic, with class calibration
    "e80-b500-d128-cbt": (D128, {"epochs": 80, "batch_size": 500}),
    "e160-b500-d128": ({**POOLED, **D128}, {"epochs": 160, "batch_size": 500}),
    "e160-b500-d128-cbt": (D128, {"epochs": 160, "batch_size": 500}),
    # round 4 (stop 29; e80-b500-d128-cbt the default): the per-row clipping norm C. At ε = 10⁴ on
    # diamonds' validation rows C = 0.1 kept more of the columns' pairwise trends than C = 1
    # (bench/dp_decompose.py): noise is σ·C per coordinate whatever the rows' gradient norms, so a
    # C above most of them spends noise on headroom
    "e80-b500-d128-cbt-c0.3": (D128, {"epochs": 80, "batch_size": 500, "dp_max_grad_norm": 0.3}),
    "e80-b500-d128-cbt-c0.1": (D128, {"epochs": 80, "batch_size": 500, "dp_max_grad_norm": 0.1}),
    "e80-b500-d128-cbt-c0.03": (D128, {"epochs": 80, "batch_size": 500, "dp_max_grad_norm": 0.03}),
    # and the share of ε spent on the transformer's histograms (privacy.PREPROCESSING_SHARE, 0.15
    # since stop 25, never validated); "share" is set on the module for the cell, not a train setting
    "e80-b500-d128-cbt-s0.05": (D128, {"epochs": 80, "batch_size": 500, "share": 0.05}),
    "e80-b500-d128-cbt-s0.3": (D128, {"epochs": 80, "batch_size": 500, "share": 0.3}),
    "e80-b500-d128-cbt-s0.5": (D128, {"epochs": 80, "batch_size": 500, "share": 0.5}),
    "e80-b500-d128-cbt-s0.7": (D128, {"epochs": 80, "batch_size": 500, "share": 0.7}),
    # round 5 (stop 30; share 0.5 the default): the critic's optimizer. Adam divides each coordinate's
    # step by its gradient's RMS, which DP-SGD's noise dominates, so noise-only coordinates move by ±lr
    # whatever σ is: at ε = 10⁴ diamonds kept pair trends 0.654 → 0.827 with SGD (bench/dp_decompose.py)
    **{
        f"e80-b500-d128-cbt-s0.5-sgd{lr:g}": (
            {**D128, "dp_optimizer": "sgd"},
            {"epochs": 80, "batch_size": 500, "share": 0.5, "lr": {"discriminator": lr}},
        )
        for lr in (0.1, 0.3, 1.0)
    },
    # round 6 (stop 31; SGD lr 0.3 the default): the class-split histograms of numbers on bins of equal
    # pooled mass (ganapps.tabular.private.CLASS_BINS; "class_bins" is set on the module for the cell).
    # A perfect generator calibrated to the release gained most ML with 8-16 such bins over the equal
    # -width ones (bench/dp_resolution.py)
    **{
        f"e80-b500-d128-cbt-s0.5-sgd0.3-cb{k}": (
            {**D128, "dp_optimizer": "sgd"},
            {"epochs": 80, "batch_size": 500, "share": 0.5, "lr": {"discriminator": 0.3}, "class_bins": k},
        )
        for k in (0, 8, 12, 16)
    },
    # ("-cb12-shape", inside each class bin the pooled shape rather than an even spread, ran at commit
    # 8081d89, which had ``private.CLASS_SHAPE``: +0.0095 utility over two seeds, under the 0.01 bar, so
    # the code went; its cells stay in --out)
    # and whether per-class calibration now pays below ε = 3 (privacy.CLASS_SPLIT_MIN_EPSILON, chosen at
    # stop 28 with the equal-width class bins; "split_from" is set on the module for the cell)
    "e80-b500-d128-cbt-s0.5-sgd0.3-cb12-split1": ({**D128, "dp_optimizer": "sgd"}, DEFAULT_SETTINGS),
    # stop 33, a user option rather than a default: what a data dictionary listing the values of the
    # integer columns with at most 64 of them (in the whole file) gives when passed as --dp-metadata
    # categories ("public_values" builds that metadata for the cell); the rest as the default
    "e80-b500-d128-cbt-s0.5-sgd0.3-cb12-split1-pubvalues": (
        {**D128, "dp_optimizer": "sgd"},
        {**DEFAULT_SETTINGS, "public_values": 64},
    ),
    # stop 33, the schedule at 5,000-row spans (--span 5000: 4,000 fit rows, where the within-10% goal is
    # read): twice the epochs, or batches twice as large (each with the default's other settings)
    "e160-b500-d128-cbt-s0.5-sgd0.3-cb12-split1": (
        {**D128, "dp_optimizer": "sgd"},
        {**DEFAULT_SETTINGS, "epochs": 160},
    ),
    "e80-b1000-d128-cbt-s0.5-sgd0.3-cb12-split1": (
        {**D128, "dp_optimizer": "sgd"},
        {**DEFAULT_SETTINGS, "batch_size": 1000},
    ),
    # stop 34, a rule tied to the table's size: batches of a fixed share of the fit rows (the expected
    # Poisson sampling rate q; 80 epochs are then 80 / q steps whatever the size): q = 0.25 gives 600 rows
    # at 2,400 fit rows and 1,000 at 4,000 (the batch that led at --span 5000), q = 0.2 gives 480 and 800
    **{
        f"e80-q{q}-d128-cbt-s0.5-sgd0.3-cb12-split1": (
            {**D128, "dp_optimizer": "sgd"},
            {**{k: v for k, v in DEFAULT_SETTINGS.items() if k != "batch_size"}, "sampling_rate": q},
        )
        for q in (0.2, 0.25)
    },
    # stop 34: "-split1-g2" and "-g3", 2 or 3 generator updates per critic update (free in privacy), ran at
    # commit 49703bb, whose app had the option dp_generator_steps (1.499 and 1.484 vs 1.501, seed 0); the code
    # went, the cells stay in --out
    # stop 34: the critic's dropout under DP (CTGAN's 0.5, never validated under DP: with per-row clipping and
    # noise the critic cannot memorise rows, so dropout may only add variance), and a narrower critic
    # ("-split1-dropout0" and "-dropout0.25" ran at commit 0d89076, whose app had the option dp_critic_dropout:
    # 1.495 on seed 0 and 1.514 over two seeds, against the default's 1.514; the code went, the cells stay)
    "e80-b500-d64-cbt-s0.5-sgd0.3-cb12-split1": (
        {"dp_discriminator_dim": [64, 64], "dp_optimizer": "sgd"},
        DEFAULT_SETTINGS,
    ),
    # stop 34: "-split1-m0.5" and "-m0.9", momentum β on the DP critic's SGD at lr 0.3 · (1 − β), ran at commit
    # 357dada, whose engine had OptimizerSpec.momentum and whose app had the option dp_momentum (1.496 and 1.460
    # vs 1.501, seed 0); the code went, the cells stay
    # … and the rule as the app states it (q = 0.25, at least 500 and at most 2,000 rows: the cap binds from
    # 8,000 rows), for --span 12500 (10,000 fit rows: batch 2,000, q = 0.2)
    "e80-q0.25max2000-d128-cbt-s0.5-sgd0.3-cb12-split1": (
        {**D128, "dp_optimizer": "sgd"},
        {**{k: v for k, v in DEFAULT_SETTINGS.items() if k != "batch_size"}, "sampling_rate": 0.25, "max_batch": 2000},
    ),
    # stop 35 (the critic 64 64 from 3,000 training rows): the histograms' share of ε re-read with the narrower
    # critic, whose fewer parameters change what the noise costs DP-SGD (0.5 was chosen with a 128- or 256-wide one)
    "e80-b500-d64-cbt-s0.35-sgd0.3-cb12-split1": (
        {"dp_discriminator_dim": [64, 64], "dp_optimizer": "sgd"},
        {**DEFAULT_SETTINGS, "share": 0.35},
    ),
    "e80-b500-d64-cbt-s0.65-sgd0.3-cb12-split1": (
        {"dp_discriminator_dim": [64, 64], "dp_optimizer": "sgd"},
        {**DEFAULT_SETTINGS, "share": 0.65},
    ),
    # round 7 (stop 32; -cb12-split1 the default): "-cb12-thr0" (the default rerun as the baseline) and
    # "-cb12-thr2t" (a number's pooled histogram denoised: counts under 2 noise stds read as 0; its class
    # bins spanning the released mass) ran at commit 82f3526, which had private.HIST_THRESHOLD and
    # CLASS_TRIM: 1.498 against 1.514, so the code went; the cells stay in --out
}


def cell(entry: dict[str, Any], name: str, seed: int, epsilon: float = EPSILON, span: int = 3000) -> dict[str, Any]:
    import tabular_select as TS

    import ganapps.plugins.tabular.privacy as P
    import ganapps.tabular.private as PR
    from ganapps.tabular import TabularTransformer
    from ganapps.tabular.compare import fit_and_sample
    from ganapps.tabular.evaluate import ml_efficacy, quality_report

    options, settings = CANDIDATES[name]
    fit, val = TS.spans(entry, span, span // 5, seed)
    settings = {**settings, "dp_epsilon": epsilon}
    # candidates without a "share" ran when the app's share was 0.15 (before stop 29): they keep it
    share, default_share = settings.pop("share", 0.15), P.PREPROCESSING_SHARE
    # candidates without "class_bins" ran before stop 31: class-split bins were the equal-width ones (0)
    class_bins, default_bins = settings.pop("class_bins", 0), PR.CLASS_BINS
    split_from, default_split = settings.pop("split_from", 3.0), P.CLASS_SPLIT_MIN_EPSILON
    public_values = settings.pop("public_values", 0)
    if "sampling_rate" in settings:  # a batch of that share of the fit rows (at most max_batch)
        most = settings.pop("max_batch", len(fit))
        settings["batch_size"] = min(most, round(settings.pop("sampling_rate") * len(fit)))
    if public_values:
        options = {**options, "dp_metadata": str(value_lists(entry, public_values))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P.PREPROCESSING_SHARE, PR.CLASS_BINS, P.CLASS_SPLIT_MIN_EPSILON = share, class_bins, split_from
        try:
            sample, timings = fit_and_sample(
                "tabular", fit, entry["target"], seed, "cpu", None, [""], options=options, settings=settings
            )
        finally:
            P.PREPROCESSING_SHARE, PR.CLASS_BINS, P.CLASS_SPLIT_MIN_EPSILON = default_share, default_bins, default_split
        specs = TabularTransformer().fit(fit).specs
        q_val = quality_report(val, sample, specs)["quality_score"]
        q_fit = quality_report(fit, sample, specs)["quality_score"]
        ml = ml_efficacy(fit, sample, val, entry["target"], specs)
    return {
        "table": entry["file"],
        "candidate": name,
        "seed": seed,
        "options": options,
        "settings": settings,
        "preprocessing_share": share,
        "class_bins": class_bins,
        "class_split_from": split_from,
        **({"public_values": public_values} if public_values else {}),
        "quality_val": round(q_val, 4),
        "quality_fit": round(q_fit, 4),
        "ml": round(ml["train_on_synthetic"][ml["metric"]], 4),
        "ml_real": round(ml["train_on_real"][ml["metric"]], 4),
        "seconds": round(timings["fit_seconds"], 1),
        "steps": timings["steps"],
        **({"span": span} if span != 3000 else {}),
    }


def value_lists(entry: dict[str, Any], most: int) -> Path:
    """``--dp-metadata`` (SDV single-table JSON) naming each integer column with at most ``most``
    distinct values in the whole file categorical, with those values as its public categories (what a
    data dictionary of codes would give); every other column keeps the kind its storage type gives."""
    import tempfile

    import polars as pl
    import tabular_select as TS

    frame = pl.read_csv(TS.TABLES / entry["file"], infer_schema_length=None)
    columns: dict[str, Any] = {}
    for name, dtype in frame.schema.items():
        values = frame[name].drop_nulls().unique().sort()
        if dtype.is_integer() and name != entry["target"] and len(values) <= most:
            columns[name] = {"sdtype": "categorical", "categories": values.to_list()}
        else:
            columns[name] = {"sdtype": "numerical" if dtype.is_numeric() else "categorical"}
    path = Path(tempfile.mkdtemp()) / f"{entry['file'].split('.')[0]}-values.json"
    path.write_text(json.dumps({"METADATA_SPEC_VERSION": "SINGLE_TABLE_V1", "columns": columns}))
    return path


def load(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]


def report(out: Path, names: list[str], epsilon: float = EPSILON) -> None:
    """Per table: quality / ML (mean over seeds); mean utility; leave-one-table-out picks (cells at ``epsilon``)."""
    rows = [r for r in load(out) if r["settings"]["dp_epsilon"] == epsilon]
    tables = sorted({r["table"] for r in rows})
    names = [n for n in names if all(any(r["candidate"] == n and r["table"] == t for r in rows) for t in tables)]

    def mean(n: str, t: str, key: str) -> float:
        return float(np.mean([r[key] for r in rows if r["candidate"] == n and r["table"] == t]))

    util = {n: {t: mean(n, t, "quality_val") + mean(n, t, "ml") for t in tables} for n in names}
    short = [t.split(".")[0] for t in tables]
    print("| candidate | seeds | " + " | ".join(short) + " | mean utility | fit s |")
    print("|---" * (len(tables) + 4) + "|")
    for n in names:
        seeds = len({r["seed"] for r in rows if r["candidate"] == n})
        cells = " | ".join(f"{mean(n, t, 'quality_val'):.3f} / {mean(n, t, 'ml'):.3f}" for t in tables)
        secs = np.mean([r["seconds"] for r in rows if r["candidate"] == n])
        print(f"| {n} | {seeds} | {cells} | {np.mean(list(util[n].values())):.3f} | {secs:.0f} |")
    for n in names:  # per seed: mean quality, ML and utility over the tables
        for seed in sorted({r["seed"] for r in rows if r["candidate"] == n}):
            mine = [r for r in rows if r["candidate"] == n and r["seed"] == seed]
            q, m = np.mean([r["quality_val"] for r in mine]), np.mean([r["ml"] for r in mine])
            print(f"seed {seed} {n}: quality {q:.3f} ML {m:.3f} utility {q + m:.3f} ({len(mine)} tables)")
    for held in tables:
        others = {n: float(np.mean([util[n][t] for t in tables if t != held])) for n in names}
        pick = max(others, key=others.get)
        print(
            f"LOTO {held}: pick {pick} (utility on it {util[pick][held]:.3f}; best there "
            f"{max(util[n][held] for n in names):.3f})"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidates", default=",".join(CANDIDATES))
    p.add_argument("--tables", default="", help="comma-separated files of MANIFEST.json (default: all)")
    p.add_argument("--seeds", default="0")
    p.add_argument("--budget", type=float, default=300.0, help="stop starting cells after this many seconds")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--epsilon", type=float, default=EPSILON, help="ε of the cells (files of ε ≠ 3 say so)")
    p.add_argument("--span", type=int, default=3000, help="training span (1/5 validation); give its own --out")
    p.add_argument("--report", action="store_true")
    p.add_argument("--show-values", type=int, help="print the columns value_lists(N) declares per table, then stop")
    args = p.parse_args()
    if args.show_values:
        import tabular_select as TS

        for e in json.loads((TS.TABLES / "MANIFEST.json").read_text()):
            meta = json.loads(value_lists(e, args.show_values).read_text())["columns"]
            print(e["file"], {c: len(v["categories"]) for c, v in meta.items() if "categories" in v})
        return
    out = Path(args.out)
    names = args.candidates.split(",")
    if args.report:
        return report(out, names, args.epsilon)
    import tabular_select as TS
    import torch

    torch.set_num_threads(2)
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((TS.TABLES / "MANIFEST.json").read_text())
    wanted = [t for t in args.tables.split(",") if t]
    entries = [e for e in manifest if not wanted or e["file"] in wanted]
    began = time.perf_counter()
    for seed in (int(s) for s in args.seeds.split(",")):
        for name in names:
            for e in entries:
                tag = "" if args.epsilon == EPSILON else f"__eps{args.epsilon:g}"
                path = out / f"{e['file'].split('.')[0]}__{name}__s{seed}{tag}.json"
                if path.exists():
                    continue
                if time.perf_counter() - began > args.budget:
                    return
                record = cell(e, name, seed, args.epsilon, args.span)
                path.write_text(json.dumps(record, indent=1) + "\n")
                print(path.name, record["quality_val"], record["ml"], record["seconds"], flush=True)


if __name__ == "__main__":
    main()
