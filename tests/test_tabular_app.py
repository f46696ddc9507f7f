"""The ``tabular`` app (CTGAN-class) and the SDV bridge apps, end to end on tiny tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from ganapps.cli.main import cli
from ganapps.cli.testing import cli_fails
from ganapps.core import load_bundle, run
from ganapps.core.errors import ConfigError
from ganapps.core.io import read_table
from ganapps.core.testing import unexplained
from ganapps.tabular.sdv_metadata import read_sdv_metadata

TINY = ["--epochs", "3", "--batch-size", "100", "--embedding-dim", "16", "--generator-dim", "32",
        "--discriminator-dim", "32", "--seed", "1"]  # fmt: skip


def shop_table(n: int = 240) -> pl.DataFrame:
    """Mixed types: an id, a category that drives a number, a date, a 0/1 flag, missing values."""
    rng = np.random.default_rng(0)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1])
    spend = np.round(np.where(plan == "pro", 80, np.where(plan == "plus", 40, 10)) + rng.normal(0, 3, n), 2)
    rating = np.where(rng.random(n) < 0.2, np.nan, rng.integers(1, 6, n).astype(float))
    return pl.DataFrame(
        {
            "order_id": [f"O{i:05d}" for i in range(n)],
            "plan": plan.tolist(),
            "spend": spend,
            "rating": pl.Series(rating, nan_to_null=True),
            "day": [f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
            "churn": (rng.random(n) < 0.25).astype(int),
        }
    )


@pytest.fixture
def shop_csv(tmp_path: Path) -> Path:
    path = tmp_path / "shop.csv"
    shop_table().write_csv(path)
    return path


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, ["-q", *args], catch_exceptions=False)


def test_run_generate_condition_and_metadata_round_trip(shop_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = invoke("run", "tabular", "--data", str(shop_csv), "--out", str(out), "--target", "churn", *TINY)
    assert r.exit_code == 0, r.output
    # the small-table diagnostic is a note (severity info), counted apart from warnings
    notes = [d for d in json.loads((out / "metrics.json").read_text())["diagnostics"] if d["severity"] == "info"]
    assert notes and f"{len(notes)} note(s); see the report" in r.output
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    # SDMetrics' score is the mean of its two properties (a score reported from the wrong place would not be)
    q = metrics["quality"]
    assert (
        metrics["quality_score"]
        == q["quality_score"]
        == pytest.approx((q["column_shapes"] + q["column_pair_trends"]) / 2)
    )
    assert metrics["ml_efficacy"]["task"] == "classification" and "privacy" in metrics
    report = (out / "report.html").read_text()
    assert unexplained(report) == [] and "trained on real</span>" in report  # ML efficacy beside train-on-real
    synthetic = read_table(out / "synthetic.csv")
    assert synthetic.columns == shop_table().columns
    assert synthetic["order_id"].n_unique() == synthetic.height  # ids regenerated, not learned
    assert set(synthetic["plan"].unique().to_list()) <= {"basic", "plus", "pro"}
    # SDV metadata written for the synthetic output, read back as the same column kinds
    meta = read_sdv_metadata(out / "synthetic.metadata.json")
    assert meta.primary_key == "order_id" and meta.overrides["plan"]["kind"] == "categorical"

    # conditional generation: every row has the asked category, no rejection sampling
    path = tmp_path / "pro.parquet"
    r = invoke("generate", str(out), "-n", "60", "--condition", "plan=pro", "--out", str(path), "--seed", "3")
    assert r.exit_code == 0, r.output
    pros = read_table(path)
    assert pros.height == 60 and set(pros["plan"].to_list()) == {"pro"}
    assert (tmp_path / "pro.metadata.json").exists()
    again = tmp_path / "pro2.parquet"
    invoke("generate", str(out), "-n", "60", "--condition", "plan=pro", "--out", str(again), "--seed", "3")
    assert read_table(again).equals(pros)  # same seed, same rows

    # the written metadata drives a new run (SDV metadata round trip)
    out2 = tmp_path / "run2"
    r = invoke("run", "tabular", "--data", str(shop_csv), "--out", str(out2), "--metadata",
               str(out / "synthetic.metadata.json"), "--max-steps", "2", *TINY)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads((out2 / "synthetic.metadata.json").read_text()) == json.loads(
        (out / "synthetic.metadata.json").read_text()
    )


@pytest.mark.parametrize(
    ("condition", "message"),
    [("colour=red", "colour"), ("plan=platinum", "platinum"), ("spend=3", "spend")],
)
def test_bad_conditions_name_the_culprit(shop_csv: Path, tmp_path: Path, condition: str, message: str) -> None:
    out = tmp_path / "run"
    run("tabular", str(shop_csv), out=out, progress=False, samples=20,
        train={"epochs": 1, "batch_size": 100}, options={"embedding_dim": 8, "generator_dim": [16], "discriminator_dim": [16]})  # fmt: skip
    r = CliRunner().invoke(cli, ["generate", str(out), "-n", "5", "--condition", condition])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b\n", "no rows"),
        ("a,b\n1,\n2,\n3,\n", "column 'b' is empty"),
        ("a,age\n" + "".join(f"{i},{i + 20}\n" for i in range(30)) + "31,unknown\n", "mixes numbers and strings"),
    ],
)
def test_bad_tables_get_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    r = CliRunner().invoke(cli, ["-q", "run", "tabular", "--data", str(path), "--out", str(tmp_path / "r")])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_unknown_column_in_options_is_named(shop_csv: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["-q", "run", "tabular", "--data", str(shop_csv), "--column-types", "nope=categorical",
                                 "--out", str(tmp_path / "r")])  # fmt: skip
    assert r.exit_code == 2 and "'nope'" in r.output


def test_messages_name_the_data_as_the_user_gave_it(tmp_path: Path) -> None:
    """The label the engine resolved for --data reaches the app: a dataset name, not its installed path."""
    line = cli_fails("run", "tabular", "--data", "mimic-admissions", "--target", "nope", "--out", str(tmp_path / "r"))
    assert line.startswith("Error: mimic-admissions: no column 'nope' for --target"), line
    with pytest.raises(ConfigError, match=r"^<in-memory DataFrame>: no column 'nope'"):
        run("tabular", shop_table(), out=tmp_path / "m", progress=False, options={"target": "nope"})
    assert not (tmp_path / "r").exists()


def test_numeric_table_trains_unconditionally_and_is_deterministic(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    df = pl.DataFrame({"u": x[:, 0], "v": x[:, 0] * 2 + x[:, 1] * 0.1})
    opts = {"embedding_dim": 8, "generator_dim": [16], "discriminator_dim": [16], "pac": 5}
    kw = {"progress": False, "samples": 50, "train": {"epochs": 2, "batch_size": 50, "seed": 7}, "options": opts}
    a = run("tabular", df, out=tmp_path / "a", **kw)
    b = run("tabular", df, out=tmp_path / "b", **kw)
    assert read_table(a.samples_path).equals(read_table(b.samples_path))  # same seed → same output
    app = load_bundle(tmp_path / "a")
    assert app.generate(10).columns == ["u", "v"]
    with pytest.raises(Exception, match="no categorical"):
        app.generate(5, condition={"u": 1})


def test_a_bundle_from_before_the_grouped_layout_generates_the_same_rows(tmp_path: Path) -> None:
    """Bundles without ``generator_layout`` hold a generator that emits the encoded order: one
    whose output layer is the grouped generator's, rows permuted back, must decode identically."""
    import torch

    opts = {"embedding_dim": 8, "generator_dim": [16], "discriminator_dim": [16], "pac": 5}
    kw = {"progress": False, "samples": 10, "train": {"epochs": 2, "batch_size": 60, "seed": 3}, "options": opts}
    run("tabular", shop_table(120), out=tmp_path / "r", **kw)
    app = load_bundle(tmp_path / "r")
    assert app.schema["generator_layout"] == "grouped"
    assert not torch.equal(app.act.order, torch.arange(len(app.act.order)))  # the layouts differ here
    torch.manual_seed(0)
    grouped = app.generate(40)
    last = app.nets.generator.seq[-1]
    with torch.no_grad():  # what an encoded-order generator with the same function holds
        last.weight.copy_(last.weight[app.act.inverse])
        last.bias.copy_(last.bias[app.act.inverse])
    del app.schema["generator_layout"]
    torch.manual_seed(0)
    assert app.generate(40).equals(grouped)


