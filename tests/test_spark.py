"""Spark batch scoring (issue 9): local[2] results equal `ganapps score` row for row; the CLI; errors.

Needs pyspark (``pip install 'ganapps[spark]'``, in the ``test`` extra) and Java 17+; the Spark
tests skip with the reason when either is missing. One Spark session serves the whole module.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ganapps.cli.testing import cli_fails as fails
from ganapps.cli.testing import cli_ok as invoke
from ganapps.core import run
from ganapps.datasets import HERE
from ganapps.integrations import spark as gs

SAMPLE = HERE / "creditcard" / "creditcard_sample.csv"
RESULTS = ["score", "fraud", "error"]
HAVE_PYSPARK = all(importlib.util.find_spec(m) is not None for m in ("pyspark", "pyarrow"))
SKIP_REASON = (
    "needs pyspark and pyarrow (pip install 'ganapps[spark]')"
    if not HAVE_PYSPARK
    else "needs Java 17+ for Spark (no java on PATH, JAVA_HOME unset)"
    if gs.find_java() is None
    else ""
)


@pytest.fixture(scope="module")
def spark():
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    conf = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "64",  # several Arrow batches per partition
    }
    session = gs.session("local[2]", conf, quiet=True)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run directory, Parquet directory of its 200 held-out rows in 3 files, with a `key` column)."""
    tmp = tmp_path_factory.mktemp("spark")
    r = run(
        "fraud", str(SAMPLE), options={"hidden": 16}, train={"epochs": 2}, out=tmp / "run", progress=False, samples=20
    )
    app, cfg = r.app, r.app.train_config
    _, holdout = app.split(app.load_data(SAMPLE), cfg.holdout, cfg.seed)
    holdout = holdout.with_columns(pl.col("Class").cast(pl.Int64))
    holdout = holdout.with_row_index("key").with_columns(pl.col("key").cast(pl.Int64))
    parts = tmp / "holdout"
    parts.mkdir()
    for i, (a, b) in enumerate([(0, 70), (70, 140), (140, len(holdout))]):
        holdout[a:b].write_parquet(parts / f"part-{i}.parquet")
    holdout.write_parquet(tmp / "holdout.parquet")
    return tmp / "run", parts


def _local_scores(run_dir: Path, data: Path, out: Path) -> pl.DataFrame:
    invoke("score", str(run_dir), "--data", str(data), "--out", str(out), "--chunk-size", "50")
    return pl.read_parquet(out) if out.suffix == ".parquet" else pl.read_csv(out)


def test_dataframe_scores_equal_ganapps_score(spark, model, tmp_path: Path) -> None:
    run_dir, parts = model
    local = _local_scores(run_dir, parts.parent / "holdout.parquet", tmp_path / "local.parquet")
    df = spark.read.parquet(str(parts))
    scored = gs.score(df, run_dir)
    assert scored.columns == [*df.columns, *RESULTS]
    assert [f.dataType.simpleString() for f in scored.schema.fields[-3:]] == ["double", "boolean", "string"]
    got = pl.DataFrame([r.asDict() for r in scored.collect()]).sort("key")
    assert got.height == local.height == 200 and got["key"].to_list() == local["row"].to_list()
    assert np.array_equal(got["score"].to_numpy(), local["score"].to_numpy())  # same floats, row for row
    assert got["fraud"].to_list() == local["fraud"].to_list() and 0 < got["fraud"].sum() < 200
    assert got["error"].null_count() == 200
    original = pl.read_parquet(parts.parent / "holdout.parquet")
    assert got.select(original.columns).equals(original)  # input columns passed through untouched

    # a bundle on storage every executor mounts (ship=False): same numbers; a changed copy is refused
    shared = gs.score(df, run_dir / "bundle", ship=False).select("key", "score").collect()
    assert sorted((r.key, r.score) for r in shared) == list(zip(local["row"], local["score"], strict=True))
    import shutil

    copy = tmp_path / "bundle"
    shutil.copytree(run_dir / "bundle", copy)
    lazy = gs.score(df, copy, ship=False)
    (copy / "schema.json").write_text((copy / "schema.json").read_text() + " ")  # differs from the driver's
    with pytest.raises(Exception, match="differs from the driver's"):
        lazy.collect()


