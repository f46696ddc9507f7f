"""File IO that never leaves half-written outputs: temp file + rename, and table readers/writers."""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ganapps.core.errors import DataError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".tsv")


def _fresh(path: Path, suffix: str, make: Callable[[Path], None]) -> Path:
    """Create a new, unused ``.<name>.<random><suffix>`` beside ``path`` with ``make``.

    Unlike ``tempfile.mkstemp``/``mkdtemp`` (always 0600/0700), ``make`` creates with mode
    0666/0777 filtered by the process umask, as a plain ``open``/``mkdir`` would, so the renamed
    output gets the permissions the user expects (0644/0755 under umask 022).
    """
    for _ in range(100):
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            make(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free temporary name beside {path}")


def _new_file(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))


def _new_dir(path: Path) -> None:
    os.mkdir(path, 0o777)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The file gets the mode a plain write would (0666 less the umask), even when the block's writer
    replaced the temporary file with one of its own (safetensors writes 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _fresh(path, ".tmp", _new_file)
    mode = stat.S_IMODE(tmp_path.stat().st_mode)
    try:
        yield tmp_path
        if stat.S_IMODE(tmp_path.stat().st_mode) != mode:
            os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` as a whole when the block succeeds.

    The directory gets the mode a plain ``mkdir`` would (0777 less the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _fresh(path, "", _new_dir)
    try:
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    """``obj`` as strict JSON (NaN and infinities become null, which every JSON parser reads)."""
    text = json.dumps(_finite(obj), indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    return write_text(path, text + "\n")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def read_json(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from None


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return _finite(obj.item())
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return _finite(obj.tolist())
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def table_format(path: str | Path) -> str:
    """``csv``, ``tsv`` or ``parquet`` from a file name, or a DataError naming the file."""
    name = str(path).lower()
    if name.endswith((".csv", ".csv.gz", ".csv.zst")):
        return "csv"
    if name.endswith((".tsv", ".tsv.gz")):
        return "tsv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise DataError(f"{path}: unknown table format (use .csv, .csv.gz, .tsv or .parquet)")


def read_table(source: Any, where: str | None = None, *, require_rows: bool = False, **csv_options: Any) -> Any:
    """A polars DataFrame from a table file or a frame: the one way ganapps reads a table.

    ``source`` is a CSV/TSV/Parquet path (format from the suffix; ``csv_options`` go to
    ``polars.read_csv``; a missing, empty or unreadable file is a one-line ``DataError`` naming
    it), a polars DataFrame or LazyFrame, or a pandas DataFrame (converted column by column,
    no pyarrow: :mod:`ganapps.core.frames`). ``where`` names the table in errors about a frame
    (default :func:`table_name`). A file always needs rows; a frame with no rows or no columns is
    refused only with ``require_rows``.
    """
    import polars as pl

    if where is None:
        where = table_name(source)
    if isinstance(source, str | Path):
        frame = _read_file(Path(source), csv_options)
    elif isinstance(source, pl.LazyFrame | pl.DataFrame):
        frame = source.collect() if isinstance(source, pl.LazyFrame) else source
    else:
        from ganapps.core.frames import is_pandas, pandas_to_polars

        if not is_pandas(source):
            raise DataError(
                f"{where}: expected a polars or pandas DataFrame or a table file, got {type(source).__name__}"
            )
        frame = pandas_to_polars(source, where)
    if require_rows and frame.width == 0:
        raise DataError(f"{where}: the table has no columns")
    if require_rows and frame.height == 0:
        raise DataError(f"{where}: the table has no rows")
    return frame


def table_name(source: Any) -> str:
    """How messages name a table: its path, or ``"data"`` for an in-memory frame."""
    return str(source) if isinstance(source, str | Path) else "data"


def _read_file(path: Path, csv_options: dict[str, Any]) -> Any:
    """Read CSV/TSV/Parquet into a polars DataFrame with clear errors for bad files."""
    import polars as pl

    if not path.exists():
        raise DataError(f"--data: {path} does not exist")
    if path.is_dir():
        raise DataError(f"--data: {path} is a directory, expected a table file")
    fmt = table_format(path)
    try:
        if fmt == "parquet":
            df = pl.read_parquet(path)
        else:
            opts = {"infer_schema_length": 10000, "try_parse_dates": False, **csv_options}
            if fmt == "tsv":
                opts["separator"] = "\t"
            df = pl.read_csv(path, **opts)
    except pl.exceptions.NoDataError:
        raise DataError(f"{path} is empty") from None
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path} could not be read as {fmt}: {first}") from None
    if df.height == 0:
        raise DataError(f"{path} has a header but no rows")
    return df


def write_table(table: Any, path: str | Path) -> Path:
    """Write a pandas or polars DataFrame as CSV or Parquet (by suffix), atomically."""
    import pandas as pd
    import polars as pl

    path = Path(path)
    fmt = table_format(path)
    if isinstance(table, pd.DataFrame):
        from ganapps.core.frames import pandas_to_polars

        table = pandas_to_polars(table, str(path))  # column by column: no pyarrow needed
    if not isinstance(table, pl.DataFrame):
        raise TypeError(f"cannot write {type(table).__name__} as a table")
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            table.write_parquet(tmp)
        elif str(path).lower().endswith(".gz"):
            import gzip

            with gzip.open(tmp, "wb") as fh:
                table.write_csv(fh, separator="\t" if fmt == "tsv" else ",")
        else:
            table.write_csv(tmp, separator="\t" if fmt == "tsv" else ",")
    return path
