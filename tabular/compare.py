"""``ganapps compare``: one protocol for every tabular app, so a user sees which synthesizer suits their table.

For each table and seed ``s`` (0 … k−1) the table gets one seeded split shared by every app:
``test_rows`` real test rows and ``train_rows`` training rows drawn from the rest. Each app is
built through the registry, fitted and trained on the training rows with seed ``s`` (its own
defaults unless ``epochs`` is given), and draws as many rows as it was trained on. Every
synthetic table is then judged by the same code (:mod:`ganapps.tabular.evaluate`) with one
:class:`TabularTransformer` fitted on the seed's training rows: SDMetrics quality against the
training and the test rows, ML efficacy (train on synthetic, test on the real test rows; the
same model trained on the real training rows is the ceiling) and privacy (DCR with the test rows
as holdout, exact copies, membership-inference AUC). Means and 95% t-intervals over seeds,
paired differences against the best other app, and a summary over tables follow.

An app that fails records a one-line ``error`` for that seed; the others go on. Bad input (an
unknown or non-tabular app, a missing target column, a table too small to split, a missing or
invalid MANIFEST.json) raises :class:`ConfigError` / :class:`DataError` before anything trains.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ganapps.core.errors import ConfigError, DataError, one_line

log = logging.getLogger("ganapps.compare")

DEFAULT_APPS = ("tabular", "sdv-gaussiancopula", "sdv-ctgan", "sdv-tvae")
#: the pseudo-app holding what real training rows achieve (ML efficacy and quality vs the test rows)
CEILING = "real data (ceiling)"
#: default test split: 20% of the rows, at most 1,000; the training rows are all the rest
TEST_SHARE, MAX_TEST = 0.2, 1_000
#: a table must give at least this many training and test rows
MIN_TRAIN, MIN_TEST = 50, 20
MANIFEST = "MANIFEST.json"
#: the name of a compared entry trained under differential privacy: ``tabular@dp3`` is ``tabular --dp-epsilon 3``
DP_MARK = "@dp"


@dataclass(frozen=True)
class Entry:
    """One compared synthesizer: its name on the leaderboard, the app, and engine settings on top of its defaults."""

    name: str
    app: str
    settings: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Metric:
    """A leaderboard column: its key in ``values``, label, which direction is better, meaning."""

    key: str
    label: str
    better: str  # "higher", "lower", "near 1" or "near 0.5"
    meaning: str

    def badness(self, value: float) -> float:
        """Smaller is better: how far ``value`` is from this metric's ideal."""
        if self.better == "higher":
            return -value
        if self.better == "lower":
            return value
        return abs(value - float(self.better.split()[-1]))


METRICS = (
    Metric(
        "quality_train",
        "quality (train)",
        "higher",
        "SDMetrics quality score (mean of column shapes and "
        "pair trends) of the synthetic rows against the training rows the app learned from; 0–1.",
    ),
    Metric(
        "quality_test",
        "quality (test)",
        "higher",
        "the same score against the real test rows no app saw; "
        "the ceiling row scores the real training rows against them.",
    ),
    Metric(
        "column_shapes",
        "column shapes",
        "higher",
        "SDMetrics Column Shapes vs the test rows: per-column "
        "KS complement (numbers, dates) or total-variation complement (categories), averaged; 0–1.",
    ),
    Metric(
        "pair_trends",
        "pair trends",
        "higher",
        "SDMetrics Column Pair Trends vs the test rows: correlation and contingency similarity of column pairs; 0–1.",
    ),
    Metric(
        "ml",
        "ML efficacy",
        "higher",
        "HistGradientBoosting trained on the synthetic rows, tested on the real "
        "test rows: macro F1 (classification target) or R² (regression); the ceiling row trains on real rows.",
    ),
    Metric(
        "dcr_ratio",
        "DCR ratio",
        "near 1",
        "median distance synthetic→training rows over test→training rows: "
        "≪1 means copies of training rows, ≫1 synthetic rows unlike any real ones; ≈1 is healthy.",
    ),
    Metric("exact_copies", "exact copies", "lower", "share of synthetic rows identical to a training row."),
    Metric(
        "membership_auc",
        "membership AUC",
        "near 0.5",
        "AUC of an attacker telling training rows from test "
        "rows by their distance to the synthetic rows: 0.5 = no leakage, 1 = total.",
    ),
    Metric("fit_seconds", "fit s", "lower", "wall-clock seconds to fit and train on the training rows."),
    Metric("sample_seconds", "sample s", "lower", "wall-clock seconds to generate as many rows as were trained on."),
    Metric(
        "peak_mib",
        "peak MiB",
        "lower",
        "peak resident memory (RSS) of this process during fit and training, above its level when the fit "
        "started, after freed memory was handed back to the OS (sampled every 50 ms; GPU memory and child "
        "processes not counted; a rough size that varies from run to run, not a benchmark).",
    ),
)
BY_KEY = {m.key: m for m in METRICS}
#: metrics on which each app is compared with the best other app seed by seed
PAIRED = ("quality_train", "quality_test", "ml")


