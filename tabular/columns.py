"""Column typing: what each column of a table is, detected from the data and overridable.

Kinds:

- ``continuous``: numbers (integers round back to integers, decimals to their places);
- ``categorical``: labels, codes, text with repeated values (high cardinality is capped later);
- ``boolean``: ``True``/``False`` or integers 0/1;
- ``datetime``: dates and times, native or as text in a detected format (written back the same way);
- ``id``: a key, unique per row (or a PII column): regenerated, never learned;
- ``constant``: one value everywhere: not learned, written back as is.

Every column may also hold missing values (``nullable``); the transformer gives them an explicit
indicator. A :class:`ColumnSpec` is plain JSON (``to_dict``/``from_dict``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import polars as pl

from ganapps.core.errors import ConfigError, DataError
from ganapps.core.frames import dtype_to_json

log = logging.getLogger("ganapps")

Kind = Literal["continuous", "categorical", "boolean", "datetime", "id", "constant"]
KINDS: tuple[str, ...] = ("continuous", "categorical", "boolean", "datetime", "id", "constant")

#: text formats tried, in order, on string columns (identical in Python's strftime and polars)
DATETIME_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%d %b %Y",
    "%b %d %Y",
)

_ID_NAME = re.compile(r"(?i)(^|[_\s.\-])(id|uuid|guid|key|pk)$|^(id|uuid|guid)[_\s.\-]|[a-z0-9](ID|Id)$")
_TIME_UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


@dataclass
class ColumnSpec:
    """What a column is and how it is written back.

    ``dtype`` is the original polars dtype (JSON), ``pandas_dtype`` the pandas one when the
    table came as pandas. ``format`` is the text format of a datetime stored as strings,
    ``resolution`` its unit in seconds (values round to it). ``integer``/``decimals`` say how
    continuous values round. ``max_categories`` overrides the transformer's cap for this column.
    ``id_prefix``/``id_width`` shape regenerated string ids (``C000042``). ``reason`` says why
    the kind was chosen.
    """

    name: str
    kind: str
    dtype: dict[str, Any] = field(default_factory=lambda: {"name": "String"})
    nullable: bool = False
    integer: bool = False
    decimals: int | None = None
    format: str | None = None
    resolution: int | None = None
    max_categories: int | None = None
    id_prefix: str | None = None
    id_width: int | None = None
    pandas_dtype: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColumnSpec:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def polars_dtype(self) -> pl.DataType:
        from ganapps.core.frames import dtype_from_json

        return dtype_from_json(self.dtype)


Override = str | Mapping[str, Any] | ColumnSpec


def looks_like_id(name: str) -> bool:
    """Names such as ``id``, ``row_id``, ``CustomerID``, ``user-key``, ``uuid``."""
    return bool(_ID_NAME.search(name))


def clean_series(s: pl.Series, where: str = "data") -> pl.Series:
    """NaN → missing in float columns; infinite values are refused."""
    if s.dtype.is_float():
        if s.is_infinite().any():
            example = s.filter(s.is_infinite())[0]
            raise DataError(f"{where}: column {s.name!r} holds infinite values (e.g. {example}); replace them")
        s = s.fill_nan(None)
    return s


def parse_datetime_text(s: pl.Series, fmt: str) -> pl.Series:
    """Strings → Datetime(us) with ``fmt``; unparsable values become null."""
    return s.str.to_datetime(fmt, strict=False, time_unit="us")


def detect_datetime_format(s: pl.Series, sample: int = 2000) -> str | None:
    """The first of :data:`DATETIME_FORMATS` that parses every non-missing value, else None."""
    values = s.drop_nulls()
    if len(values) == 0:
        return None
    head = values.unique(maintain_order=True).head(sample)
    if not head.str.contains(r"\d").all():
        return None
    fallback = None
    for fmt in DATETIME_FORMATS:
        parsed = parse_datetime_text(head, fmt)
        if parsed.null_count():
            continue
        if parse_datetime_text(values, fmt).null_count():
            continue
        if (parsed.dt.strftime(fmt) == head).all():
            return fmt
        fallback = fallback or fmt  # parses, but writes back with different padding
    return fallback


def datetime_resolution(seconds_us: pl.Series) -> int | None:
    """Largest unit (day, hour, minute, second) dividing every timestamp (µs since epoch), else None."""
    v = seconds_us.drop_nulls()
    for _, unit in _TIME_UNITS:
        if (v % (unit * 1_000_000) == 0).all():
            return unit
    return None


def count_decimals(s: pl.Series, max_places: int = 6) -> int | None:
    """Fewest decimal places (0..max_places) that represent every value exactly, else None."""
    import numpy as np

    v = s.drop_nulls().cast(pl.Float64).to_numpy()
    if len(v) == 0:
        return None

    def exact(values: np.ndarray, d: int) -> bool:
        scaled = values * 10.0**d
        return bool(np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))))

    head = v[:2000]  # a place count that fails on the first values fails on the column
    for d in range(max_places + 1):
        if exact(head, d) and exact(v, d):
            return d
    return None


def _numeric_share(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(parsed floats, mask of non-missing values that are not numbers) of a string column."""
    parsed = s.cast(pl.Float64, strict=False)
    not_number = s.is_not_null() & parsed.is_null()
    return parsed, not_number


