"""``TableApp`` (``ganapps.tabular.app``): the one home of what the ``tabular`` GAN and the
SDV bridge apps share; their end-to-end runs are in test_tabular_app.py."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from ganapps.core import ConfigError
from ganapps.plugins.sdv_bridge.app import SDVApp, SDVGaussianCopula, SDVOptions
from ganapps.plugins.tabular.app import TabularGAN
from ganapps.plugins.tabular.options import TabularOptions
from ganapps.tabular.app import TableApp

SHARED = ("load_data", "column_typing", "tt", "default_num_samples", "load_samples", "sample_vectors")


def frame() -> pl.DataFrame:
    return pl.DataFrame({"id": ["a", "b", "c", "d"], "plan": ["x", "y", "x", "x"], "spend": [1.0, 2.5, 3.0, 4.0]})


def test_the_table_apps_share_one_base() -> None:
    for cls in (TabularGAN, SDVApp):
        assert issubclass(cls, TableApp) and not set(SHARED) & set(vars(cls))
    for cls in (TabularGAN, SDVGaussianCopula):
        assert (cls.kind, cls.default_dataset, cls.output_suffix) == ("tabular", "mimic-admissions", ".csv")
    assert TabularGAN().default_num_samples(80, 20) == 80
    assert SDVGaussianCopula().default_num_samples(10**6, 1) == 20_000


@pytest.mark.parametrize(
    ("app", "option"),
    [
        (TabularGAN(TabularOptions(target="nope")), "--target"),
        (TabularGAN(TabularOptions(column_types={"nope": "categorical"})), "--column-types"),
        (TabularGAN(TabularOptions(primary_key="nope")), "--primary-key"),
        (SDVGaussianCopula(SDVOptions(target="nope")), "--target"),
    ],
)
def test_a_missing_column_is_named_with_its_option(app: TableApp, option: str) -> None:
    with pytest.raises(ConfigError, match=rf"^data: no column 'nope' for {option} \(columns: id, plan, spend\)$"):
        app.fit(frame())


def test_metadata_types_the_columns_and_options_override_it(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    columns = {"id": {"sdtype": "id"}, "plan": {"sdtype": "categorical"}, "spend": {"sdtype": "numerical"}}
    path.write_text(json.dumps({"columns": columns, "primary_key": "id"}))
    sdv = SDVGaussianCopula(SDVOptions(metadata=str(path)))
    overrides, key = sdv.column_typing(frame())
    kinds = {"id": "id", "plan": "categorical", "spend": "continuous"}
    assert key == "id" and overrides == {c: {"kind": k} for c, k in kinds.items()}
    tab = TabularGAN(TabularOptions(metadata=str(path), column_types={"spend": "categorical"}, primary_key="plan"))
    overrides, key = tab.column_typing(frame())
    assert key == "plan" and overrides["spend"] == "categorical" and overrides["id"] == {"kind": "id"}
    assert TabularGAN().column_typing(frame()) == (None, None)
