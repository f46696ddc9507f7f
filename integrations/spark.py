"""Distributed batch scoring on Apache Spark: ``score(df, bundle_path)`` and ``ganapps score --engine spark``.

``score`` maps a scoring app's per-batch scorer (``core.scoring.load_scorer``: for fraud the numpy
``ganapps.plugins.fraud.scoring.score_frame``) over the Arrow batches of a Spark DataFrame with
``mapInArrow``. The model never travels as a pickled object: the bundle's files (JSON +
safetensors) are shipped with ``SparkContext.addFile`` (or read from storage every executor
mounts), and each Python worker loads them once and keeps the app in a cache keyed by path and
content hash. Every input column is passed through untouched and the app's result columns
(fraud: ``score``, ``fraud``, ``error``) are appended, with the values single-machine
``ganapps score`` gives on the same rows.

pyspark (``pip install 'ganapps[spark]'``) and Java are needed only when these functions run;
importing this module needs neither.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ganapps.core.errors import ConfigError, DataError, GanappsError
from ganapps.core.scoring import CHUNK_ROWS, ScoreSummary

log = logging.getLogger("ganapps")

#: how to get what Spark scoring needs, for the one-line errors
INSTALL = "pip install 'ganapps[spark]' (pyspark) and a Java 17+ runtime (java on PATH or JAVA_HOME)"

#: per Python worker: (bundle path, device, content hash) -> loaded app
_APPS: dict[tuple[str, str, str], Any] = {}
_APPS_LOCK = threading.Lock()
#: on the driver: (Spark application id, content hash) of bundles already shipped with addFile
_SHIPPED: set[tuple[str, str]] = set()
_STAGING: list[Path] = []

_ARROW_TO_SPARK = {"double": "double", "bool": "boolean", "int64": "bigint", "string": "string"}


# ------------------------------------------------------------------ environment checks
def find_java() -> str | None:
    """The ``java`` executable Spark would start: ``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _jvm_running() -> bool:
    """True inside spark-submit or when this process already runs a SparkContext."""
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        return True
    from pyspark import SparkContext

    return SparkContext._active_spark_context is not None


def require_spark() -> None:
    """Raise a one-line ConfigError saying how to install pyspark or Java when either is missing."""
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"--engine spark needs {exc.name}: {INSTALL}") from None
    if not _jvm_running() and find_java() is None:
        raise ConfigError(f"--engine spark needs Java (no java on PATH, JAVA_HOME unset): {INSTALL}")


def session(master: str | None = None, conf: dict[str, str] | None = None, quiet: bool = False) -> Any:
    """The active SparkSession, or a new one on ``master`` (default: spark-submit's, else local[*]).

    In local mode the Python workers run this interpreter (``PYSPARK_PYTHON`` unset), so they
    import the same ganapps.
    """
    require_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        running = active.sparkContext.master
        if master and master != running:
            log.warning("note: a Spark session on %s is already running; --master %s is ignored", running, master)
        return active
    if (master or "local").startswith("local") and "PYSPARK_PYTHON" not in os.environ:
        os.environ["PYSPARK_PYTHON"] = _python()
    builder = SparkSession.builder.appName("ganapps-score")
    if master:
        builder = builder.master(master)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start (no or wrong Java, bad master URL)
        raise ConfigError(f"Spark did not start ({_first_line(exc)}); needs {INSTALL}") from None
    spark.sparkContext.setLogLevel("ERROR" if quiet else "WARN")
    return spark


def _python() -> str:
    import sys

    return sys.executable