# ------------------------------------------------------------------------------ tables
@dataclass
class Table:
    """One table to compare on: its frame (loaded once), target column and split sizes."""

    name: str
    path: str
    target: str
    frame: pl.DataFrame
    n_train: int
    n_test: int


def read_manifest(folder: Path) -> list[tuple[Path, str]]:
    """(table path, target) for each entry of ``folder/MANIFEST.json``; DataError when it is unusable."""
    path = folder / MANIFEST
    if not path.is_file():
        raise DataError(
            f'--data: {folder} has no {MANIFEST} (a JSON list of {{"file": ..., "target": ...}}); '
            "or give one table file with --target"
        )
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(entries, list) or not entries:
        raise DataError(f'{path}: expected a non-empty JSON list of {{"file": ..., "target": ...}} objects')
    out = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not isinstance(e.get("file"), str) or not isinstance(e.get("target"), str):
            raise DataError(f'{path}: entry {i} needs string fields "file" and "target"')
        table = folder / e["file"]
        if not table.is_file():
            raise DataError(f"{path}: entry {i} names {e['file']}, which does not exist in {folder}")
        out.append((table, e["target"]))
    return out


def split_sizes(n: int, train_rows: int | None, test_rows: int | None, where: str) -> tuple[int, int]:
    """(training rows, test rows) for a table of ``n`` rows; DataError when it is too small."""
    for name, v in (("--train-rows", train_rows), ("--test-rows", test_rows)):
        if v is not None and v < 1:
            raise ConfigError(f"option {name} must be at least 1")
    n_test = test_rows if test_rows is not None else min(MAX_TEST, round(TEST_SHARE * n))
    n_train = train_rows if train_rows is not None else n - n_test
    if n_train < MIN_TRAIN or n_test < MIN_TEST:
        raise DataError(
            f"{where}: too small to compare: {n} rows give {n_train} training and {n_test} test rows; "
            f"need at least {MIN_TRAIN} and {MIN_TEST}"
        )
    if n_train + n_test > n:
        raise DataError(f"{where}: {n} rows are fewer than {n_train} training + {n_test} test rows")
    return n_train, n_test


def load_tables(
    data: str | Path, target: str | None, train_rows: int | None = None, test_rows: int | None = None
) -> list[Table]:
    """Every table of ``data`` (a table file with ``target``, or a folder with MANIFEST.json), checked."""
    from ganapps.core.io import read_table, table_name
    from ganapps.tabular import detect_columns

    path = Path(data).expanduser()
    if not path.exists():
        raise DataError(f"--data: {data} does not exist")
    if path.is_dir():
        if target is not None:
            raise ConfigError(f"option --target: {MANIFEST} in {path} names each table's target; drop --target")
        sources = read_manifest(path)
    else:
        if not target:
            raise ConfigError("option --target is required with a table file (the column ML efficacy predicts)")
        sources = [(path, target)]
    tables = []
    for source, tgt in sources:
        where = table_name(source)
        frame = read_table(source, where, require_rows=True)
        if tgt not in frame.columns:
            raise DataError(f"{where}: no column {tgt!r} for --target (columns: {', '.join(frame.columns)})")
        kind = next(s.kind for s in detect_columns(frame, where=where) if s.name == tgt)
        if kind in ("id", "constant"):
            raise DataError(f"{where}: target column {tgt!r} is {kind}; pick a column the apps learn")
        n_train, n_test = split_sizes(frame.height, train_rows, test_rows, where)
        tables.append(Table(source.name, str(source), tgt, frame, n_train, n_test))
    names = [t.name for t in tables]
    if len(set(names)) != len(names):
        raise DataError(f"--data: table {next(n for n in names if names.count(n) > 1)!r} is listed twice")
    return tables


