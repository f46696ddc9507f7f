"""Column typing (ganapps.tabular.columns): detection, overrides, errors, pandas input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from ganapps.core import ConfigError, DataError
from ganapps.core.frames import pandas_to_polars, polars_to_pandas
from ganapps.core.io import read_table, table_name, write_table
from ganapps.tabular import (
    ColumnSpec,
    detect_columns,
    primary_key_of,
)


def mixed_frame(n: int = 40) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "order_id": [f"C{i:05d}" for i in range(n)],
            "CustomerID": rng.integers(1, 6, n),
            "amount": np.round(rng.lognormal(2, 1, n), 2),
            "count": rng.integers(0, 50, n),
            "country": rng.choice(["FR", "DE", "UK"], n).tolist(),
            "code": rng.choice(["85123A", "71053", "22752", "POST"], n).tolist(),
            "is_member": rng.random(n) > 0.5,
            "fraud": rng.integers(0, 2, n),
            "when": [f"2011-0{1 + i % 9}-1{i % 10} 0{i % 10}:{10 + i % 50}:00" for i in range(n)],
            "day": [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "shop": ["main"] * n,
            "note": [None if i % 3 else "x" for i in range(n)],
        }
    )


def kinds(specs: list[ColumnSpec]) -> dict[str, str]:
    return {s.name: s.kind for s in specs}


def test_detects_every_kind() -> None:
    specs = detect_columns(mixed_frame())
    assert kinds(specs) == {
        "order_id": "id",
        "CustomerID": "categorical",
        "amount": "continuous",
        "count": "continuous",
        "country": "categorical",
        "code": "categorical",  # codes with letters and digits are labels, not dirty numbers
        "is_member": "boolean",
        "fraud": "boolean",
        "when": "datetime",
        "day": "datetime",
        "shop": "constant",
        "note": "categorical",
    }
    by = {s.name: s for s in specs}
    assert by["when"].format == "%Y-%m-%d %H:%M:%S" and by["when"].resolution == 60
    assert by["day"].resolution == 86_400 and by["day"].format is None
    assert by["amount"].decimals == 2 and not by["amount"].integer
    assert by["count"].integer and by["note"].nullable
    assert (by["order_id"].id_prefix, by["order_id"].id_width) == ("C", 5)
    assert primary_key_of(specs) == "order_id"
    assert all(s.reason for s in specs)


def test_overrides_and_primary_key() -> None:
    frame = mixed_frame()
    specs = detect_columns(
        frame,
        {
            "count": "categorical",
            "amount": {"kind": "continuous", "decimals": 1},
            "fraud": ColumnSpec("fraud", "categorical"),
        },
        primary_key="order_id",
    )
    by = {s.name: s for s in specs}
    assert by["count"].kind == "categorical" and by["fraud"].kind == "categorical"
    assert by["amount"].decimals == 1 and by["count"].reason == "declared"
    with pytest.raises(ConfigError, match="no column 'nope'"):
        detect_columns(frame, {"nope": "categorical"})
    with pytest.raises(ConfigError, match="unknown kind 'fuzzy'"):
        detect_columns(frame, {"count": "fuzzy"})
    with pytest.raises(DataError, match="primary key 'CustomerID' is not unique per row"):
        detect_columns(frame, primary_key="CustomerID")
    with pytest.raises(DataError, match="cannot be boolean"):
        detect_columns(frame, {"country": "boolean"})


def test_read_table_names_the_file_and_refuses_empty_tables(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n")
    assert read_table(path, require_rows=True).shape == (1, 2) and table_name(path) == str(path)
    assert table_name(pd.DataFrame({"a": [1]})) == "data"
    assert read_table(pd.DataFrame({"a": []}), "frame").shape == (0, 1)  # empty frames pass unless rows are required
    path.write_text("a,b\n")
    with pytest.raises(DataError, match="t.csv has a header but no rows"):
        read_table(path)
    with pytest.raises(DataError, match="^data: the table has no rows$"):
        read_table(pd.DataFrame({"a": pd.Series([], dtype=int)}), require_rows=True)
    with pytest.raises(DataError, match="^data: the table has no columns$"):
        read_table(pd.DataFrame(index=[0, 1]), require_rows=True)


def test_empty_table_and_all_null_column_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no rows"):
        detect_columns(pl.DataFrame({"a": pl.Series([], dtype=pl.Int64)}))
    with pytest.raises(DataError, match="no columns"):
        detect_columns(pl.DataFrame())
    frame = pl.DataFrame({"a": [1, 2, 3], "gone": [None, None, None]})
    with pytest.raises(DataError, match=r"column 'gone' is empty \(all 3 values are missing\)"):
        detect_columns(frame, where="t.csv")
    with pytest.raises(DataError, match="'nan' is empty"):
        detect_columns(pd.DataFrame({"a": [1.0, 2.0], "nan": [np.nan, np.nan]}))
    csv = tmp_path / "blank.csv"
    csv.write_text("a,b\n1,\n2,\n")
    with pytest.raises(DataError, match=r"blank.csv: column 'b' is empty"):
        detect_columns(read_table(csv), where=str(csv))
    with pytest.raises(DataError, match="infinite"):
        detect_columns(pl.DataFrame({"a": [1.0, float("inf")]}))


def test_mixed_numbers_and_strings_show_one_of_each(tmp_path: Path) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text("age,city\n34,Paris\n45,Lyon\nunknown,Nice\n27,Paris\n")
    with pytest.raises(
        DataError, match=r"people.csv: column 'age' mixes numbers and strings \(e.g. '34' and 'unknown'\)"
    ):
        detect_columns(read_table(csv), where=str(csv))
    # the way out the message gives works: the words become missing values
    specs = detect_columns(read_table(csv), {"age": "continuous"})
    assert specs[0].kind == "continuous" and specs[0].nullable
    # pandas object columns holding real ints and strs
    with pytest.raises(DataError, match=r"column 'x' mixes numbers and strings \(e.g. 1 and 'b'\)"):
        detect_columns(pd.DataFrame({"x": [1, "b", 3], "y": [1, 2, 3]}))


def test_pandas_input_keeps_its_dtypes() -> None:
    df = pd.DataFrame(
        {
            "i": [1, 2, 3, 4],
            "ni": pd.array([1, None, 3, 4], dtype="Int64"),
            "f": [0.5, np.nan, 1.5, 2.0],
            "s": ["a", None, "b", "a"],
            "c": pd.Series(["x", "y", "x", None], dtype="category"),
            "b": [True, False, True, True],
            "t": pd.to_datetime(["2020-01-01", None, "2020-03-01", "2020-04-01"]),
            "tz": pd.to_datetime(["2020-01-01 10:00"] * 4).tz_localize("Europe/Paris"),
        }
    )
    frame = pandas_to_polars(df)
    assert frame.schema["ni"] == pl.Int64 and frame["ni"].null_count() == 1
    assert frame.schema["c"] == pl.Categorical and frame.schema["tz"] == pl.Datetime("ns", "Europe/Paris")
    back = polars_to_pandas(frame, {c: str(t) for c, t in df.dtypes.items()})
    assert [str(t) for t in back.dtypes] == [str(t) for t in df.dtypes]
    pd.testing.assert_frame_equal(back, df, check_categorical=False)
    with pytest.raises(DataError, match="column names must be strings"):
        detect_columns(pd.DataFrame(np.zeros((3, 2))))


def test_write_table_accepts_pandas_without_pyarrow(tmp_path: Path) -> None:
    df = pd.DataFrame({"s": ["a", None], "n": [1, 2]})
    for name in ("t.csv", "t.parquet"):
        back = read_table(write_table(df, tmp_path / name))
        assert back["s"].to_list() == ["a", None] and back["n"].to_list() == [1, 2]
