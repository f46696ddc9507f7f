"""Issue 18: how much ML efficacy the DP release's numeric resolution leaves a perfect generator (no training).

Under ``--dp-epsilon`` the calibration maps each number, within each target class, onto the
quantiles of a noisy class-split histogram (``ganapps.tabular.private``): whatever finer structure
the GAN learned inside a bin is spread uniformly over the bin. This measures that loss alone, on
validation rows inside the training span (``bench/tabular_select.py``'s spans; no test rows read):

- ``real``: HistGradientBoosting trained on the fit rows themselves (the ceiling);
- ``oracle``: the fit rows with every number replaced, within its target class, by the released
  class quantile at the row's own within-class rank (pooled quantiles for classes under the floor):
  what a generator that got every rank right would give after calibration. Categories untouched.

Each is scored as ML efficacy (macro F1 on the validation rows), seeded as a run with ``--seed``;
``--class-bins`` compares values of ``CLASS_BINS`` (0: the class-split on the released histogram's
own equal-width bins, before stop 31); ``--split on|off`` forces the class-split histograms on or off
(off: every class takes the pooled maps, as the app below ``CLASS_SPLIT_MIN_EPSILON``); ``--quality``
also scores the oracle rows' SDMetrics quality on the validation rows; ``--by-value COL`` prints each value
of a column with its target-class shares over the whole file (no release); ``--ablate`` scores the oracle
with one number released (the rest real) and with all but one; ``--public-bounds`` gives the release (also to ``--quantiles``)
every number's min and max over the whole file as ``--dp-metadata`` (fewer histograms, less noise);
``--report`` prints the means of saved output. Cells with a ``threshold`` key
(``bench/dp_resolution/threshold/``) came from stop 32's prototypes, whose code is in commits 82f3526
(``--threshold H:C[t]``: counts under H / C noise stds read as 0 in a number's pooled / class-split
histogram; ``t``: class bins span the released mass) and 0c40908 (a further ``s``: class counts shrunk
toward the pooled shape); cells with a ``bounds_weight`` key from commit 03bebed (``--bounds-weight w``:
the bound-finding histograms at noise std σ√(W/w), the rest at σ√W, W the histograms counted with
weight w for the bound-finding ones: the same privacy); cells with an ``atoms`` key
(``bench/dp_resolution/atoms/``) from stop 33's prototype at commit 8dd2c57 (``--atoms``: an integer
number's frequent values released by partition selection and kept as point masses; ``--shape``: the
pooled shape inside class bins):

    .venv/bin/python bench/dp_resolution.py --rows 3000 --seeds 0,1 --class-bins 0,8,12,16,24,32 > bench/dp_resolution/r3000.jsonl
    .venv/bin/python bench/dp_resolution.py --report bench/dp_resolution/*.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
#: also score the oracle rows' SDMetrics quality against the validation rows (``--quality``)
QUALITY = False
#: give the release every number's bounds as public metadata (``--public-bounds``)
PUBLIC = False
sys.path.insert(0, str(REPO / "bench"))


def released(
    fit: pl.DataFrame, target: str, epsilon: float, seed: int, split: bool | None = None, metadata: Path | None = None
) -> tuple[Any, dict[str, Any], float]:
    """(transformer, class-split counts, per-class floor) exactly as ``tabular --dp-epsilon`` releases them."""
    from types import SimpleNamespace

    import ganapps.plugins.tabular.privacy as P
    from ganapps.plugins.tabular.calibration import MIN_CLASS_ROWS
    from ganapps.plugins.tabular.options import TabularOptions

    options = TabularOptions(target=target, dp_metadata=str(metadata) if metadata else None)
    options.calibrate_by_target = epsilon >= P.CLASS_SPLIT_MIN_EPSILON if split is None else split
    app = SimpleNamespace(
        options=options,
        train_config=SimpleNamespace(dp_epsilon=epsilon, dp_delta=None, seed=seed),
        data_name=lambda: "fit rows",
        column_typing=lambda frame: (None, None),
    )
    t = P.private_transformer(app, fit)  # type: ignore[arg-type]
    floor = max(MIN_CLASS_ROWS, P.CLASS_NOISE_FACTOR * float(app.dp_preprocessing["count_noise_std"]))
    return t, getattr(app, "class_split", {}) or {}, floor


def oracle(fit: pl.DataFrame, target: str, t: Any, split: dict[str, Any], floor: float) -> pl.DataFrame:
    """The fit rows with each number moved to the released quantile at its rank: within its class for
    a class with maps of its own, else among all rows through the pooled grid (what the pooled maps do)."""
    from ganapps.tabular.private import histogram_quantiles

    classes = [str(c) for c in t.categories(target)]
    sizes = t.category_counts(target)
    label = fit[target].cast(pl.String).to_numpy()
    out = {}
    for j, name in enumerate(t._cont):
        x = fit[name].cast(pl.Float64).to_numpy().copy()
        grid = t.tensors["quantile.grid"][j].double().numpy()
        y = np.full_like(x, np.nan)
        present = np.nonzero(~np.isnan(x))[0]
        y[present] = np.interp(rank(x[present]), np.linspace(0.0, 1.0, len(grid)), grid)
        for k, cls in enumerate(classes):
            rows = present[label[present] == cls]
            if len(rows) and name in split and float(sizes[k]) >= floor:
                counts, edges = split[name]
                y[rows] = histogram_quantiles(counts[k][:-1], edges, rank(x[rows]))
        out[name] = pl.Series(name, y)
    return fit.with_columns(*(out[c].round(0).cast(fit[c].dtype) if fit[c].dtype.is_integer() else out[c] for c in out))


def rank(x: np.ndarray) -> np.ndarray:
    """Mid-ranks of ``x`` in (0, 1)."""
    return (np.argsort(np.argsort(x, kind="stable"), kind="stable") + 0.5) / len(x)


def cell(entry: dict[str, Any], rows: int, epsilon: float, seed: int, split: bool | None) -> dict[str, Any]:
    import tabular_select as TS

    import ganapps.tabular.private as PR
    from ganapps.tabular import TabularTransformer
    from ganapps.tabular.evaluate import ml_efficacy, quality_report

    fit, val = TS.spans(entry, rows, rows // 5, seed)
    target = entry["target"]
    specs = TabularTransformer().fit(fit).specs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, counts, floor = released(fit, target, epsilon, seed, split, public_bounds(entry) if PUBLIC else None)
        synth = oracle(fit, target, t, counts, floor)
        ml = ml_efficacy(fit, synth, val, target, specs, seed=seed)
        quality = quality_report(val, synth, specs)["quality_score"] if QUALITY else None
    out = {
        "table": entry["file"],
        "span": rows,
        "rows": fit.height,
        "epsilon": epsilon,
        "seed": seed,
        "class_bins": PR.CLASS_BINS if counts else "pooled",
        **({"bin_ratio": PR.BIN_NOISE_RATIO} if PR.BIN_NOISE_RATIO != 10 else {}),
        "floor": round(floor, 1),
        "real": round(ml["train_on_real"][ml["metric"]], 4),
        "oracle": round(ml["train_on_synthetic"][ml["metric"]], 4),
    }
    if quality is not None:
        out["quality"] = round(quality, 4)
    if PUBLIC:
        out["public"] = "bounds"
    return out


def public_bounds(entry: dict[str, Any]) -> Path:
    """``--dp-metadata`` with every number's min and max over the whole file (what a data dictionary
    would give; the release then needs no bound-finding histograms)."""
    import tempfile

    import tabular_select as TS

    from ganapps.core.io import read_table

    frame = read_table(TS.TABLES / entry["file"], require_rows=True)
    columns = {
        name: {"sdtype": "numerical", "min": float(frame[name].min()), "max": float(frame[name].max())}
        for name, dtype in frame.schema.items()
        if dtype.is_numeric() and frame[name].drop_nulls().len() and frame[name].min() < frame[name].max()
    }
    path = Path(tempfile.mkdtemp()) / "bounds.json"
    path.write_text(json.dumps({"METADATA_SPEC_VERSION": "V1", "tables": {"t": {"columns": columns}}}))
    return path


def by_value(entry: dict[str, Any], column: str) -> None:
    """Each value of ``column`` in the whole file: its rows and the share of each target class (no release)."""
    import tabular_select as TS

    frame = pl.read_csv(TS.TABLES / entry["file"], infer_schema_length=None)
    target = entry["target"]
    counts = frame.group_by(column, target).len().pivot(on=target, index=column, values="len").fill_null(0)
    classes = [c for c in counts.columns if c != column]
    counts = counts.with_columns(pl.sum_horizontal(classes).alias("rows")).sort(column)
    overall = ", ".join(f"{c} {counts[c].sum() / counts['rows'].sum():.2f}" for c in classes)
    print(f"{entry['file']} {column}: {counts.height} values; {target} shares per value (whole file: {overall})")
    for row in counts.iter_rows(named=True):
        shares = ", ".join(f"{c} {row[c] / row['rows']:.2f}" for c in classes)
        print(f"  {row[column]!s:>8}: {row['rows']:5d} rows; {shares}")


def quantiles(entry: dict[str, Any], rows: int, epsilon: float, seed: int, column: str) -> None:
    """Each class's true quantiles of ``column`` on the fit rows against the released ones."""
    import tabular_select as TS

    import ganapps.tabular.private as PR

    fit, _ = TS.spans(entry, rows, rows // 5, seed)
    target, levels = entry["target"], np.array([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, split, floor = released(fit, target, epsilon, seed, None, public_bounds(entry) if PUBLIC else None)
    counts, edges = split[column]
    print(
        f"{entry['file']} {column}, ε {epsilon:g}, class bins {PR.CLASS_BINS}: range [{float(edges[0]):.4g}, "
        f"{float(edges[-1]):.4g}], {len(edges) - 1} class bins; quantiles {levels.tolist()}"
    )
    for k, cls in enumerate(t.categories(target)):
        x = fit.filter(pl.col(target).cast(pl.String) == str(cls))[column].drop_nulls().to_numpy()
        if len(x) == 0:
            continue
        got = PR.histogram_quantiles(counts[k][:-1], edges, levels)
        print(
            f"  {cls!s:>10} ({len(x)} rows): true {np.round(np.quantile(x, levels), 2).tolist()}"
            f"  released {np.round(got, 2).tolist()}"
        )


def ablate(entry: dict[str, Any], rows: int, epsilon: float, seed: int) -> None:
    """Which released numbers cost the ML: the oracle with one number released (the rest as real), and
    with all but one released (that one as real); macro F1 on the validation rows."""
    import tabular_select as TS

    from ganapps.tabular import TabularTransformer
    from ganapps.tabular.evaluate import ml_efficacy

    fit, val = TS.spans(entry, rows, rows // 5, seed)
    target = entry["target"]
    specs = TabularTransformer().fit(fit).specs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, counts, floor = released(fit, target, epsilon, seed)
        synth = oracle(fit, target, t, counts, floor)

        def score(frame: pl.DataFrame) -> float:
            ml = ml_efficacy(fit, frame, val, target, specs, seed=seed)
            return ml["train_on_synthetic"][ml["metric"]]

        print(
            f"{entry['file']} ε {epsilon:g} span {rows} seed {seed}: real {score(fit):.3f}, all released {score(synth):.3f}"
        )
        for name in t._cont:
            alone, but = score(fit.with_columns(synth[name])), score(synth.with_columns(fit[name]))
            print(f"  {name}: only it released {alone:.3f}; all but it released {but:.3f}")


def report(files: list[str]) -> None:
    cells: dict[tuple[float, int, int], dict[str, list[float]]] = {}
    quality: dict[tuple[float, int, int], list[float]] = {}
    for f in files:
        for line in Path(f).read_text().splitlines():
            r = json.loads(line)
            bins = (
                r["class_bins"]
                if not r.get("class_shape") or r["class_bins"] == "pooled"
                else f"{r['class_bins']}+shape"
            )
            if r.get("bin_ratio"):
                bins = f"{bins}+ratio{r['bin_ratio']:g}"
            if r.get("atoms"):
                bins = f"{bins}+atoms"
            if r.get("class_tail"):
                bins = f"{bins}+tail{r['class_tail']:g}"
            if r.get("threshold"):
                bins = f"{bins}+thr{r['threshold']}"
            if r.get("public"):
                bins = f"{bins}+public {r['public']}"
            if r.get("bounds_weight"):
                bins = f"{bins}+bounds w{r['bounds_weight']:g}"
            key = (r["epsilon"], r["span"], bins)
            cells.setdefault(key, {}).setdefault(r["table"].removesuffix(".csv"), []).append(r["oracle"])
            if "quality" in r:
                quality.setdefault(key, []).append(r["quality"])
    for (eps, span, bins), tables in sorted(
        cells.items(),
        key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] if isinstance(kv[0][2], int) else len(str(kv[0][2]))),
    ):
        means = {t: float(np.mean(v)) for t, v in sorted(tables.items())}
        seeds = max(len(v) for v in tables.values())
        cols = " ".join(f"{t} {m:.3f}" for t, m in means.items())
        print(
            f"ε {eps:g} span {span} class bins {bins!s:>8} ({seeds} seeds): {cols} | mean {np.mean(list(means.values())):.3f}"
            + (f" | quality {np.mean(quality[(eps, span, bins)]):.4f}" if (eps, span, bins) in quality else "")
        )


def main() -> None:
    import tabular_select as TS

    import ganapps.tabular.private as PR

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--tables", default="credit_data.csv,cps1988.csv,wa_churn.csv,diamonds.csv,computers.csv,healthinsurance.csv"
    )
    p.add_argument(
        "--split",
        choices=("auto", "on", "off"),
        default="auto",
        help="class-split histograms: as the app at this ε (auto), or forced on/off (off: pooled maps)",
    )
    p.add_argument("--noise-factor", type=float, help="CLASS_NOISE_FACTOR for the per-class floor (default: the app's)")
    p.add_argument(
        "--public-bounds", action="store_true", help="give every number's min/max over the whole file as --dp-metadata"
    )
    p.add_argument(
        "--bin-ratio", type=float, default=10.0, help="BIN_NOISE_RATIO: quantile bins = rows / (this · noise std)"
    )
    p.add_argument("--ablate", action="store_true", help="print the ML with one number released, and all but one")
    p.add_argument("--by-value", help="print each value of this column with its target-class shares (whole file)")
    p.add_argument("--quantiles", help="print, for this number column, each class's true and released quantiles")
    p.add_argument("--report", nargs="*", help="print mean oracle ML per (ε, rows, class bins) of these JSONL files")
    p.add_argument("--quality", action="store_true", help="also score SDMetrics quality of the oracle rows")
    p.add_argument("--rows", type=int, default=5000, help="training span (fit rows: 4/5 of it)")
    p.add_argument("--eps", default="3")
    p.add_argument("--seeds", default="0")
    p.add_argument(
        "--class-bins", default="12", help="CLASS_BINS values to compare (0: equal-width bins, before stop 31)"
    )
    args = p.parse_args()
    if args.report:
        report(args.report)
        return
    global QUALITY, PUBLIC
    QUALITY, PUBLIC = args.quality, args.public_bounds
    PR.BIN_NOISE_RATIO = args.bin_ratio
    if args.noise_factor is not None:
        import ganapps.plugins.tabular.privacy as P

        P.CLASS_NOISE_FACTOR = args.noise_factor
    manifest = {e["file"]: e for e in json.loads((TS.TABLES / "MANIFEST.json").read_text())}
    if args.by_value:
        for name in args.tables.split(","):
            by_value(manifest[name], args.by_value)
        return
    for name in args.tables.split(","):
        for eps in (float(e) for e in args.eps.split(",")):
            for seed in (int(s) for s in args.seeds.split(",")):
                for bins in (int(b) for b in args.class_bins.split(",")):
                    PR.CLASS_BINS = bins
                    split = None if args.split == "auto" else args.split == "on"
                    if args.ablate:
                        ablate(manifest[name], args.rows, eps, seed)
                        continue
                    if args.quantiles:
                        quantiles(manifest[name], args.rows, eps, seed, args.quantiles)
                        continue
                    print(json.dumps(cell(manifest[name], args.rows, eps, seed, split)), flush=True)


if __name__ == "__main__":
    main()