def split_table(table: Table, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(training rows, test rows) of ``table`` for ``seed``: one permutation, test rows first."""
    order = np.random.default_rng(seed).permutation(table.frame.height)
    test = table.frame[order[: table.n_test].tolist()]
    train = table.frame[order[table.n_test : table.n_test + table.n_train].tolist()]
    return train, test


def check_apps(apps: Sequence[str]) -> list[str]:
    """The app names, each a registered tabular app; ConfigError otherwise."""
    from ganapps.core.plugins import get_registry

    names = [a.strip() for a in apps if a.strip()]
    if not names:
        raise ConfigError("option --apps names no app")
    if len(set(names)) != len(names):
        raise ConfigError(f"option --apps names {next(a for a in names if names.count(a) > 1)!r} twice")
    registry = get_registry()
    for name in names:
        cls = registry.app(name)  # ConfigError for an unknown app
        if cls.kind != "tabular":
            tabular = sorted(n for n, i in registry.apps.items() if i.kind == "tabular")
            raise ConfigError(f"app {name!r} is a {cls.kind} app, not tabular (tabular apps: {', '.join(tabular)})")
    return names


def with_dp(names: list[str], epsilons: Sequence[float]) -> list[Entry]:
    """The compared entries: every app, then each app that trains privately at each ε (``--dp-epsilon``)."""
    plain = [Entry(n, n) for n in names]
    if not epsilons:
        return plain
    from ganapps.core.plugins import get_registry
    from ganapps.core.privacy import require_opacus

    bad = [e for e in epsilons if not (math.isfinite(e) and e > 0)]
    if bad:
        raise ConfigError(f"option --dp-epsilon takes finite numbers > 0, got {bad[0]:g}")
    private = [n for n in names if get_registry().app(n).dp_refusal is None]
    if not private:
        raise ConfigError(f"option --dp-epsilon: none of --apps ({', '.join(names)}) trains privately; add tabular")
    require_opacus()
    return [*plain, *(Entry(f"{n}{DP_MARK}{e:g}", n, (("dp_epsilon", float(e)),)) for e in epsilons for n in private)]


# ---------------------------------------------------------------------------- one unit
def _rss() -> int | None:
    """Resident memory of this process in bytes (psutil, else /proc/self/statm), or None."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        pass
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc ``malloc_trim``; elsewhere a no-op),
    so the next RSS baseline does not include memory a later allocation would silently reuse."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Peak resident memory above the level at entry, in MiB, sampled by a thread every ``interval`` s."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.start = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        now = _rss()
        if now is not None and self.peak is not None:
            self.peak = max(self.peak, now)

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = _rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def mib(self) -> float | None:
        if self.start is None or self.peak is None:
            return None
        return (self.peak - self.start) / 2**20


