"""Evaluation building blocks for tabular apps: fidelity, utility and privacy of a synthetic table.

- :func:`quality_report` / :func:`diagnostic_report`: SDMetrics (MIT) QualityReport (column
  shapes and column-pair trends) and DiagnosticReport (validity, structure) scores;
- :func:`column_shape_plots`: real-vs-synthetic histograms / bar charts per column (PNG);
- :func:`ml_efficacy`: train on synthetic, test on real (TSTR) against train on real (TRTR);
- :func:`privacy_metrics`: distance to closest record and a membership-inference attack on
  encoded rows (``ganapps.core.metrics``);
- :func:`evaluate_table`: all of the above as one :class:`ganapps.core.Evaluation`.

Frames are polars or pandas; column kinds come from the transformer's :class:`ColumnSpec` list.
Large inputs are subsampled (seeded) so a report costs seconds, and the notes say so.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from ganapps.core.app import Evaluation
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.frames import polars_to_pandas
from ganapps.core.io import read_table
from ganapps.core.meanings import MetricMeaning, prefixed
from ganapps.core.metrics.guard import measure
from ganapps.core.metrics.privacy import PRIVACY_MEANINGS
from ganapps.tabular.columns import ColumnSpec, clean_series, parse_datetime_text
from ganapps.tabular.transformer import TabularTransformer

TABLE = "table"


def _sample(frame: pl.DataFrame, max_rows: int | None, seed: int) -> pl.DataFrame:
    if max_rows is None or frame.height <= max_rows:
        return frame
    return frame.sample(max_rows, seed=seed, shuffle=False)


def sdmetrics_metadata(specs: Sequence[ColumnSpec], table: str = TABLE) -> dict[str, Any]:
    """SDMetrics' metadata dict (``{"tables": {table: {"columns": ..., "primary_key": ...}}}``)."""
    from ganapps.tabular.sdv_metadata import sdtype_of

    columns: dict[str, Any] = {}
    primary = None
    for s in specs:
        columns[s.name] = {"sdtype": sdtype_of(s)}
        if s.kind == "id" and primary is None:
            primary = s.name
    meta: dict[str, Any] = {"columns": columns}
    if primary is not None:
        meta["primary_key"] = primary
    return {"tables": {table: meta}}


def _for_sdmetrics(frame: pl.DataFrame, specs: Sequence[ColumnSpec]) -> Any:
    """The frame as pandas with real datetimes (text dates parsed), booleans without pandas' NA type."""
    cols = []
    for s in specs:
        col = clean_series(frame[s.name])
        if s.kind == "datetime" and s.format is not None:
            col = parse_datetime_text(col.cast(pl.String), s.format)
        elif s.kind == "datetime":
            col = col.cast(pl.Datetime("us"))
        elif isinstance(col.dtype, pl.Categorical | pl.Enum) or col.dtype == pl.Boolean and col.null_count():
            col = col.cast(pl.String)
        cols.append(col.alias(s.name))
    return polars_to_pandas(pl.DataFrame(cols))


def _prepare(real: Any, synthetic: Any, specs: Sequence[ColumnSpec], max_rows: int | None, seed: int) -> tuple:
    real_pl, synth_pl = read_table(real, "real data"), read_table(synthetic, "synthetic data")
    names = [s.name for s in specs]
    for label, f in (("real data", real_pl), ("synthetic data", synth_pl)):
        missing = [c for c in names if c not in f.columns]
        if missing:
            raise DataError(f"{label}: column {missing[0]!r} is missing")
        if f.height == 0:
            raise DataError(f"{label}: the table has no rows")
    real_pl = _sample(real_pl.select(names), max_rows, seed)
    synth_pl = _sample(synth_pl.select(names), max_rows, seed + 1)
    return _for_sdmetrics(real_pl, specs), _for_sdmetrics(synth_pl, specs)


