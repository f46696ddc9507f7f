"""Batch scoring of a table file with a scoring app's bundle, in chunks, in bounded memory.

``score_file(run, data, out)`` reads CSV/TSV/Parquet in chunks through a polars lazy scan
(streaming engine, only the columns the app needs), calls the app's ``score(chunk,
row_offset)`` on each chunk and appends the result to ``out`` (CSV/TSV/Parquet), so a file
larger than memory is scored with memory set by the chunk size. Any app that implements
``App.score`` (and optionally ``App.score_columns``) gets ``ganapps score`` for free;
``load_scorer(run)`` picks a torch-free scorer instead when the app's plugin registers one
(``register_scorers`` hook), so the command does not pay for importing torch.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganapps.core.errors import ConfigError, DataError
from ganapps.core.io import atomic_path, table_format

log = logging.getLogger("ganapps")

#: default rows per chunk: about 60 MB of float64 for a 30-column table
CHUNK_ROWS = 250_000


@dataclass
class ScoreSummary:
    """What ``score_file`` did."""

    out: Path
    rows: int
    seconds: float
    errors: int = 0
    extra_columns: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _scan(path: Path, dtypes: dict[str, str] | None) -> Any:
    """A lazy scan of ``path`` (columns typed as the app asks, bad values read as missing)."""
    import polars as pl

    fmt = table_format(path)
    if fmt == "parquet":
        return pl.scan_parquet(path)
    overrides = {c: getattr(pl, t) for c, t in (dtypes or {}).items() if t}
    return pl.scan_csv(
        path,
        separator="\t" if fmt == "tsv" else ",",
        schema_overrides=overrides or None,
        ignore_errors=True,
        truncate_ragged_lines=True,
        infer_schema_length=10_000,
    )


def _header(path: Path) -> list[str]:
    import polars as pl

    try:
        return list(_scan(path, None).collect_schema().names())
    except pl.exceptions.NoDataError:
        raise DataError(f"--data: {path} is empty") from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"--data: {path} could not be read: {first}") from None


class _Writer:
    """Appends chunks to a CSV/TSV file, or to Parquet parts joined at the end; atomic."""

    def __init__(self, out: Path) -> None:
        self.out, self.fmt = out, table_format(out)
        if str(out).lower().endswith(".gz"):
            raise ConfigError(f"option --out: {out.name}: write .csv, .tsv or .parquet (not compressed CSV)")
        self.parts: Path | None = None
        self.fh: Any = None
        self.n = 0

    def __enter__(self) -> _Writer:
        self._atomic = atomic_path(self.out)
        self.tmp = self._atomic.__enter__()
        if self.fmt == "parquet":
            self.parts = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.parts.", dir=self.out.parent))
        else:
            self.fh = self.tmp.open("wb")
        return self

    def write(self, frame: Any) -> None:
        if self.fmt == "parquet":
            assert self.parts is not None
            frame.write_parquet(self.parts / f"{self.n:08d}.parquet")
        else:
            frame.write_csv(self.fh, include_header=self.n == 0, separator="\t" if self.fmt == "tsv" else ",")
        self.n += 1

    def __exit__(self, *exc: Any) -> None:
        import polars as pl

        try:
            if self.fh is not None:
                self.fh.close()
            if self.parts is not None and exc[0] is None:
                if self.n:
                    pl.scan_parquet(self.parts / "*.parquet").sink_parquet(self.tmp)
                else:
                    pl.DataFrame().write_parquet(self.tmp)
        finally:
            if self.parts is not None:
                shutil.rmtree(self.parts, ignore_errors=True)
            self._atomic.__exit__(*exc)


def score_frames(app: Any, data: Path, chunk_rows: int = CHUNK_ROWS) -> tuple[Any, list[str]]:
    """(iterator of polars chunks holding the columns ``app`` needs, extra columns ignored)."""
    import polars as pl

    wanted = app.score_columns()
    columns = _header(data)
    extra: list[str] = []
    if wanted is not None:
        missing = [c for c in wanted if c not in columns]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DataError(f"--data {data}: missing column {missing[0]!r}{more}; the model needs {', '.join(wanted)}")
        extra = [c for c in columns if c not in wanted]
    lazy = _scan(data, wanted)
    if wanted is not None:
        lazy = lazy.select(list(wanted))

    def frames() -> Any:
        try:
            yield from lazy.collect_batches(chunk_size=chunk_rows)
        except pl.exceptions.PolarsError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"--data {data}: {first}") from None

    return _prefetch(frames()), extra


def _prefetch(chunks: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Read the next chunks in a background thread while the current one is scored.

    At most ``depth`` chunks wait, so memory stays bounded; errors reach the caller.
    """
    done = object()
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def reader() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        q.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    thread = threading.Thread(target=reader, name="ganapps-score-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def load_scorer(run: str | Path, device: str = "cpu") -> Any:
    """What scores with RUN (a run directory or bundle): with ``device`` cpu or auto, the torch-free
    scorer its app's plugin registers (``register_scorers`` hook); else the app rebuilt from the bundle.

    Either has ``score(frame, row_offset)`` and ``score_columns()``; the torch-free one loads in
    a fraction of a second because it imports neither torch nor the app.
    """
    from ganapps.core.bundle import bundle_config, load_bundle, resolve_bundle_path
    from ganapps.core.plugins import get_scorers

    path = resolve_bundle_path(run)
    name = bundle_config(path).get("app", "")
    load = get_scorers().get(name) if device in ("cpu", "auto") else None
    if load is not None:
        return load(path)
    app = load_bundle(path, device=device)
    if "score" not in type(app).capabilities():
        raise ConfigError(f"{run}: app {app.name} does not score data (scoring apps: see `ganapps apps`)")
    return app


class _compute_threads:
    """On CPU, the scorer computes on half the cores while polars parses the next chunk on its
    own pool (on 2 cores, 1 torch thread scored 1M rows ~20% faster than 2); restored afterwards.
    Torch apps set torch's threads, torch-free scorers their BLAS library's (threadpoolctl)."""

    def __init__(self, app: Any) -> None:
        self.cpu = str(getattr(app, "device", "cpu")).startswith("cpu")
        self.torch = hasattr(app, "nets")  # an App (torch); else a torch-free scorer
        self.limits: Any = None

    def __enter__(self) -> None:
        if not self.cpu:
            return
        half = max(1, (os.cpu_count() or 2) // 2)
        if self.torch:
            import torch

            self.before = torch.get_num_threads()
            torch.set_num_threads(min(self.before, half))
        else:
            from threadpoolctl import threadpool_limits

            self.limits = threadpool_limits(limits=half, user_api="blas")

    def __exit__(self, *exc: Any) -> None:
        if self.torch and self.cpu:
            import torch

            torch.set_num_threads(self.before)
        if self.limits is not None:
            self.limits.restore_original_limits()


class _Background:
    """Calls ``fn`` on each item in a background thread (at most ``depth`` waiting), so writing
    chunk k overlaps scoring chunk k+1; the first error is raised in the caller."""

    def __init__(self, fn: Any, depth: int = 2) -> None:
        self.fn, self.q = fn, queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="ganapps-score-writer", daemon=True)

    def _run(self) -> None:
        while (item := self.q.get()) is not None:
            if self.error is None:
                try:
                    self.fn(item)
                except BaseException as exc:  # handed to the caller
                    self.error = exc

    def __enter__(self) -> Any:
        self.thread.start()
        return self

    def __call__(self, item: Any) -> None:
        if self.error is not None:
            raise self.error
        self.q.put(item)

    def __exit__(self, *exc: Any) -> None:
        self.q.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


def score_file(
    app: Any,
    data: str | Path,
    out: str | Path,
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: bool = True,
) -> ScoreSummary:
    """Score every row of ``data`` with ``app.score`` chunk by chunk and write ``out`` atomically."""
    from tqdm.auto import tqdm

    data, out = Path(data), Path(out)
    if not data.exists():
        raise DataError(f"--data: {data} does not exist")
    if data.is_dir():
        raise DataError(f"--data: {data} is a directory, expected a table file")
    if chunk_rows < 1:
        raise ConfigError("option --chunk-size must be at least 1")
    if out.resolve() == data.resolve():
        raise ConfigError(f"option --out: {out} is the input file")
    table_format(data)
    frames, extra = score_frames(app, data, chunk_rows)
    if extra:
        shown = ", ".join(extra[:8]) + (f" and {len(extra) - 8} more" if len(extra) > 8 else "")
        log.info("note: ignoring %d column(s) the model does not use: %s", len(extra), shown)
    start = time.perf_counter()
    rows = errors = 0
    counts: dict[str, int] = {}
    bar = tqdm(desc=f"scoring {data.name}", unit=" rows", unit_scale=True, disable=not progress, smoothing=0.1)
    with _Writer(out) as writer, _Background(writer.write) as write, _compute_threads(app):
        for chunk in frames:
            result = app.score(chunk, row_offset=rows)
            write(result)
            rows += chunk.height
            if "error" in result.columns:
                errors += int(result["error"].is_not_null().sum())
            for name in getattr(app, "score_counts", ()):  # e.g. flagged rows
                counts[name] = counts.get(name, 0) + int(result[name].sum() or 0)
            bar.update(chunk.height)
        if rows == 0:
            raise DataError(f"--data {data} has a header but no rows")
    bar.close()
    return ScoreSummary(out, rows, time.perf_counter() - start, errors, extra, counts)