def _mixed_text_column(s: pl.Series) -> tuple[Any, Any] | None:
    """(a number, a string) when a text column is numbers spoilt by a few words, else None.

    Codes such as ``85123A`` or ``V5861`` hold digits and make a categorical column; words
    without any digit (``unknown``, ``n/a``) among mostly numbers make a dirty numeric column.
    """
    parsed, not_number = _numeric_share(s)
    n_num = int(parsed.is_not_null().sum())
    n_text = int(not_number.sum())
    if n_num == 0 or n_text == 0 or n_num < n_text:
        return None
    words = s.filter(not_number).unique(maintain_order=True)
    if words.str.contains(r"\d").any():
        return None
    number = s.filter(parsed.is_not_null())[0]
    return number, words[0]


def _id_format(s: pl.Series) -> tuple[str | None, int | None]:
    """Prefix and digit width of string ids like ``C000042`` (all ids must share them)."""
    m = s.str.extract_groups(r"^(\D*)(\d+)$")
    prefix, digits = m.struct.field("1"), m.struct.field("2")
    if digits.null_count() or prefix.n_unique() != 1:
        return None, None
    return prefix[0], int(digits.str.len_chars().max())


def detect_column(
    s: pl.Series,
    *,
    where: str = "data",
    override: Override | None = None,
    primary_key: bool = False,
    pandas_dtype: str | None = None,
) -> ColumnSpec:
    """The :class:`ColumnSpec` of one column, detected or as overridden."""
    name = s.name
    dtype = s.dtype
    n = len(s)
    if dtype == pl.Null or (n and s.null_count() == n):
        raise DataError(f"{where}: column {name!r} is empty (all {n} values are missing); drop it")
    hints: dict[str, Any] = {}
    if isinstance(override, ColumnSpec):
        hints = {k: v for k, v in override.to_dict().items() if k not in ("name", "dtype", "pandas_dtype")}
    elif isinstance(override, str):
        hints = {"kind": override}
    elif isinstance(override, Mapping):
        hints = dict(override)
    kind = hints.pop("kind", None)
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"column {name!r}: unknown kind {kind!r} (choose from {', '.join(KINDS)})")
    if primary_key:
        kind = "id"
    unsupported = (pl.List, pl.Array, pl.Struct, pl.Object, pl.Binary, pl.Time, pl.Duration)
    if isinstance(dtype, unsupported) or dtype in unsupported:
        raise DataError(f"{where}: column {name!r} has type {dtype}, which ganapps cannot model; convert or drop it")
    s = clean_series(s, where)
    spec = ColumnSpec(name, "categorical", dtype_to_json(dtype), nullable=s.null_count() > 0)
    spec.pandas_dtype = pandas_dtype
    text = dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    values = s.cast(pl.String) if isinstance(dtype, pl.Categorical | pl.Enum) else s
    n_unique = values.drop_nulls().n_unique()

    if kind is None:
        kind, reason = _detect_kind(values, where, n_unique)
    else:
        reason = "declared"
    spec.kind = kind
    spec.reason = reason

    if kind == "continuous":
        _numbers_of(spec, s, dtype, values, text, where)
    elif kind == "datetime":
        _dates_of(spec, s, dtype, values, text, hints.get("format"), where)
    elif kind == "boolean":
        if n_unique > 2:
            raise DataError(f"{where}: column {name!r} has {n_unique} distinct values, so it cannot be boolean")
    elif kind == "categorical":
        if dtype.is_temporal():
            raise ConfigError(f"column {name!r}: dates cannot be categorical; use kind 'datetime'")
    elif kind == "id":
        _ids_of(spec, s, dtype, values, text, primary_key, where)
    for key in ("integer", "decimals", "format", "resolution", "max_categories", "id_prefix", "id_width"):
        if key in hints and hints[key] is not None:
            setattr(spec, key, hints[key])
    return spec