def quality_report(
    real: Any, synthetic: Any, specs: Sequence[ColumnSpec], *, max_rows: int | None = 20_000, seed: int = 0
) -> dict[str, Any]:
    """SDMetrics QualityReport: overall score, Column Shapes, Column Pair Trends and per-column shape scores.

    Scores are in [0, 1], higher is better (1 = the synthetic marginals and pairwise trends match
    the real ones). ``max_rows`` subsamples each table first (pair trends are quadratic in columns).
    """
    from sdmetrics.reports import QualityReport

    r, s = _prepare(real, synthetic, specs, max_rows, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SDMetrics' FutureWarnings are not the user's business
        report = QualityReport()
        report.generate({TABLE: r}, {TABLE: s}, sdmetrics_metadata(specs), verbose=False)
        props = report.get_properties().set_index("Property")["Score"]
        shapes = report.get_details("Column Shapes")
    by_column = {str(c): _float(v) for c, v in zip(shapes["Column"], shapes["Score"], strict=True)}
    return {
        "quality_score": _float(report.get_score()),
        "column_shapes": _float(props.get("Column Shapes")),
        "column_pair_trends": _float(props.get("Column Pair Trends")),
        "column_shapes_by_column": by_column,
    }


def diagnostic_report(
    real: Any, synthetic: Any, specs: Sequence[ColumnSpec], *, max_rows: int | None = 20_000, seed: int = 0
) -> dict[str, Any]:
    """SDMetrics DiagnosticReport: overall score, Data Validity and Data Structure (1 = valid)."""
    from sdmetrics.reports import DiagnosticReport

    r, s = _prepare(real, synthetic, specs, max_rows, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = DiagnosticReport()
        report.generate({TABLE: r}, {TABLE: s}, sdmetrics_metadata(specs), verbose=False)
        props = report.get_properties().set_index("Property")["Score"]
    return {
        "diagnostic_score": _float(report.get_score()),
        "data_validity": _float(props.get("Data Validity")),
        "data_structure": _float(props.get("Data Structure")),
    }


def _float(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


# ------------------------------------------------------------------------------ figures
def _numbers(col: pl.Series, spec: ColumnSpec) -> np.ndarray:
    col = clean_series(col)
    if spec.kind == "datetime":
        if spec.format is not None:
            col = parse_datetime_text(col.cast(pl.String), spec.format)
        return (col.cast(pl.Datetime("us")).dt.epoch("us").cast(pl.Float64) / 86_400e6).drop_nulls().to_numpy()
    return col.cast(pl.Float64, strict=False).drop_nulls().to_numpy()


def column_shape_plots(
    real: Any,
    synthetic: Any,
    specs: Sequence[ColumnSpec],
    *,
    per_figure: int = 12,
    max_rows: int | None = 50_000,
    seed: int = 0,
) -> dict[str, bytes]:
    """Real vs synthetic distribution of every learned column, ``per_figure`` panels per PNG.

    Continuous and datetime columns: overlaid density histograms on shared bins (datetimes in
    days); categorical and boolean columns: the real data's 12 most frequent values side by side.
    Returns ``{"column shapes 1/2": png, ...}``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ganapps.core.report import figure_png

    real_pl = _sample(read_table(real, "real data"), max_rows, seed)
    synth_pl = _sample(read_table(synthetic, "synthetic data"), max_rows, seed + 1)
    learned = [s for s in specs if s.kind not in ("id", "constant")]
    pages = [learned[i : i + per_figure] for i in range(0, len(learned), per_figure)]
    out: dict[str, bytes] = {}
    for p, page in enumerate(pages, 1):
        ncols = min(3, len(page))
        nrows = math.ceil(len(page) / ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.8 * nrows), squeeze=False)
        for ax in axes.flat[len(page) :]:
            ax.axis("off")
        for ax, spec in zip(axes.flat, page, strict=False):
            if spec.kind in ("continuous", "datetime"):
                a, b = _numbers(real_pl[spec.name], spec), _numbers(synth_pl[spec.name], spec)
                both = np.concatenate([a, b]) if len(a) + len(b) else np.zeros(1)
                lo, hi = np.quantile(both, [0.005, 0.995]) if len(both) > 1 else (both[0] - 1, both[0] + 1)
                if hi <= lo:
                    lo, hi = lo - 0.5, hi + 0.5
                bins = np.linspace(lo, hi, 41)
                for values, label, color in ((a, "real", "#4a7ab0"), (b, "synthetic", "#e08a3c")):
                    if len(values):  # an empty side (e.g. no holdout rows) has no density to draw
                        ax.hist(np.clip(values, lo, hi), bins=bins, density=True, alpha=0.55, label=label, color=color)
                if spec.kind == "datetime":
                    ax.set_xlabel("days since 1970")
            else:
                rv = real_pl[spec.name].cast(pl.String).fill_null("(missing)")
                sv = synth_pl[spec.name].cast(pl.String).fill_null("(missing)")
                top = rv.value_counts(sort=True).head(12)[rv.name].to_list()
                rc = rv.value_counts().to_dict(as_series=False)
                sc = sv.value_counts().to_dict(as_series=False)
                rmap = dict(zip(rc[rv.name], rc["count"], strict=True))
                smap = dict(zip(sc[sv.name], sc["count"], strict=True))
                pos = np.arange(len(top))
                ax.bar(pos - 0.2, [rmap.get(k, 0) / max(1, len(rv)) for k in top], 0.4, label="real", color="#4a7ab0")
                ax.bar(
                    pos + 0.2, [smap.get(k, 0) / max(1, len(sv)) for k in top], 0.4, label="synthetic", color="#e08a3c"
                )
                ax.set_xticks(pos)
                ax.set_xticklabels([str(k)[:12] for k in top], rotation=60, fontsize=7, ha="right")
                ax.set_ylabel("share")
            ax.set_title(f"{spec.name} ({spec.kind})", fontsize=9)
            ax.tick_params(labelsize=7)
        axes.flat[0].legend(fontsize=7)
        fig.tight_layout()
        out[f"column shapes {p}/{len(pages)}"] = figure_png(fig)
    return out


# ------------------------------------------------------------------------- ML efficacy
class _Features:
    """Numeric feature matrix for scikit-learn, fitted on the real training table."""

    def __init__(self, frame: pl.DataFrame, specs: Sequence[ColumnSpec], target: str) -> None:
        self.specs = [s for s in specs if s.kind not in ("id", "constant") and s.name != target]
        self.vocab: dict[str, list[Any]] = {}
        for s in self.specs:
            if s.kind in ("categorical", "boolean"):
                col = frame[s.name].cast(pl.String)
                self.vocab[s.name] = col.drop_nulls().value_counts(sort=True).head(250)[s.name].to_list()

    def __call__(self, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        cols, categorical = [], []
        for s in self.specs:
            if s.name in self.vocab:
                vocab = self.vocab[s.name]
                codes = (
                    frame[s.name]
                    .cast(pl.String)
                    .replace_strict(vocab, list(range(len(vocab))), default=len(vocab), return_dtype=pl.Float64)
                )
                codes = codes.set(frame[s.name].is_null(), None)
                cols.append(codes.fill_null(math.nan).to_numpy())
                categorical.append(True)
            else:
                col = clean_series(frame[s.name])
                if s.kind == "datetime":
                    if s.format is not None:
                        col = parse_datetime_text(col.cast(pl.String), s.format)
                    col = col.cast(pl.Datetime("us")).dt.epoch("us").cast(pl.Float64) / 1e6
                cols.append(col.cast(pl.Float64, strict=False).fill_null(math.nan).to_numpy())
                categorical.append(False)
        x = np.stack(cols, 1) if cols else np.zeros((frame.height, 0))
        return x, np.array(categorical, dtype=bool)


def ml_efficacy(
    train: Any,
    synthetic: Any,
    test: Any,
    target: str,
    specs: Sequence[ColumnSpec],
    *,
    max_rows: int | None = 50_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Train on synthetic, test on real (TSTR), beside train on real, test on real (TRTR).

    The same scikit-learn HistGradientBoosting model (native categorical and missing-value
    support, fixed seed) is fitted once on the real training rows and once on the synthetic
    rows, and both are scored on the real test rows. A categorical/boolean ``target`` is a
    classification (accuracy, macro F1, ROC-AUC for two classes; main metric macro F1), a
    continuous/datetime one a regression (R², MAE; main metric R²). ``ratio`` = TSTR / TRTR of
    the main metric (1 = the synthetic data are as useful as the real ones).
    """
    by_name = {s.name: s for s in specs}
    if target not in by_name:
        raise ConfigError(f"--target: no column {target!r} (columns: {', '.join(by_name)})")
    tspec = by_name[target]
    if tspec.kind in ("id", "constant"):
        raise ConfigError(f"--target: column {target!r} is {tspec.kind}; pick a column the model learns")
    task = "classification" if tspec.kind in ("categorical", "boolean") else "regression"
    frames = {}
    for label, data in (("train", train), ("synthetic", synthetic), ("test", test)):
        f = read_table(data, f"{label} data")
        if target not in f.columns:
            raise DataError(f"{label} data: column {target!r} is missing")
        f = f.filter(clean_series(f[target]).is_not_null())
        frames[label] = _sample(f, max_rows, seed)
    if frames["test"].height == 0 or frames["train"].height == 0:
        raise DataError(f"--target {target!r}: no real rows with a value to train or test on")
    features = _Features(frames["train"], specs, target)

    def y_of(f: pl.DataFrame) -> np.ndarray:
        col = clean_series(f[target])
        if task == "classification":
            return col.cast(pl.String).to_numpy().astype(object)
        if tspec.kind == "datetime":
            if tspec.format is not None:
                col = parse_datetime_text(col.cast(pl.String), tspec.format)
            return (col.cast(pl.Datetime("us")).dt.epoch("us").cast(pl.Float64) / 1e6).to_numpy()
        return col.cast(pl.Float64, strict=False).to_numpy()

    x_test, cat = features(frames["test"])
    y_test = y_of(frames["test"])
    results: dict[str, Any] = {}
    for label in ("train", "synthetic"):
        f = frames[label]
        key = "real" if label == "train" else "synthetic"
        if f.height < 2:
            results[key] = None
            continue
        x, _ = features(f)
        fit_score = _classification if task == "classification" else _regression
        results[key] = fit_score(x, y_of(f), x_test, y_test, cat, seed)
    main = "macro_f1" if task == "classification" else "r2"
    real_main = (results.get("real") or {}).get(main)
    synth_main = (results.get("synthetic") or {}).get(main)
    ratio = synth_main / real_main if real_main and synth_main is not None and real_main > 0 else float("nan")
    return {
        "target": target,
        "task": task,
        "model": "HistGradientBoosting",
        "metric": main,
        "train_on_real": results.get("real"),
        "train_on_synthetic": results.get("synthetic"),
        "ratio": ratio,
        "rows": {k: v.height for k, v in frames.items()},
    }


def _classification(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, cat: np.ndarray, seed: int
) -> dict[str, float]:
    """HistGradientBoosting fitted on (x, y), scored on the test rows: accuracy, macro F1, and ROC-AUC
    when the test rows hold two classes (one training class: every prediction is that class)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    classes = np.unique(y)
    if len(classes) < 2:
        pred = np.full(len(y_test), classes[0], dtype=object)
        proba = None
    else:
        model = HistGradientBoostingClassifier(random_state=seed, categorical_features=cat if cat.any() else None)
        model.fit(x, y)
        pred = model.predict(x_test)
        proba = model.predict_proba(x_test) if len(np.unique(y_test)) == 2 else None
        classes = model.classes_
    scores = {
        "accuracy": float(accuracy_score(y_test, pred)),
        "macro_f1": float(f1_score(y_test, pred, average="macro", zero_division=0)),
    }
    test_classes = np.unique(y_test)
    if len(test_classes) == 2:
        positive = test_classes[1]
        if proba is not None and positive in list(classes):
            p = proba[:, list(classes).index(positive)]
        else:
            p = (pred == positive).astype(float)
        scores["roc_auc"] = float(roc_auc_score(y_test == positive, p))
    return scores


def _regression(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, cat: np.ndarray, seed: int
) -> dict[str, float]:
    """HistGradientBoosting fitted on (x, y), scored on the test rows: R² and MAE."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import mean_absolute_error, r2_score

    model = HistGradientBoostingRegressor(random_state=seed, categorical_features=cat if cat.any() else None)
    model.fit(x, y)
    pred = model.predict(x_test)
    return {"r2": float(r2_score(y_test, pred)), "mae": float(mean_absolute_error(y_test, pred))}


# ------------------------------------------------------------------------------ privacy
def privacy_metrics(
    transformer: TabularTransformer,
    train: Any,
    holdout: Any,
    synthetic: Any,
    *,
    max_rows: int | None = 5_000,
    seed: int = 0,
) -> dict[str, float]:
    """DCR and membership-inference AUC on rows encoded by ``transformer.encode_for_distance``.

    Continuous values are standardised by the training mean/spread, categories one-hot (see
    :meth:`TabularTransformer.encode_for_distance`). ``dcr_ratio`` well below 1 or a large
    ``exact_copy_share`` means memorised training rows; ``membership_auc`` 0.5 means an attacker
    cannot tell training members from held-out rows, 1.0 that it always can.
    """
    from ganapps.core.metrics import dcr, membership_inference_auc

    frames = [
        _sample(read_table(d, label), max_rows, seed + i)
        for i, (d, label) in enumerate(
            ((train, "train data"), (holdout, "holdout data"), (synthetic, "synthetic data"))
        )
    ]
    if any(f.height == 0 for f in frames):
        raise DataError("privacy metrics need rows in the training, holdout and synthetic tables")
    tr, ho, sy = (transformer.encode_for_distance(f) for f in frames)
    out = dcr(sy, tr, ho)
    out["membership_auc"] = membership_inference_auc(tr, ho, sy, seed=seed)
    return out


# ----------------------------------------------------------------------------- together
_QUALITY = "SDMetrics quality, held-out real vs synthetic rows: mean of column shapes and column pair trends"
#: (meaning, better) of each ML-efficacy score (ml_efficacy.train_on_*.KEY)
_ML_SCORES: dict[str, tuple[str, Literal["higher", "lower"]]] = {
    "accuracy": ("accuracy", "higher"),
    "macro_f1": ("macro F1", "higher"),
    "roc_auc": ("ROC-AUC", "higher"),
    "r2": ("R²", "higher"),
    "mae": ("mean absolute error", "lower"),
}


def table_meanings() -> dict[str, MetricMeaning]:
    """What :func:`evaluate_table`'s metrics mean (the report's metrics table)."""
    out = {
        "quality_score": MetricMeaning(f"{_QUALITY} (1 = alike)", "higher"),
        "quality.quality_score": MetricMeaning(f"{_QUALITY} (1 = alike)", "higher"),
        "quality.column_shapes": MetricMeaning(
            "how alike each column's distribution is (KS or TV complement), mean over columns", "higher"
        ),
        "quality.column_pair_trends": MetricMeaning(
            "how alike the correlations and contingency tables of column pairs are", "higher"
        ),
        "quality.column_shapes_by_column.*": MetricMeaning(
            "this column's distribution, held-out real vs synthetic (1 = alike)", "higher"
        ),
        "diagnostic.diagnostic_score": MetricMeaning(
            "SDMetrics diagnostic: valid ranges, categories and keys, same columns", "higher", 1.0, "maximum"
        ),
        "diagnostic.data_validity": MetricMeaning(
            "synthetic values inside the real ranges and categories, keys unique", "higher", 1.0, "maximum"
        ),
        "diagnostic.data_structure": MetricMeaning("same column names as the real table", "higher", 1.0, "maximum"),
        **prefixed("privacy", PRIVACY_MEANINGS),
        "ml_efficacy.target": MetricMeaning("column predicted (--target)"),
        "ml_efficacy.task": MetricMeaning("classification or regression"),
        "ml_efficacy.model": MetricMeaning("the model trained on each table"),
        "ml_efficacy.metric": MetricMeaning("the score ratio compares"),
        "ml_efficacy.ratio": MetricMeaning(
            "trained on synthetic / trained on real rows, of that score", "higher", 1.0, "as good as real"
        ),
        "ml_efficacy.rows.*": MetricMeaning("rows in this table"),
    }
    for key, (name, better) in _ML_SCORES.items():
        out[f"ml_efficacy.train_on_synthetic.{key}"] = MetricMeaning(
            f"{name} on held-out real rows of a model trained on synthetic rows",
            better,
            f"ml_efficacy.train_on_real.{key}",
            "trained on real",
        )
        out[f"ml_efficacy.train_on_real.{key}"] = MetricMeaning(f"the same {name}, model trained on real training rows")
    return out


NOTES = {
    "quality": "quality.*: SDMetrics QualityReport on held-out real vs synthetic rows; quality_score is the mean of "
    "column_shapes (per-column KS / total-variation complements) and column_pair_trends (correlation and "
    "contingency similarity); 1 is best.",
    "diagnostic": "diagnostic.*: SDMetrics DiagnosticReport; data_validity checks ranges, categories and key "
    "uniqueness, data_structure the column names; 1 is best.",
    "privacy": "privacy.*: distances between encoded rows (standardised numbers, one-hot categories). "
    "dcr_ratio = median distance synthetic→train over holdout→train (≈1 is healthy, ≪1 means copies); "
    "membership_auc of a nearest-synthetic-record attack (0.5 = no leakage).",
    "ml": "ml_efficacy.*: HistGradientBoosting trained on synthetic rows and on real training rows, both tested on "
    "held-out real rows; ratio = synthetic/real of the main metric.",
}


def evaluate_table(
    real: Any,
    synthetic: Any,
    transformer: TabularTransformer,
    *,
    train: Any = None,
    target: str | None = None,
    max_rows: int | None = 20_000,
    plots: bool = True,
    seed: int = 0,
) -> Evaluation:
    """Everything above for an app's ``evaluate(real, synthetic, train)``, as one Evaluation.

    ``real`` is the held-out real table; ``train`` (optional) enables privacy metrics and the
    ML-efficacy baseline; ``target`` enables ML efficacy. A step that fails (e.g. SDMetrics
    refusing a column) becomes a note instead of losing the run.
    """
    specs = transformer.specs
    ev = Evaluation()
    n_real = read_table(real, "real data").height
    if n_real == 0:  # a run with --holdout 0: nothing held out to compare with
        ev.notes.append(
            "no held-out real rows (--holdout 0): quality, diagnostic, privacy and ML efficacy are measured "
            "against held-out rows, so none were; give --holdout above 0 to measure them"
        )
        if plots:
            ev.figures.update(column_shape_plots(real, synthetic, specs, seed=seed))
        return ev
    steps: list[tuple[str, Any]] = [
        ("quality", lambda: quality_report(real, synthetic, specs, max_rows=max_rows, seed=seed)),
        ("diagnostic", lambda: diagnostic_report(real, synthetic, specs, max_rows=max_rows, seed=seed)),
    ]
    if train is not None:
        steps.append(("privacy", lambda: privacy_metrics(transformer, train, real, synthetic, seed=seed)))
        if target is not None:
            steps.append(("ml_efficacy", lambda: ml_efficacy(train, synthetic, real, target, specs, seed=seed)))
    elif target is not None:
        ev.notes.append("ml_efficacy skipped: it needs the real training rows")
    for name, fn in steps:
        if not measure(ev.metrics, name, fn, ev.notes):
            continue
        note = NOTES.get("ml" if name == "ml_efficacy" else name)
        if note:
            ev.notes.append(note)
    if plots:
        ev.figures.update(column_shape_plots(real, synthetic, specs, seed=seed))
    if max_rows is not None and n_real > max_rows:
        ev.notes.append(f"SDMetrics reports used a seeded sample of {max_rows} rows of each table.")
    return ev
