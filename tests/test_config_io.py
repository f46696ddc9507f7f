"""Option parsing and atomic file writing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from ganapps.core import ConfigError, DataError, TrainConfig
from ganapps.core.config import build, parse_lr
from ganapps.core.io import atomic_path, read_table, write_json, write_table


@dataclass
class Opts:
    n: int = 1
    rate: float = 0.5
    mode: Literal["a", "b"] = "a"
    flag: bool = False
    names: list[str] | None = None


def test_build_coerces_and_validates() -> None:
    o = build(Opts, {"n": "3", "rate": 1, "mode": "b", "flag": "yes", "names": "x,y"})
    assert (o.n, o.rate, o.mode, o.flag, o.names) == (3, 1.0, "b", True, ["x", "y"])
    with pytest.raises(ConfigError, match="unknown option 'm'"):
        build(Opts, {"m": 1})
    with pytest.raises(ConfigError, match="'c' is not one of a, b"):
        build(Opts, {"mode": "c"})
    with pytest.raises(ConfigError, match="expected an integer"):
        build(Opts, {"n": "three"})
    cfg = build(TrainConfig, {"lr": {"generator": "1e-4"}, "device": "cpu"})
    assert cfg.lr == {"generator": 1e-4}


def test_parse_lr() -> None:
    assert parse_lr(["2e-4", "generator=1e-4"]) == {"*": 2e-4, "generator": 1e-4}
    with pytest.raises(ConfigError):
        parse_lr(["generator=fast"])
    with pytest.raises(ConfigError):
        parse_lr(["-1"])


def test_atomic_path_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text().strip().endswith("}") and '"v": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_tables_round_trip_and_errors(tmp_path: Path) -> None:
    import polars as pl

    df = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    for name in ("t.csv", "t.parquet", "t.csv.gz"):
        write_table(df, tmp_path / name)
        assert read_table(tmp_path / name).equals(df)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="no rows"):
        read_table(tmp_path / "header.csv")
    with pytest.raises(DataError, match="unknown table format"):
        read_table(tmp_path / "t.csv").pipe(
            lambda _: read_table(tmp_path / "x.xlsx") if (tmp_path / "x.xlsx").write_text("") or True else None
        )


def test_write_json_is_strict_json(tmp_path: Path) -> None:
    import json

    import numpy as np

    target = tmp_path / "m.json"
    write_json(
        target, {"a": float("nan"), "b": [1.5, float("inf")], "c": np.float32("nan"), "d": np.array([np.nan, 2])}
    )
    text = target.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [1.5, None], "c": None, "d": [None, 2.0]}