def test_sdv_bridge_runs_and_refuses_to_pretend_it_saved_a_model(shop_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "gc"
    r = invoke("run", "sdv-gaussiancopula", "--data", str(shop_csv), "--out", str(out))
    assert r.exit_code == 0, r.output
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    q = metrics["quality"]
    assert (
        metrics["quality_score"]
        == q["quality_score"]
        == pytest.approx((q["column_shapes"] + q["column_pair_trends"]) / 2)
    )
    assert metrics["sdv_fit_seconds"] >= 0
    assert read_table(out / "synthetic.csv").columns == shop_table().columns
    r = CliRunner().invoke(cli, ["generate", str(out), "-n", "5"])
    assert r.exit_code == 2 and "pickl" in r.output


def test_sdv_ctgan_bridge_trains(shop_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "ct"
    r = invoke("run", "sdv-ctgan", "--data", str(shop_csv), "--out", str(out), "--epochs", "1",
               "--batch-size", "100", "--samples", "50")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert read_table(out / "synthetic.csv").height == 50


def plans(n: int = 300) -> pl.DataFrame:
    """Every pair of columns is related: the plan sets the spend, the spend sets the units."""
    rng = np.random.default_rng(0)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    spend = np.where(plan == "pro", 80, np.where(plan == "plus", 40, 10)) + rng.normal(0, 4, n)
    return pl.DataFrame(
        {"plan": plan.tolist(), "spend": spend, "units": np.round(spend / 10 + rng.normal(0, 0.5, n), 1)}
    )


def test_tabular_keeps_the_pair_trends_that_independent_columns_lose(tmp_path: Path) -> None:
    """SDMetrics' Column Pair Trends of generated rows beat those of the real columns shuffled independently (the
    baseline, drawn here: perfect marginals, no relations); and the spend follows the plan."""
    from ganapps.tabular.evaluate import quality_report

    df = plans()
    opts = {"embedding_dim": 16, "generator_dim": [64, 64], "discriminator_dim": [64, 64], "pac": 5}
    train = {"epochs": 60, "batch_size": 100, "seed": 0, "holdout": 0}
    r = run("tabular", df, options=opts, train=train, out=tmp_path / "r", progress=False, samples=10)
    synthetic = r.app.generate(300)
    rng = np.random.default_rng(1)
    shuffled = df.select(pl.Series(c, rng.permutation(df[c].to_numpy())) for c in df.columns)
    ours = quality_report(df, synthetic, r.app.tt.specs)["column_pair_trends"]
    baseline = quality_report(df, shuffled, r.app.tt.specs)["column_pair_trends"]
    assert ours > baseline + 0.25, (ours, baseline)  # 0.87 vs 0.41 when written
    spend = dict(synthetic.group_by("plan").agg(pl.col("spend").mean()).iter_rows())
    assert spend["basic"] < 25 < spend["plus"] < 60 < spend["pro"], spend  # real means 10, 40, 80
