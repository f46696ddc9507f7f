"""Frames in and out: pandas ↔ polars without pyarrow, dtypes as JSON, clear errors for bad tables.

The engine reads and writes tables as polars frames (``ganapps.core.io.read_table`` turns a path
or a frame into one; ``write_table`` writes either kind), and so does the table layer,
``ganapps.tabular``. pandas frames are converted column by column through NumPy (polars' own
``from_pandas``/``to_pandas`` need pyarrow, which ganapps does not depend on), and converted back
to the dtypes they came with. This module imports nothing of ganapps but its errors.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import polars as pl

from ganapps.core.errors import DataError

Frame = Any  # a polars or pandas DataFrame

_SIMPLE = {
    "Int8": pl.Int8,
    "Int16": pl.Int16,
    "Int32": pl.Int32,
    "Int64": pl.Int64,
    "UInt8": pl.UInt8,
    "UInt16": pl.UInt16,
    "UInt32": pl.UInt32,
    "UInt64": pl.UInt64,
    "Float32": pl.Float32,
    "Float64": pl.Float64,
    "Boolean": pl.Boolean,
    "String": pl.String,
    "Categorical": pl.Categorical,
    "Date": pl.Date,
    "Null": pl.Null,
}


def dtype_to_json(dtype: pl.DataType) -> dict[str, Any]:
    """A polars dtype as a JSON dict (``{"name": "Datetime", "time_unit": "us", ...}``)."""
    if isinstance(dtype, pl.Datetime):
        return {"name": "Datetime", "time_unit": dtype.time_unit, "time_zone": dtype.time_zone}
    if isinstance(dtype, pl.Enum):
        return {"name": "Enum", "categories": dtype.categories.to_list()}
    if isinstance(dtype, pl.Decimal):
        return {"name": "Decimal", "precision": dtype.precision, "scale": dtype.scale}
    return {"name": dtype.base_type().__name__}


def dtype_from_json(spec: dict[str, Any]) -> pl.DataType:
    """Inverse of :func:`dtype_to_json`."""
    name = spec["name"]
    if name == "Datetime":
        return pl.Datetime(spec.get("time_unit") or "us", spec.get("time_zone"))
    if name == "Enum":
        return pl.Enum(spec["categories"])
    if name == "Decimal":
        return pl.Decimal(spec.get("precision"), spec.get("scale") or 0)
    if name in ("Utf8", "String"):
        return pl.String
    if name not in _SIMPLE:
        raise DataError(f"unsupported column dtype {name!r} in a saved table schema")
    return _SIMPLE[name]


def is_pandas(frame: Any) -> bool:
    return type(frame).__module__.startswith("pandas") and hasattr(frame, "columns")


def _mixed_error(where: str, name: str, values: Any) -> DataError:
    """A one-line error naming the column, with one number and one string found in it."""
    import pandas as pd

    s = pd.Series(values, dtype=object).dropna()
    as_num = pd.to_numeric(s, errors="coerce")
    number = s[as_num.notna()].iloc[0] if as_num.notna().any() else None
    text = s[as_num.isna()].iloc[0] if as_num.isna().any() else None
    return DataError(
        f"{where}: column {name!r} mixes numbers and strings (e.g. {number!r} and {text!r}); "
        f"clean it, or declare its type (overrides={{{name!r}: 'categorical'}})"
    )


def pandas_to_polars(df: Any, where: str = "data") -> pl.DataFrame:
    """Convert a pandas DataFrame column by column through NumPy (no pyarrow needed)."""
    import pandas as pd

    names = list(df.columns)
    bad = [c for c in names if not isinstance(c, str)]
    if bad:
        raise DataError(
            f"{where}: column names must be strings, got {bad[0]!r} ({type(bad[0]).__name__}); "
            "rename them, e.g. df.columns = df.columns.astype(str)"
        )
    if len(set(names)) != len(names):
        dup = next(c for c in names if names.count(c) > 1)
        raise DataError(f"{where}: column {dup!r} appears more than once")
    cols = []
    for name in names:
        s = df[name]
        dt = s.dtype
        if isinstance(dt, pd.CategoricalDtype):
            values = np.asarray(s.astype(object).where(s.notna(), None))
            inner = values[[v is not None for v in values]] if len(values) else values
            kind = pd.api.types.infer_dtype(inner, skipna=True) if len(inner) else "string"
            if kind in ("string", "empty"):
                cols.append(pl.Series(name, values, dtype=pl.String).cast(pl.Categorical))
            else:
                cols.append(_object_series(name, pd.Series(values, dtype=object), where))
        elif isinstance(dt, pd.DatetimeTZDtype):
            utc = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
            cols.append(pl.Series(name, utc).dt.replace_time_zone("UTC").dt.convert_time_zone(str(dt.tz)))
        elif isinstance(dt, pd.StringDtype):
            cols.append(pl.Series(name, s.to_numpy(dtype=object, na_value=None), dtype=pl.String))
        elif isinstance(dt, pd.BooleanDtype):
            cols.append(pl.Series(name, s.to_numpy(dtype=object, na_value=None).tolist(), dtype=pl.Boolean))
        elif pd.api.types.is_extension_array_dtype(dt) and pd.api.types.is_integer_dtype(dt):
            arr = s.to_numpy(dtype="float64", na_value=np.nan)  # exact for |x| < 2**53
            target = _SIMPLE.get(str(dt), pl.Int64)  # pandas "Int64", "UInt8"... match polars names
            cols.append(pl.Series(name, arr, nan_to_null=True).cast(target))
        elif pd.api.types.is_extension_array_dtype(dt) and pd.api.types.is_float_dtype(dt):
            cols.append(pl.Series(name, s.to_numpy(dtype="float64", na_value=np.nan), nan_to_null=True))
        elif pd.api.types.is_object_dtype(dt):
            cols.append(_object_series(name, s, where))
        elif pd.api.types.is_float_dtype(dt):
            cols.append(pl.Series(name, s.to_numpy(), nan_to_null=True))
        elif pd.api.types.is_datetime64_dtype(dt):
            arr = s.to_numpy()
            if np.datetime_data(arr.dtype)[0] not in ("ms", "us", "ns"):
                arr = arr.astype("datetime64[ms]")  # polars takes ms/us/ns; the dtype is restored on output
            cols.append(pl.Series(name, arr))
        else:
            try:
                cols.append(pl.Series(name, s.to_numpy()))
            except Exception as exc:  # noqa: BLE001 - any dtype polars cannot take
                raise DataError(f"{where}: column {name!r} has unsupported dtype {dt} ({exc})") from None
    return pl.DataFrame(cols)


def _object_series(name: str, s: Any, where: str) -> pl.Series:
    """An object-dtype pandas column: strings, booleans, numbers or dates — never a mix."""
    import pandas as pd

    kind = pd.api.types.infer_dtype(s, skipna=True)
    values = s.to_numpy(dtype=object)
    mask = pd.isna(s).to_numpy()
    if kind in ("string", "empty"):  # str() also takes numpy.str_ items (SDV's samples hold them)
        return pl.Series(name, [None if m else str(v) for v, m in zip(values, mask, strict=True)], dtype=pl.String)
    if kind == "boolean":
        values = values.copy()
        values[mask] = None
        return pl.Series(name, values.tolist(), dtype=pl.Boolean)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        numbers = pl.Series(name, pd.to_numeric(s).to_numpy(dtype="float64"), nan_to_null=True)
        return numbers.cast(pl.Int64) if kind == "integer" else numbers
    if kind in ("datetime", "datetime64", "date"):
        return pl.Series(name, pd.to_datetime(s).to_numpy())
    if kind in ("mixed-integer", "mixed"):
        raise _mixed_error(where, name, s)
    raise DataError(f"{where}: column {name!r} holds {kind} values, which ganapps cannot model")


def polars_to_pandas(df: pl.DataFrame, dtypes: dict[str, str] | None = None) -> Any:
    """Convert to pandas through NumPy; ``dtypes`` (pandas dtype names) are restored where given."""
    import pandas as pd

    out: dict[str, Any] = {}
    for name in df.columns:
        s = df[name]
        dt = s.dtype
        if isinstance(dt, pl.Datetime) and dt.time_zone:
            naive = s.dt.convert_time_zone("UTC").dt.replace_time_zone(None).to_numpy()
            out[name] = pd.Series(naive).dt.tz_localize("UTC").dt.tz_convert(dt.time_zone)
        elif dt == pl.Boolean:
            arr = s.to_numpy()
            out[name] = pd.Series(arr if s.null_count() == 0 else pd.array(s.to_list(), dtype="boolean"))
        elif isinstance(dt, pl.Categorical | pl.Enum):
            out[name] = pd.Series(s.cast(pl.String).to_numpy(), dtype="category")
        elif dt == pl.Date:
            out[name] = pd.Series(s.cast(pl.Datetime("us")).to_numpy())
        else:
            out[name] = pd.Series(s.to_numpy())
    frame = pd.DataFrame(out, columns=df.columns)
    for name, want in (dtypes or {}).items():
        if name in frame.columns and str(frame[name].dtype) != want:
            # keep the closest dtype polars gave when pandas refuses (e.g. missing values in int64)
            with contextlib.suppress(TypeError, ValueError):
                frame[name] = frame[name].astype(want)
    return frame