def test_cli_parquet_glob_and_csv_with_bad_rows(spark, model, in_tmp: Path, bad_transactions: list[str]) -> None:
    run_dir, parts = model
    local = _local_scores(run_dir, parts.parent / "holdout.parquet", in_tmp / "local.parquet")
    out = invoke(
        "score", str(run_dir), "--data", f"{parts}/*", "--engine", "spark", "--master", "local[2]", "--out", "out"
    ).output
    flagged = local["fraud"].sum()
    assert "scored 200 rows" in out and f", {flagged} fraud ->" in out and "out" in out
    got = pl.read_parquet("out/*.parquet").sort("key")
    assert got.columns[-3:] == RESULTS and got.height == 200
    assert np.array_equal(got["score"].to_numpy(), local["score"].to_numpy())
    assert got["fraud"].to_list() == local["fraud"].to_list()
    assert not list(Path(".").glob(".out.*"))  # written through a temporary directory

    # CSV: bad values are flagged per row exactly as `ganapps score` flags them
    ref = _local_scores(run_dir, Path("bad.csv"), in_tmp / "bad_local.csv")
    out = invoke("score", str(run_dir), "--data", "bad.csv", "--engine", "spark", "--out", "bad_out").output
    assert "scored 5 rows" in out and "2 with errors" in out
    got = pl.read_parquet("bad_out/*.parquet")
    assert (
        got["error"].to_list()
        == ref["error"].to_list()
        == [
            None,
            "column 'V3': missing or not a number",
            None,
            "column 'Amount': missing or not a number",
            None,
        ]
    )
    assert got["score"].null_count() == 2 and got["fraud"].null_count() == 2
    assert np.array_equal(got["score"].to_numpy(), ref["score"].to_numpy(), equal_nan=True)


def test_cli_errors(spark, model, in_tmp: Path) -> None:
    run_dir, parts = model
    pl.read_parquet(parts.parent / "holdout.parquet").drop("V7").write_parquet("short.parquet")
    line = fails("score", str(run_dir), "--data", "short.parquet", "--engine", "spark", "--out", "o")
    assert "'V7'" in line and not Path("o").exists()
    line = fails("score", str(run_dir), "--data", "nope/*.parquet", "--engine", "spark", "--out", "o")
    assert "nope" in line
    line = fails("score", str(run_dir), "--data", str(parts), "--engine", "spark", "--out", "s.csv")
    assert "--out" in line and "Parquet" in line
    pl.read_parquet(parts.parent / "holdout.parquet").with_columns(pl.lit(1.0).alias("score")).write_parquet(
        "c.parquet"
    )
    assert "'score'" in fails("score", str(run_dir), "--data", "c.parquet", "--engine", "spark", "--out", "o")


def test_missing_pyspark_or_java_is_one_line(model, in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, parts = model
    args = ("score", str(run_dir), "--data", str(parts), "--engine", "spark", "--out", "o")
    assert "--engine spark" in fails("score", str(run_dir), "--data", str(parts), "--master", "local[2]", "--out", "o")
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "pyspark", None)  # as if not installed
        line = fails(*args)
        assert "pyspark" in line and "pip install 'ganapps[spark]'" in line
    if HAVE_PYSPARK:
        monkeypatch.setattr(gs, "_jvm_running", lambda: False)
        monkeypatch.setattr(gs, "find_java", lambda: None)
        line = fails(*args)
        assert "Java" in line and "pip install 'ganapps[spark]'" in line


def test_find_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert gs.find_java() == str(java)
    monkeypatch.delenv("JAVA_HOME")
    assert gs.find_java() is None