def _numbers_of(spec: ColumnSpec, s: pl.Series, dtype: pl.DataType, values: pl.Series, text: bool, where: str) -> None:
    """A continuous column's decimals and integer flag (text is parsed; what is not a number is missing)."""
    name = s.name
    if dtype.is_numeric():
        numbers = s
    elif text:
        numbers, bad = _numeric_share(values)
        if bad.any():
            log.warning(
                "%s: column %r: %d values that are not numbers (e.g. %r) are treated as missing",
                where,
                name,
                int(bad.sum()),
                values.filter(bad)[0],
            )
        spec.nullable = numbers.null_count() > 0
    elif dtype == pl.Boolean:
        numbers = s.cast(pl.Float64)
    else:
        raise ConfigError(f"column {name!r} ({dtype}) cannot be continuous")
    if numbers.null_count() == len(s):
        raise DataError(f"{where}: column {name!r} holds no numbers")
    spec.decimals = count_decimals(numbers)
    spec.integer = dtype.is_integer() or spec.decimals == 0


def _dates_of(
    spec: ColumnSpec, s: pl.Series, dtype: pl.DataType, values: pl.Series, text: bool, declared: str | None, where: str
) -> None:
    """A datetime column's format (declared or detected, for text) and resolution."""
    name = s.name
    if text:
        spec.format = declared or detect_datetime_format(values)
        if spec.format is None:
            raise DataError(
                f"{where}: column {name!r} is not in a known date format (e.g. {values.drop_nulls()[0]!r}); "
                "give its format, e.g. overrides={%r: {'kind': 'datetime', 'format': '%%d/%%m/%%Y'}}" % name
            )
        parsed = parse_datetime_text(values, spec.format)
        bad = parsed.is_null() & values.is_not_null()
        if bad.any():
            raise DataError(
                f"{where}: column {name!r}: {values.filter(bad)[0]!r} does not match the format {spec.format!r}"
            )
    elif dtype.is_temporal() and dtype in (pl.Date, pl.Datetime):
        parsed = s.cast(pl.Datetime("us"))
    else:
        raise ConfigError(f"column {name!r} ({dtype}) cannot be a datetime; give dates or text in a date format")
    spec.resolution = datetime_resolution(parsed.dt.epoch("us"))


def _ids_of(
    spec: ColumnSpec, s: pl.Series, dtype: pl.DataType, values: pl.Series, text: bool, primary_key: bool, where: str
) -> None:
    """An id column's text format; a primary key must be unique per row."""
    name = s.name
    if primary_key:
        dup = s.filter(s.is_duplicated())
        if len(dup) or s.null_count():
            example = dup[0] if len(dup) else None
            raise DataError(f"{where}: primary key {name!r} is not unique per row (e.g. {example!r} repeats)")
    if text or dtype == pl.String:
        spec.id_prefix, spec.id_width = _id_format(values.drop_nulls())
    elif not dtype.is_integer():
        raise ConfigError(f"column {name!r} ({dtype}): ids must be integers or text")


