"""Evaluation building blocks and SDV metadata interop, on small frames; real data when shared/ is there."""

from __future__ import annotations

import importlib.util
import json
import os
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ganapps.core import ConfigError, DataError, Evaluation
from ganapps.core.io import read_json, read_table
from ganapps.tabular import TabularTransformer, detect_columns
from ganapps.tabular.evaluate import (
    column_shape_plots,
    diagnostic_report,
    evaluate_table,
    ml_efficacy,
    privacy_metrics,
    quality_report,
)
from ganapps.tabular.sdv_metadata import read_sdv_metadata, to_sdv_metadata, write_sdv_metadata

# tests/conftest.py's SHARED (../shared/data beside the checkout); GANAPPS_SHARED_DATA overrides it for
# checkouts that live elsewhere (git worktrees)
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PNG = b"\x89PNG\r\n\x1a\n"


def people(n: int, seed: int) -> pl.DataFrame:
    """Correlated columns: income depends on age and segment; churn on income."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    segment = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    income = np.round(1000 + 40 * age + np.where(segment == "a", 0, 800) + rng.normal(0, 200, n), 2)
    churn = income + rng.normal(0, 300, n) < 2800
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "age": age,
            "segment": segment.tolist(),
            "income": income,
            "joined": [f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
            "churn": churn,
        }
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[TabularTransformer, pl.DataFrame, pl.DataFrame]:
    train, test = people(600, 0), people(300, 1)
    return TabularTransformer().fit(train), train, test


def noise_like(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Each column shuffled independently: right marginals, no relations between columns."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame({c: frame[c].to_numpy()[rng.permutation(len(frame))] for c in frame.columns}).with_columns(
        pl.col("segment").cast(pl.String), pl.col("joined").cast(pl.String)
    )


def test_quality_and_diagnostic_reports(fitted) -> None:
    t, train, test = fitted
    same = quality_report(test, people(300, 2), t.specs)
    shuffled = quality_report(test, noise_like(people(300, 2), 3), t.specs)
    skewed = quality_report(
        test, people(300, 2).with_columns(pl.col("age") + 30, pl.lit("c").alias("segment")), t.specs
    )
    for q in (same, shuffled, skewed):
        assert set(q) == {"quality_score", "column_shapes", "column_pair_trends", "column_shapes_by_column"}
        assert 0 <= q["quality_score"] <= 1
    assert same["quality_score"] > 0.85
    assert shuffled["column_pair_trends"] < same["column_pair_trends"] - 0.05  # relations lost
    assert skewed["column_shapes_by_column"]["age"] < 0.6 < same["column_shapes_by_column"]["age"]
    d = diagnostic_report(test, people(300, 2), t.specs)
    assert d["diagnostic_score"] > 0.99 and d["data_validity"] > 0.99 and d["data_structure"] == 1.0
    with pytest.raises(DataError, match="column 'income' is missing"):
        quality_report(test, people(30, 2).drop("income"), t.specs)


def test_ml_efficacy_classification_and_regression(fitted) -> None:
    t, train, test = fitted
    good = ml_efficacy(train, people(600, 5), test, "churn", t.specs)
    bad = ml_efficacy(train, noise_like(people(600, 5), 1), test, "churn", t.specs)
    assert good["task"] == "classification" and good["metric"] == "macro_f1"
    assert set(good["train_on_real"]) == {"accuracy", "macro_f1", "roc_auc"}
    assert good["train_on_real"]["roc_auc"] > 0.8 and good["ratio"] > 0.9
    assert bad["train_on_synthetic"]["roc_auc"] < 0.65 and bad["ratio"] < good["ratio"]
    reg = ml_efficacy(train, people(600, 5), test, "income", t.specs)
    assert reg["task"] == "regression" and reg["train_on_real"]["r2"] > 0.8
    one_class = ml_efficacy(train, people(600, 5).with_columns(pl.lit(True).alias("churn")), test, "churn", t.specs)
    assert one_class["train_on_synthetic"]["accuracy"] < good["train_on_synthetic"]["accuracy"]
    with pytest.raises(ConfigError, match="--target: no column 'nope'"):
        ml_efficacy(train, train, test, "nope", t.specs)
    with pytest.raises(ConfigError, match="column 'id' is id"):
        ml_efficacy(train, train, test, "id", t.specs)


def test_privacy_detects_copies(fitted) -> None:
    t, train, test = fitted
    fresh = privacy_metrics(t, train, test, people(600, 9))
    copied = privacy_metrics(t, train, test, train)
    assert copied["exact_copy_share"] == 1.0 and copied["dcr_ratio"] == 0.0
    assert fresh["exact_copy_share"] < 0.05 and fresh["dcr_ratio"] > 0.5
    assert copied["membership_auc"] > 0.9 and abs(fresh["membership_auc"] - 0.5) < 0.1


def test_shape_plots_of_an_empty_real_side_draw_the_synthetic_one_without_warnings(fitted) -> None:
    t, _, test = fitted  # a run with --holdout 0 plots against no real rows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = column_shape_plots(test.head(0), people(300, 2), t.specs, per_figure=3)
    assert all(f.startswith(PNG) for f in figs.values())


def test_an_evaluation_without_held_out_rows_says_so_instead_of_failing_each_metric(fitted) -> None:
    t, train, test = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev = evaluate_table(test.head(0), people(300, 2), t, train=train, target="churn")
    assert ev.metrics == {} and ev.figures
    assert len(ev.notes) == 1 and ev.notes[0].startswith("no held-out real rows (--holdout 0)")


def test_plots_and_the_combined_evaluation(fitted) -> None:
    t, train, test = fitted
    figs = column_shape_plots(test, people(300, 2), t.specs, per_figure=3)
    assert list(figs) == ["column shapes 1/2", "column shapes 2/2"] and all(f.startswith(PNG) for f in figs.values())
    ev = evaluate_table(test, people(300, 2), t, train=train, target="churn")
    assert isinstance(ev, Evaluation)
    assert {"quality", "diagnostic", "privacy", "ml_efficacy"} <= set(ev.metrics)
    assert len(ev.notes) == 4 and ev.figures
    json.dumps(ev.metrics)  # JSON values only
    partial = evaluate_table(test, people(300, 2), t, target="churn", plots=False)
    assert "ml_efficacy" not in partial.metrics and any("needs the real training rows" in n for n in partial.notes)


# --------------------------------------------------------------------------- SDV metadata
def test_sdv_metadata_round_trip(fitted, tmp_path: Path) -> None:
    t, train, _ = fitted
    path = write_sdv_metadata(t.specs, tmp_path / "metadata.json", table="people")
    meta = read_json(path)
    assert meta["METADATA_SPEC_VERSION"] == "V1" and meta["tables"]["people"]["primary_key"] == "id"
    assert meta["tables"]["people"]["columns"]["joined"] == {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"}
    table = read_sdv_metadata(path)
    assert table.name == "people" and table.primary_key == "id"
    specs = detect_columns(train, table.overrides, primary_key=table.primary_key)
    assert [(s.name, s.kind, s.format) for s in specs] == [(s.name, s.kind, s.format) for s in t.specs]
    assert to_sdv_metadata(specs, "people") == meta


def test_sdv_metadata_formats_and_errors(tmp_path: Path) -> None:
    legacy = {
        "METADATA_SPEC_VERSION": "SINGLE_TABLE_V1",
        "primary_key": "guest_email",
        "alternate_keys": ["credit_card_number"],
        "columns": {
            "guest_email": {"sdtype": "email", "pii": True},
            "has_rewards": {"sdtype": "boolean"},
            "room_type": {"sdtype": "categorical"},
            "amenities_fee": {"sdtype": "numerical", "computer_representation": "Float"},
            "nights": {"sdtype": "numerical", "computer_representation": "Int64"},
            "checkin_date": {"sdtype": "datetime", "datetime_format": "%d %b %Y"},
            "credit_card_number": {"sdtype": "credit_card_number", "pii": True},
        },
    }
    t = read_sdv_metadata(legacy)
    assert t.primary_key == "guest_email" and t.overrides["guest_email"] == {"kind": "id"}
    assert t.overrides["nights"] == {"kind": "continuous", "integer": True}
    assert t.overrides["checkin_date"] == {"kind": "datetime", "format": "%d %b %Y"}
    assert t.overrides["credit_card_number"] == {"kind": "id"} and len(t.notes) == 2
    v2 = {
        "METADATA_SPEC_VERSION": "V2",
        "tables": {
            "a": {"columns": {"x": {"sdtype": "numerical", "decimal_places": 2, "range_min": 0}}},
            "b": {"columns": {"y": {"sdtype": "categorical"}}, "primary_key": ["y"]},
        },
        "relationships": [],
    }
    assert read_sdv_metadata(v2, "a").overrides == {"x": {"kind": "continuous", "decimals": 2}}
    assert read_sdv_metadata(v2, "b").primary_key == "y"
    with pytest.raises(DataError, match="several tables"):
        read_sdv_metadata(v2)
    with pytest.raises(DataError, match="no table 'c'"):
        read_sdv_metadata(v2, "c")
    with pytest.raises(DataError, match="not SDV metadata"):
        read_sdv_metadata({"fields": {}})
    with pytest.raises(DataError, match="column 'x' has no 'sdtype'"):
        read_sdv_metadata({"columns": {"x": {}}})
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(DataError, match="bad.json is not valid JSON"):
        read_sdv_metadata(bad)
    with pytest.raises(DataError, match="column 'x' of table 'a' is not in the data"):
        read_sdv_metadata(v2, "a").check(["z"])


@pytest.mark.skipif(importlib.util.find_spec("sdv") is None, reason="SDV is not installed")
def test_sdv_loads_what_we_write(fitted, tmp_path: Path) -> None:
    from sdv.metadata import Metadata

    from ganapps.core.frames import polars_to_pandas

    t, train, _ = fitted
    path = write_sdv_metadata(t.specs, tmp_path / "m.json", table="people")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning either
        meta = Metadata.load_from_json(str(path))
    meta.validate()
    meta.validate_data({"people": polars_to_pandas(train)})
    detected = Metadata.detect_from_dataframes({"people": polars_to_pandas(train)}).to_dict()
    back = {c: o["kind"] for c, o in read_sdv_metadata(detected).overrides.items()}
    ours = {s.name: s.kind for s in t.specs}
    assert back.pop("churn") == "categorical" and ours.pop("churn") == "boolean"  # SDV 2 detects bools as categories
    assert back == ours


# --------------------------------------------------------------------------- real data
RETAIL = SHARED / "ecommerce" / "online_retail.csv.gz"


@pytest.mark.skipif(not RETAIL.exists(), reason="needs ../shared/data/ecommerce/online_retail.csv.gz")
def test_online_retail_sample_round_trips() -> None:
    df = read_table(RETAIL).head(5000)
    specs = {s.name: s for s in detect_columns(df, where=str(RETAIL))}
    assert specs["InvoiceDate"].kind == "datetime" and specs["StockCode"].kind == "categorical"
    assert specs["Quantity"].kind == "continuous" and specs["UnitPrice"].decimals is not None
    assert specs["CustomerID"].kind == "categorical" and specs["CustomerID"].nullable
    t = TabularTransformer(continuous="quantile", max_categories=2000).fit(df, list(specs.values()))
    back = t.inverse_transform(t.transform(df))
    assert back.schema == df.schema
    for c in ("StockCode", "Country", "InvoiceDate", "CustomerID", "Quantity"):
        assert back[c].to_list() == df[c].to_list(), c