# ------------------------------------------------------------------ the bundle on executors
def bundle_digest(path: str | Path) -> str:
    """SHA-256 of a bundle directory's files (names and bytes): what executors check they loaded."""
    h = hashlib.sha256()
    for f in sorted(p for p in Path(path).iterdir() if p.is_file()):
        h.update(f.name.encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(functools.partial(fh.read, 1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _ship(sc: Any, bundle: Path, digest: str) -> list[str]:
    """addFile each bundle file under a content-addressed name (plain files work on every master)."""
    names = sorted(p.name for p in bundle.iterdir() if p.is_file())
    key = (sc.applicationId, digest)
    if key not in _SHIPPED:
        staging = Path(tempfile.mkdtemp(prefix="ganapps-spark-"))
        _STAGING.append(staging)  # Spark serves the files from here for the life of the context
        for name in names:
            shutil.copyfile(bundle / name, staging / _shipped_name(digest, name))
            sc.addFile(str(staging / _shipped_name(digest, name)))
        _SHIPPED.add(key)
    return names


def _shipped_name(digest: str, name: str) -> str:
    return f"ganapps-{digest[:20]}-{name}"


def _fetched_bundle(digest: str, names: list[str]) -> Path:
    """On an executor: the shipped files gathered into one bundle directory (once per executor)."""
    from pyspark import SparkFiles

    root = Path(SparkFiles.getRootDirectory())
    target = root / f"ganapps-bundle-{digest[:20]}"
    if not (target / "config.json").exists():
        tmp = Path(tempfile.mkdtemp(prefix=".ganapps-bundle-", dir=root))
        for name in names:
            shutil.copyfile(SparkFiles.get(_shipped_name(digest, name)), tmp / name)
        try:
            os.rename(tmp, target)
        except OSError:  # another worker of this executor was first
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def worker_app(path: str, device: str, digest: str) -> Any:
    """The scorer of the bundle at ``path`` (``core.scoring.load_scorer``), loaded once per Python worker and
    checked against ``digest``."""
    key = (path, device, digest)
    with _APPS_LOCK:
        app = _APPS.get(key)
        if app is None:
            from ganapps.core.scoring import load_scorer

            found = bundle_digest(path)
            if found != digest:
                import socket

                raise DataError(
                    f"bundle {path} on {socket.gethostname()} differs from the driver's (sha256 {found[:12]} "
                    f"vs {digest[:12]}): ship it (ship=True) or update the shared copy"
                )
            app = _APPS[key] = load_scorer(path, device=device)  # fraud: the numpy scorer, no torch
    return app


def _score_batches(
    batches: Iterator[Any],
    *,
    bundle: str,
    shipped: list[str] | None,
    digest: str,
    device: str,
    wanted: list[str],
    results: list[tuple[str, str]],
) -> Iterator[Any]:
    """The mapInArrow function: input columns untouched, the app's result columns appended."""
    import pyarrow as pa

    path = str(_fetched_bundle(digest, shipped)) if shipped is not None else bundle
    app = worker_app(path, device, digest)
    types = {"double": pa.float64(), "boolean": pa.bool_(), "bigint": pa.int64(), "string": pa.string()}
    for batch in batches:
        if batch.num_rows == 0:
            continue
        frame = pa.Table.from_batches([batch]).select(wanted).to_pandas()
        table = _as_arrow(app.score(frame))
        out = [table.column(name).cast(types[kind]).combine_chunks() for name, kind in results]
        yield pa.RecordBatch.from_arrays(
            [*batch.columns, *out], names=[*batch.schema.names, *(name for name, _ in results)]
        )


def _as_arrow(result: Any) -> Any:
    """A pyarrow Table from a polars or pandas result frame."""
    import pyarrow as pa

    if hasattr(result, "to_arrow"):
        return result.to_arrow()
    return pa.Table.from_pandas(result, preserve_index=False)


def _result_columns(app: Any, wanted: list[str]) -> list[tuple[str, str]]:
    """(name, Spark type) of the columns ``app.score`` appends, from scoring an empty frame.

    The first result column is the row key (the id column or ``row``), which Spark output does
    not need: the input columns come along.
    """
    import pandas as pd

    kinds = app.score_columns() or {}
    empty = pd.DataFrame({c: pd.Series([], dtype=object if kinds.get(c) == "String" else "float64") for c in wanted})
    table = _as_arrow(app.score(empty))
    cols = []
    for field in list(table.schema)[1:]:
        kind = str(field.type).replace("large_string", "string").replace("string_view", "string")
        kind = "double" if kind.startswith(("double", "float", "halffloat")) else kind
        kind = "int64" if kind.startswith(("int", "uint")) else kind
        if kind not in _ARROW_TO_SPARK:
            raise ConfigError(
                f"app {app.name}: result column {field.name!r} has type {field.type}, not supported on Spark"
            )
        cols.append((field.name, _ARROW_TO_SPARK[kind]))
    return cols


# ------------------------------------------------------------------ public API
def score(df: Any, bundle_path: str | Path, *, ship: bool = True, device: str = "cpu") -> Any:
    """Score a Spark DataFrame with a scoring app's bundle (a run directory or bundle directory).

    Returns ``df``'s columns plus the app's result columns — for fraud ``score`` (double),
    ``fraud`` (boolean) and ``error`` (string: the first missing or unparsable feature; score
    and flag are null then) — row for row equal to ``ganapps score`` on the same rows.
    Columns are matched by name; extra columns are passed through.

    ``ship=True`` sends the bundle's files to the executors with ``SparkContext.addFile``;
    ``ship=False`` reads ``bundle_path`` on each executor (storage every node mounts at the same
    path, e.g. NFS or ``/dbfs/...``). Either way each Python worker loads it once and checks its
    SHA-256 against the driver's copy. ``device`` is where executors run the networks.
    """
    require_spark()
    from ganapps.core.bundle import resolve_bundle_path
    from ganapps.core.scoring import load_scorer

    bundle = resolve_bundle_path(bundle_path).resolve()
    app = load_scorer(bundle)  # on the driver: checks the bundle, tells the columns
    columns = list(df.columns)
    needed = app.score_columns()
    wanted = list(needed) if needed is not None else columns
    missing = [c for c in wanted if c not in columns]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(f"data: missing column {missing[0]!r}{more}; the model needs {', '.join(wanted)}")
    results = _result_columns(app, wanted)
    clash = [name for name, _ in results if name in columns]
    if clash:
        raise DataError(
            f"data: already has a column {clash[0]!r}, which scoring appends; rename it (df.withColumnRenamed)"
        )
    digest = bundle_digest(bundle)
    shipped = _ship(df.sparkSession.sparkContext, bundle, digest) if ship else None
    fn = functools.partial(
        _score_batches,
        bundle=str(bundle),
        shipped=shipped,
        digest=digest,
        device=device,
        wanted=wanted,
        results=results,
    )
    from pyspark.sql import types as T

    spark_types = {
        "double": T.DoubleType(),
        "boolean": T.BooleanType(),
        "bigint": T.LongType(),
        "string": T.StringType(),
    }
    schema = T.StructType([*df.schema.fields, *(T.StructField(name, spark_types[kind]) for name, kind in results)])
    return df.mapInArrow(fn, schema)


# ------------------------------------------------------------------ files (the CLI)
def _is_uri(path: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path))


def read_table(spark: Any, data: str, app: Any) -> Any:
    """A Spark DataFrame of Parquet files (a file, directory or glob) or CSV/TSV with a header.

    CSV feature columns are read as the app asks (unparsable values become null, as ``ganapps
    score`` reads them); other CSV columns are passed through as text.
    """
    from pyspark.sql import types as T

    if not _is_uri(data) and not any(ch in data for ch in "*?[{") and not Path(data).exists():
        raise DataError(f"--data: {data} does not exist")
    name = data.rstrip("/").lower()
    try:
        if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
            sep = "\t" if ".tsv" in name else ","
            header = spark.read.option("header", True).option("sep", sep).csv(data).columns
            kinds = app.score_columns() or {}
            spark_type = {"Float64": T.DoubleType(), "Float32": T.DoubleType(), "Int64": T.LongType()}
            schema = T.StructType([T.StructField(c, spark_type.get(kinds.get(c, ""), T.StringType())) for c in header])
            return (
                spark.read.schema(schema)
                .option("header", True)
                .option("sep", sep)
                .option("mode", "PERMISSIVE")
                .csv(data)
            )
        return spark.read.parquet(data)
    except Exception as exc:
        if _is_spark_error(exc):
            raise DataError(f"--data {data}: {_first_line(exc)}") from None
        raise


def score_path(
    run: str | Path,
    data: str,
    out: str,
    *,
    master: str | None = None,
    device: str = "cpu",
    batch_rows: int = CHUNK_ROWS,
    progress: bool = True,
) -> ScoreSummary:
    """``ganapps score --engine spark``: score ``data`` and write ``out`` (a Parquet directory).

    Starts a Spark session on ``master`` unless one is active (stopping only one it started),
    sends Arrow batches of ``batch_rows`` rows to the Python workers, writes the input columns
    plus the result columns, then counts rows, flags and errors from the written files.
    """
    from ganapps.core.io import TABLE_SUFFIXES, atomic_dir
    from ganapps.core.scoring import load_scorer

    if batch_rows < 1:
        raise ConfigError("option --chunk-size must be at least 1")
    if out.rstrip("/").lower().endswith(tuple(s for s in TABLE_SUFFIXES if s != ".parquet")):
        raise ConfigError(f"option --out: with --engine spark, --out is a directory of Parquet files (got {out})")
    if not _is_uri(out) and not _is_uri(data) and Path(out).resolve() == Path(data).resolve():
        raise ConfigError(f"option --out: {out} is the input")
    require_spark()
    app = load_scorer(run)
    # the JVM resolves relative paths against its own working directory: hand it absolute ones
    data = data if _is_uri(data) else os.path.abspath(data)
    from pyspark.sql import SparkSession

    started = SparkSession.getActiveSession() is None
    spark = session(master, {"spark.ui.showConsoleProgress": str(progress).lower()}, quiet=not progress)
    try:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
        frame = read_table(spark, data, app)
        scored = score(frame, run, device=device)
        names = [c for c in scored.columns if c not in frame.columns]
        counted = [c for c in getattr(app, "score_counts", ()) if c in names]
        if _is_uri(out):
            summary = _write(spark, scored, out, names, counted)
        else:
            with atomic_dir(Path(out)) as tmp:
                summary = _write(spark, scored, str(tmp.resolve()), names, counted)
    finally:
        if started:
            spark.stop()
    seconds, rows, errors, counts = summary
    return ScoreSummary(Path(out) if not _is_uri(out) else out, rows, seconds, errors, [], counts)  # type: ignore[arg-type]


def _write(
    spark: Any, scored: Any, out: str, names: list[str], counted: list[str]
) -> tuple[float, int, int, dict[str, int]]:
    """Write ``scored`` as Parquet at ``out``; (seconds, rows, rows with errors, counts), counted from the files."""
    try:
        start = time.perf_counter()
        scored.write.mode("overwrite").parquet(out)
        seconds = time.perf_counter() - start
        aggs = ["count(*) AS rows"]
        if "error" in names:
            aggs.append("count(`error`) AS errors")
        aggs += [f"count_if(`{n}`) AS `{n}`" for n in counted]
        row = spark.read.parquet(out).selectExpr(*aggs).collect()[0].asDict()
    except Exception as exc:
        if _is_spark_error(exc):
            raise _ganapps_error(exc) from None
        raise
    if row["rows"] == 0:
        raise DataError("--data has no rows")
    return seconds, int(row["rows"]), int(row.get("errors") or 0), {n: int(row[n]) for n in counted}


# ------------------------------------------------------------------ errors
def _is_spark_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("pyspark", "py4j")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _ganapps_error(exc: BaseException) -> GanappsError:
    """A failed Spark job as one line: the ganapps error an executor raised, else Spark's first line."""
    found = re.findall(r"ganapps\.core\.errors\.(\w+): (.*)", str(exc))
    if found:
        return DataError(found[-1][1].strip())
    return DataError(f"Spark job failed: {_first_line(exc)}")