def _detect_kind(values: pl.Series, where: str, n_unique: int) -> tuple[str, str]:
    """(kind, reason) of a column from its dtype, values and name."""
    name, dtype, n = values.name, values.dtype, len(values)
    nulls = values.null_count()
    if dtype.is_temporal():
        return "datetime", f"{dtype} values"
    if n_unique == 1 and nulls == 0:
        return "constant", "one value in every row"
    if dtype == pl.Boolean:
        return "boolean", "True/False values"
    unique_key = nulls == 0 and n_unique == n and n > 1
    if dtype.is_integer() or (dtype.is_float() and count_decimals(values, 0) == 0 and looks_like_id(name)):
        if unique_key and looks_like_id(name):
            return "id", "unique per row with an id-like name: regenerated, not learned"
        if looks_like_id(name):
            return "categorical", "repeated numbers with an id-like name (a foreign key): categories"
        if dtype.is_integer() and n_unique <= 2 and set(values.drop_nulls().unique().to_list()) <= {0, 1}:
            return "boolean", "integers 0/1"
        return "continuous", "numbers"
    if dtype.is_float():
        return "continuous", "numbers"
    # text
    if n_unique == 1:
        return "categorical", "one value plus missing values"
    mixed = _mixed_text_column(values)
    if mixed is not None:
        number, word = mixed
        raise DataError(
            f"{where}: column {name!r} mixes numbers and strings (e.g. {number!r} and {word!r}); "
            f"clean it, or declare its type (overrides={{{name!r}: 'categorical'}} or 'continuous' "
            "to read the words as missing)"
        )
    if detect_datetime_format(values) is not None:
        return "datetime", "text in a date format"
    if unique_key and (looks_like_id(name) or n >= 20):
        return "id", "text unique per row: regenerated, not learned"
    return "categorical", "text"


def detect_columns(
    data: Any,
    overrides: Mapping[str, Override] | None = None,
    *,
    primary_key: str | None = None,
    where: str = "data",
) -> list[ColumnSpec]:
    """Detect a :class:`ColumnSpec` per column of a polars/pandas frame (or a table file).

    ``overrides`` maps column names to a kind (``"categorical"``), a dict of spec fields
    (``{"kind": "datetime", "format": "%d/%m/%Y"}``) or a ColumnSpec. ``primary_key`` names a
    column that must be unique per row; it is regenerated, not learned. Raises DataError for an
    empty table, an all-missing column, or a column mixing numbers and strings.
    """
    from ganapps.core.frames import is_pandas
    from ganapps.core.io import read_table

    pandas_dtypes = {str(c): str(t) for c, t in data.dtypes.items()} if is_pandas(data) else {}
    frame = read_table(data, where)
    if frame.width == 0:
        raise DataError(f"{where}: the table has no columns")
    if frame.height == 0:
        raise DataError(f"{where}: the table has no rows")
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(frame.columns))
    if primary_key is not None and primary_key not in frame.columns:
        unknown.insert(0, primary_key)
    if unknown:
        raise ConfigError(f"no column {unknown[0]!r} in {where} (columns: {', '.join(frame.columns[:20])})")
    specs = [
        detect_column(
            frame[c],
            where=where,
            override=overrides.get(c),
            primary_key=c == primary_key,
            pandas_dtype=pandas_dtypes.get(c),
        )
        for c in frame.columns
    ]
    learned = [s for s in specs if s.kind not in ("id", "constant")]
    if not learned:
        raise DataError(f"{where}: no column to learn (all are ids or constants)")
    return specs


def primary_key_of(specs: Sequence[ColumnSpec]) -> str | None:
    """The first id column, which serves as the table's primary key."""
    return next((s.name for s in specs if s.kind == "id"), None)


def describe_columns(specs: Sequence[ColumnSpec]) -> list[str]:
    """One line per column: ``name: kind (reason)`` for logs and reports."""
    return [f"{s.name}: {s.kind}{' with missing values' if s.nullable else ''} ({s.reason})" for s in specs]