def app_configs(
    app_cls: type,
    target: str,
    seed: int,
    device: str,
    epochs: int | None,
    rows: int,
    options: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """(options, TrainConfig) of an app: its defaults, ``target`` when it has one, the seed and device;
    ``epochs`` if given, else the app's own, sized by its ``default_steps`` as ``ganapps run`` does.
    ``options`` / ``settings`` override app options / engine settings (``bench/tabular_select.py``)."""
    from ganapps.core.pipeline import make_configs, sized_epochs

    fields = {f.name for f in dataclasses.fields(app_cls.Options)} if dataclasses.is_dataclass(app_cls.Options) else ()
    opts_in = {"target": target} if "target" in fields else {}
    train: dict[str, Any] = {"seed": seed, "device": device, **(settings or {})}
    if epochs is not None:
        train["epochs"] = epochs
    opts, cfg = make_configs(app_cls, {**opts_in, **(options or {})}, train)
    if "epochs" not in train and app_cls.default_steps:
        cfg.epochs, _ = sized_epochs(app_cls, cfg, rows)
    return opts, cfg


def fit_and_sample(
    name: str,
    train: pl.DataFrame,
    target: str,
    seed: int,
    device: str,
    epochs: int | None,
    stage: list[str],
    *,
    options: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Fit and train app ``name`` on ``train``, then draw ``len(train)`` rows: (synthetic, timings), the
    timings with the run's epochs, batch size, steps and, under ``dp_epsilon``, its privacy accounting (else None).

    ``stage[0]`` says what is running, for the error line of a failure.
    """
    import torch

    from ganapps.core.devices import seed_everything
    from ganapps.core.plugins import get_registry
    from ganapps.core.trainer import Trainer

    app_cls = get_registry().app(name)
    opts, cfg = app_configs(app_cls, target, seed, device, epochs, train.height, options, settings)
    release_memory()  # what the previous app freed should not count for, or against, this one
    seed_everything(seed, cfg.deterministic)
    app = app_cls(opts)
    app.train_config = cfg
    stage[0] = "fit"
    start = time.perf_counter()
    with PeakMemory() as memory:
        app.fit(train)
        data = app.dataset(train)
        trainer = Trainer(app, cfg, run_dir=None, progress=False)
        result = trainer.fit(data)
        trainer.finalize()
        app.calibrate(train)
    fit_seconds = time.perf_counter() - start
    stage[0] = "generate"
    seed_everything(seed, cfg.deterministic)
    start = time.perf_counter()
    with torch.no_grad():
        synthetic = app.generate(train.height)
    timings = {
        "fit_seconds": fit_seconds,
        "sample_seconds": time.perf_counter() - start,
        "peak_mib": memory.mib,
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "steps": result.steps,
        "privacy": result.privacy,
    }
    return synthetic, timings


@dataclass
class Judge:
    """What every app of one (table, seed) is judged against: one transformer fitted on the training rows."""

    transformer: Any
    train: pl.DataFrame
    test: pl.DataFrame
    target: str
    seed: int

    @property
    def specs(self) -> list[Any]:
        return self.transformer.specs

    def judge(self, synthetic: Any) -> dict[str, Any]:
        """Quality vs training and test rows, ML efficacy and privacy of one synthetic table."""
        from ganapps.tabular.evaluate import ml_efficacy, privacy_metrics, quality_report

        s = self.seed
        return {
            "quality_train": quality_report(self.train, synthetic, self.specs, seed=s),
            "quality_test": quality_report(self.test, synthetic, self.specs, seed=s),
            "ml_efficacy": ml_efficacy(self.train, synthetic, self.test, self.target, self.specs, seed=s),
            "privacy": privacy_metrics(self.transformer, self.train, self.test, synthetic, seed=s),
        }

    def ceiling(self) -> dict[str, Any]:
        """The real training rows judged like a synthetic table, where that means something."""
        from ganapps.tabular.evaluate import ml_efficacy, quality_report

        ml = ml_efficacy(self.train, self.train, self.test, self.target, self.specs, seed=self.seed)
        ml["train_on_synthetic"] = ml["train_on_real"]  # the ceiling *is* training on real rows
        return {"quality_test": quality_report(self.test, self.train, self.specs, seed=self.seed), "ml_efficacy": ml}


def headline(metrics: dict[str, Any]) -> dict[str, float | None]:
    """The leaderboard's numbers from one unit's detailed metrics (missing ones are None)."""
    qtr, qte = metrics.get("quality_train", {}), metrics.get("quality_test", {})
    ml, priv = metrics.get("ml_efficacy") or {}, metrics.get("privacy", {})
    ml_value = (ml.get("train_on_synthetic") or {}).get(ml.get("metric", ""))
    values = {
        "quality_train": qtr.get("quality_score"),
        "quality_test": qte.get("quality_score"),
        "column_shapes": qte.get("column_shapes"),
        "pair_trends": qte.get("column_pair_trends"),
        "ml": ml_value,
        "dcr_ratio": priv.get("dcr_ratio"),
        "exact_copies": priv.get("exact_copy_share"),
        "membership_auc": priv.get("membership_auc"),
    }
    return {k: _number(v) for k, v in values.items()}


def _number(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def run_unit(entry: Entry, judge: Judge, device: str, epochs: int | None) -> tuple[dict[str, Any], Any]:
    """One entry (an app, or ``app@dpε``: under DP) on one (table, seed): (record, synthetic table or None); a
    failure becomes ``error``; a DP entry's record holds its accounting (``differential_privacy``)."""
    record: dict[str, Any] = {"app": entry.name, "seed": judge.seed, "error": None}
    stage = ["set-up"]
    try:
        synthetic, timings = fit_and_sample(
            entry.app, judge.train, judge.target, judge.seed, device, epochs, stage, settings=dict(entry.settings)
        )
        stage[0] = "evaluate"
        metrics = judge.judge(synthetic)
    except Exception as exc:  # noqa: BLE001 - one failing app must not lose the comparison
        record["error"] = f"{stage[0]}: {one_line(exc)}"
        log.warning("%s, seed %d: %s", entry.name, judge.seed, record["error"])
        log.debug("%s failed", entry.name, exc_info=True)
        return record, None
    record["values"] = {**headline(metrics), **{k: _number(timings[k]) for k in BY_KEY if k in timings}}
    record.update(epochs=timings["epochs"], steps=timings["steps"], metrics=metrics)
    if timings["privacy"]:
        record["differential_privacy"] = timings["privacy"]
    return record, synthetic


# -------------------------------------------------------------------------- statistics
def interval(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and 95% t-interval over seeds of the non-missing ``values`` (no interval for one value)."""
    from scipy import stats

    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if len(v) == 0:
        return {"mean": None, "low": None, "high": None, "n": 0}
    mean = float(v.mean())
    if len(v) < 2:
        return {"mean": mean, "low": None, "high": None, "n": 1}
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": int(len(v))}


def leaderboard(runs: Sequence[dict[str, Any]], apps: Sequence[str]) -> dict[str, Any]:
    """Per app (and the ceiling): each metric's mean and interval over seeds, seeds that ran, errors."""
    board: dict[str, Any] = {}
    for app in [*apps, CEILING]:
        mine = [r for r in runs if r["app"] == app]
        ok = [r for r in mine if not r.get("error")]
        board[app] = {
            "metrics": {m.key: interval([r["values"].get(m.key) for r in ok]) for m in METRICS},
            "seeds_ok": len(ok),
            "errors": [{"seed": r["seed"], "error": r["error"]} for r in mine if r.get("error")],
        }
    return board


def best_apps(board: dict[str, Any], apps: Sequence[str]) -> dict[str, list[str]]:
    """The apps with the best mean per metric, ties included (the ceiling is not an app)."""
    best: dict[str, list[str]] = {}
    for m in METRICS:
        scored = {a: m.badness(board[a]["metrics"][m.key]["mean"]) for a in apps if board[a]["metrics"][m.key]["n"]}
        top = min(scored.values(), default=None)
        best[m.key] = [a for a, b in scored.items() if b == top]
    return best


def paired(runs: Sequence[dict[str, Any]], board: dict[str, Any], apps: Sequence[str]) -> dict[str, Any]:
    """Per app and metric of ``PAIRED``: seed-by-seed difference to the best other app (mean, interval)."""
    by = {(r["app"], r["seed"]): r["values"] for r in runs if not r.get("error")}
    seeds = sorted({r["seed"] for r in runs})
    out: dict[str, Any] = {}
    for app in apps:
        out[app] = {}
        for key in PAIRED:
            others = [a for a in apps if a != app and board[a]["metrics"][key]["n"]]
            if not others or not board[app]["metrics"][key]["n"]:
                continue
            rival = min(others, key=lambda a: BY_KEY[key].badness(board[a]["metrics"][key]["mean"]))
            diffs = []
            for s in seeds:
                a, b = by.get((app, s), {}).get(key), by.get((rival, s), {}).get(key)
                if a is not None and b is not None:
                    diffs.append(a - b)
            out[app][key] = {"vs": rival, **interval(diffs)}
    return out


def summary(tables: Sequence[dict[str, Any]], apps: Sequence[str]) -> dict[str, Any]:
    """Over tables, per app and metric: the mean of the per-table means and the mean rank (1 = best)."""
    from scipy.stats import rankdata

    out: dict[str, Any] = {a: {} for a in apps}
    for m in METRICS:
        means: dict[str, list[float]] = {a: [] for a in apps}
        ranks: dict[str, list[float]] = {a: [] for a in apps}
        for t in tables:
            present = [a for a in apps if t["leaderboard"][a]["metrics"][m.key]["n"]]
            bad = [m.badness(t["leaderboard"][a]["metrics"][m.key]["mean"]) for a in present]
            for a, r in zip(present, rankdata(bad, method="average") if present else [], strict=True):
                means[a].append(t["leaderboard"][a]["metrics"][m.key]["mean"])
                ranks[a].append(float(r))
        for a in apps:
            out[a][m.key] = {
                "mean": float(np.mean(means[a])) if means[a] else None,
                "rank": float(np.mean(ranks[a])) if ranks[a] else None,
                "tables": len(means[a]),
            }
    return out


# ----------------------------------------------------------------------------- driving
def compare_table(
    table: Table, entries: Sequence[Entry], seeds: int, device: str, epochs: int | None, bar: Any
) -> tuple[dict[str, Any], dict[str, dict[str, bytes]]]:
    """Every entry on every seed of one table: (its entry of compare.json, seed-0 column plots per entry)."""
    from ganapps.tabular import TabularTransformer
    from ganapps.tabular.evaluate import column_shape_plots

    runs: list[dict[str, Any]] = []
    figures: dict[str, dict[str, bytes]] = {}
    for seed in range(seeds):
        train, test = split_table(table, seed)
        judge = Judge(TabularTransformer().fit(train, where=table.name), train, test, table.target, seed)
        runs.append(_ceiling_record(judge))
        for unit in entries:
            app = unit.name
            bar.set_description(f"{table.name} seed {seed} {app}")
            record, synthetic = run_unit(unit, judge, device, epochs)
            runs.append(record)
            if not record["error"]:
                v = record["values"]
                log.info(
                    "%s seed %d %s: quality %.3f, ML %s, fit %.1f s",
                    table.name,
                    seed,
                    app,
                    v["quality_test"] or math.nan,
                    _fmt(v["ml"]),
                    v["fit_seconds"],
                )
            if seed == 0 and synthetic is not None:
                try:
                    figures[app] = column_shape_plots(train, synthetic, judge.specs, seed=seed)
                except Exception as exc:  # noqa: BLE001 - a figure must not lose the comparison
                    log.warning("%s: column plots failed: %s", app, one_line(exc))
            bar.update(1)
    apps = [e.name for e in entries]
    board = leaderboard(runs, apps)
    ml = next((r["metrics"]["ml_efficacy"] for r in runs if r.get("metrics")), {})
    entry = {
        "name": table.name,
        "path": table.path,
        "target": table.target,
        "task": ml.get("task"),
        "ml_metric": ml.get("metric"),
        "rows": table.frame.height,
        "columns": table.frame.width,
        "split": {"train": table.n_train, "test": table.n_test},
        "leaderboard": board,
        "best": best_apps(board, apps),
        "paired": paired(runs, board, apps),
        "runs": runs,
    }
    return entry, figures


def _ceiling_record(judge: Judge) -> dict[str, Any]:
    record: dict[str, Any] = {"app": CEILING, "seed": judge.seed, "error": None}
    try:
        metrics = judge.ceiling()
    except Exception as exc:  # noqa: BLE001
        record["error"] = f"evaluate: {one_line(exc)}"
        return record
    record["values"] = {k: v for k, v in headline(metrics).items() if v is not None}
    record["metrics"] = metrics
    return record


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def output_dir(out: str | Path | None) -> Path:
    """``out`` (new, empty or holding an earlier comparison) or ``runs/compare-<timestamp>``."""
    if out is None:
        base = Path("runs") / f"compare-{time.strftime('%Y%m%d-%H%M%S')}"
        path, i = base, 1
        while path.exists():
            i += 1
            path = base.with_name(f"{base.name}-{i}")
    else:
        path = Path(out)
        if path.is_file() or (path.is_dir() and any(path.iterdir()) and not (path / "compare.json").exists()):
            raise ConfigError(f"option --out: {path} exists and is not an empty folder or an earlier comparison")
    path.mkdir(parents=True, exist_ok=True)
    return path


def compare(
    data: str | Path,
    target: str | None = None,
    *,
    apps: Sequence[str] = DEFAULT_APPS,
    seeds: int = 3,
    train_rows: int | None = None,
    test_rows: int | None = None,
    epochs: int | None = None,
    device: str = "auto",
    out: str | Path | None = None,
    progress: bool = True,
    html: bool = True,
    command: str | None = None,
    dp_epsilons: Sequence[float] = (),
) -> dict[str, Any]:
    """Compare tabular ``apps`` on ``data`` over ``seeds`` seeds; write compare.json (+ compare.html).

    ``data`` is a table file (then ``target`` is required) or a folder with MANIFEST.json; each ε of
    ``dp_epsilons`` adds the apps that train privately, at that ε, as entries ``app@dpε``. Returns
    the dict written to compare.json; ``result["files"]`` holds the paths written.
    """
    from tqdm.auto import tqdm

    from ganapps.core.config import TrainConfig, build
    from ganapps.core.devices import resolve_device
    from ganapps.core.io import write_json
    from ganapps.core.version import ganapps_version
    from ganapps.tabular.compare_report import write_compare_report

    entries_to_run = with_dp(check_apps(apps), dp_epsilons)
    names = [e.name for e in entries_to_run]
    if seeds < 1:
        raise ConfigError("option --seeds must be at least 1")
    if epochs is not None and epochs < 1:
        raise ConfigError("option --epochs must be at least 1")
    build(TrainConfig, {"device": device}, where="option")  # ConfigError for a device name the engine lacks
    resolve_device(device)  # ... or one this machine lacks
    tables = load_tables(data, target, train_rows, test_rows)
    path = output_dir(out)
    log.info("comparing %s on %d table(s), %d seed(s); writing %s", ", ".join(names), len(tables), seeds, path)
    entries, figures = [], {}
    with tqdm(total=len(tables) * seeds * len(names), disable=not progress, unit="run", dynamic_ncols=True) as bar:
        for table in tables:
            entry, figures[table.name] = compare_table(table, entries_to_run, seeds, device, epochs, bar)
            entries.append(entry)
    result = {
        "ganapps_version": ganapps_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command,
        "settings": {
            "apps": names,
            "seeds": seeds,
            "epochs": epochs,
            "device": device,
            "train_rows": train_rows,
            "test_rows": test_rows,
            "dp_epsilon": list(dp_epsilons),
        },
        "metrics": [dataclasses.asdict(m) for m in METRICS],
        "tables": entries,
        "summary": summary(entries, names) if len(entries) > 1 else None,
        "files": {"json": str(path / "compare.json"), "html": str(path / "compare.html") if html else None},
    }
    write_json(path / "compare.json", result)
    if html:
        write_compare_report(path / "compare.html", result, figures)
    return result
