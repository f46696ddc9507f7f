"""The ``ecommerce`` app (eCommerceGAN / ec²GAN): order lines in, invoices out.

CPU, tiny tables, few epochs. Covers the shipped Online Retail sample through the CLI, a table
with other column names and text dates (flags and auto-detection), conditional generation by
product and by category, date windows, fresh customer ids, bundle round trip, determinism, the
order metrics and the bad-input errors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from click.testing import CliRunner

from ganapps.cli.main import cli
from ganapps.core import generate_file, load_bundle, run
from ganapps.core.io import read_table
from ganapps.core.testing import unexplained
from ganapps.plugins.ecommerce import metrics as M
from ganapps.plugins.ecommerce import orders as O

FAST = ["--epochs", "2", "--hidden", "32", "--nz", "8", "--product-dim", "8", "--customer-dim", "4"]


def shop(n_invoices: int = 120, seed: int = 0) -> pl.DataFrame:
    """Orders of a toy shop: 3 product families bought together, 30 customers, some guests and returns."""
    rng = np.random.default_rng(seed)
    families = {f: [f"{f}{i:02d}" for i in range(8)] for f in ("A", "B", "C")}
    price = {p: round(1.0 + 0.5 * i, 2) for f in families.values() for i, p in enumerate(f)}
    rows = []
    for k in range(n_invoices):
        fam = "ABC"[k % 3]
        cust = None if k % 10 == 0 else f"U{rng.integers(30):03d}"
        day = 1 + int(rng.integers(27))
        when = f"{day:02d}/0{1 + k % 6}/2021 {9 + int(rng.integers(8)):02d}:{int(rng.integers(60)):02d}"
        for p in rng.choice(families[fam], int(rng.integers(2, 6)), replace=False):
            rows.append((f"O{k:04d}", str(p), int(rng.choice([1, 2, 6, 12])), price[p], when, cust))
        if k % 15 == 0:  # a return
            rows.append((f"O{k:04d}", families[fam][0], -1, price[families[fam][0]], when, cust))
    return pl.DataFrame(
        rows, schema=["order_id", "article_code", "qty", "price", "created_at", "user_id"], orient="row"
    )


def test_sample_cli_end_to_end(in_tmp: Path) -> None:
    """`ganapps run ecommerce` on the shipped sample, then generate by product/category/window."""
    runner = CliRunner()
    res = runner.invoke(cli, ["-q", "run", "ecommerce", *FAST, "--samples", "400", "--out", "r"])
    assert res.exit_code == 0, res.output
    m = json.loads((in_tmp / "r" / "metrics.json").read_text())
    mm = m["metrics"]
    assert mm["catalogue_share"] == 1.0
    for key in ("quality", "baskets", "copurchase", "conditional", "privacy"):
        assert key in mm, (key, m["notes"])
    assert mm["cleaning"]["returns_cancellations"] > 0 and mm["cleaning"]["guest_lines"] > 0
    report = (in_tmp / "r" / "report.html").read_text()
    for fig in ("basket size", "time profiles", "co-purchase", "price per product", "orders per customer"):
        assert fig in report
    assert unexplained(report) == []
    real = O.canonical(read_table(Path(__file__).parents[1] / "datasets/ecommerce/online_retail_sample.csv.gz"),
                       {r: c for r, c in zip(("invoice", "product", "description", "quantity", "price", "date", "customer", "country", "category"),
                                             ("InvoiceNo", "StockCode", "Description", "Quantity", "UnitPrice", "InvoiceDate", "CustomerID", "Country", None), strict=True)},
                       None, "sample")  # fmt: skip
    catalogue = set(real["prod"].to_list())

    res = runner.invoke(
        cli,
        ["generate", "r", "-n", "200", "--condition", "product=85123A", "--start", "2011-12-01", "--end", "2011-12-31",
         "--out", "heart.csv"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    heart = read_table(in_tmp / "heart.csv", schema_overrides={"InvoiceNo": pl.String, "StockCode": pl.String})
    assert heart.columns == [
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
    ]
    assert heart.height == 200
    assert set(heart["StockCode"].to_list()) <= catalogue
    per_invoice = heart.group_by("InvoiceNo").agg((pl.col("StockCode") == "85123A").any().alias("has"), pl.len())
    assert per_invoice["has"].all()  # every generated invoice is an order of the product
    assert (per_invoice["len"] > 1).any()  # multi-line baskets
    days = heart["InvoiceDate"].str.slice(0, 10)
    assert days.min() >= "2011-12-01" and days.max() <= "2011-12-31"
    assert (heart["Quantity"] > 0).all() and (heart["UnitPrice"] > 0).all()

    res = runner.invoke(
        cli,
        [
            "generate",
            "r",
            "-n",
            "150",
            "--condition",
            "category=lighting & candles",
            "--synthetic-customers",
            "--out",
            "light.csv",
        ],
    )
    assert res.exit_code == 0, res.output
    light = read_table(
        in_tmp / "light.csv", schema_overrides={"InvoiceNo": pl.String, "StockCode": pl.String, "CustomerID": pl.String}
    )
    app = load_bundle(in_tmp / "r")
    cats = dict(zip(app.schema["products"], app.schema["product_category"], strict=True))
    k = app.schema["categories"].index("lighting & candles")
    firsts = light.group_by("InvoiceNo", maintain_order=True).first()
    assert all(cats[p] == k for p in firsts["StockCode"].to_list())  # the seed line is in the category
    real_customers = set(real["cust"].drop_nulls().to_list())
    assert not set(light["CustomerID"].drop_nulls().to_list()) & real_customers

    res = runner.invoke(cli, ["generate", "r", "-n", "5", "--condition", "product=NOPE"])
    assert res.exit_code == 2 and "NOPE" in res.output and len(res.output.strip().splitlines()) == 1


def test_other_columns_python_api_roundtrip_and_determinism(tmp_path: Path) -> None:
    """Different names (auto-detected), text dates day-first, a flag for an unusual column, no description."""
    df = shop().rename({"article_code": "thing"})
    opts = {"product_col": "thing", "hidden": 32, "nz": 8, "product_dim": 6, "customer_dim": 4}
    result = run(
        "ecommerce",
        df,
        options=opts,
        train={"epochs": 3, "batch_size": 64, "seed": 1},
        out=tmp_path / "r",
        progress=False,
        samples=150,
    )
    app = result.app
    assert app.schema["columns"]["roles"]["invoice"] == "order_id"
    assert (
        app.schema["columns"]["roles"]["date"] == "created_at"
        and app.schema["columns"]["date_format"] == "%d/%m/%Y %H:%M"
    )
    assert app.schema["category_source"] == "product-code prefixes"
    assert app.schema["cleaning"]["returns_cancellations"] > 0
    synth = read_table(tmp_path / "r" / "synthetic.csv")
    assert synth.columns == df.columns and synth.height == 150
    assert set(synth["thing"].to_list()) <= set(df["thing"].to_list())
    # every price is one observed for that product (snapped by design: what is learned is the mix of them,
    # test_quantity_mix_follows_the_product)
    pairs = set(zip(df["thing"].to_list(), df["price"].to_list(), strict=True))
    assert all(p in pairs for p in zip(synth["thing"].to_list(), synth["price"].to_list(), strict=True))
    loaded = load_bundle(tmp_path / "r")
    a = generate_file(tmp_path / "r", 60, tmp_path / "a.csv", condition={"product": "B03"}, seed=4)
    b = generate_file(tmp_path / "r", 60, tmp_path / "b.csv", condition={"product": "B03"}, seed=4)
    assert read_table(a).equals(read_table(b))
    frame = loaded.generate(40, condition={"thing": "A01"})
    assert frame.schema == df.schema and "A01" in frame["thing"].to_list()


def bulk_shop(n_invoices: int = 300, seed: int = 0) -> pl.DataFrame:
    """Two families of 8 products, never bought together; each product sells by 1 or by 12, family A mostly by 1
    (85%), family B mostly by 12 (85%)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_invoices):
        fam = "AB"[k % 2]
        when = f"2021-0{1 + k % 6}-{1 + int(rng.integers(27)):02d} {9 + int(rng.integers(8)):02d}:{int(rng.integers(60)):02d}"
        cust = f"U{rng.integers(40):03d}"
        for p in rng.choice(8, int(rng.integers(2, 5)), replace=False):
            by_one = rng.random() < (0.85 if fam == "A" else 0.15)
            rows.append((f"O{k:04d}", f"{fam}{p:02d}", 1 if by_one else 12, 2.0 + 0.25 * p, when, cust))
    return pl.DataFrame(rows, schema=["order_id", "sku", "qty", "price", "created_at", "user_id"], orient="row")


def by_one_gap(lines: pl.DataFrame) -> float:
    """Share of family A's lines sold by 1 minus family B's."""
    share = dict(lines.group_by(pl.col("sku").str.slice(0, 1)).agg((pl.col("qty") == 1).mean()).iter_rows())
    return share["A"] - share["B"]


def test_quantity_mix_follows_the_product(tmp_path: Path) -> None:
    """Quantities are snapped to the product's observed ones, so only their mix is learned (ec²GAN: conditioned
    on the line's product): the generated gap between the families against quantities shuffled across lines
    (the baseline, drawn here: the same values, independent of the product)."""
    df = bulk_shop()
    opts = {"hidden": 128, "nz": 8, "product_dim": 6, "customer_dim": 4}
    train = {"epochs": 120, "batch_size": 64, "seed": 1, "holdout": 0}
    r = run("ecommerce", df, options=opts, train=train, out=tmp_path / "r", progress=False, samples=50)
    torch.manual_seed(0)
    synthetic = r.app.generate(1000)
    shuffled = df.with_columns(pl.Series("qty", np.random.default_rng(1).permutation(df["qty"].to_numpy())))
    ours, baseline, real = by_one_gap(synthetic), by_one_gap(shuffled), by_one_gap(df)
    assert ours > baseline + 0.4, (ours, baseline, real)  # 0.81 vs 0.01 (real 0.70) when written


def test_metrics_known_values() -> None:
    assert M.ks(np.array([1, 2, 3.0]), np.array([1, 2, 3.0])) == 0.0
    assert M.ks(np.array([1, 1.0]), np.array([5, 5.0])) == 1.0
    lines = O.clean(
        O.canonical(shop(), O.find_columns(shop(), {}, "t"), None, "t"), O.find_columns(shop(), {}, "t"), "t"
    ).lines
    stats, r, s, products = M.copurchase(lines, lines, top=12)
    assert math.isclose(stats["copurchase_corr"], 1.0) and stats["copurchase_mae"] < 1e-12
    # shuffle products across invoices: co-purchase structure is lost
    rng = np.random.default_rng(0)
    shuffled = lines.with_columns(pl.Series("prod", rng.permutation(lines["prod"].to_numpy())))
    assert M.copurchase(lines, shuffled, top=12)[0]["copurchase_corr"] < 0.5
    b = M.basket_metrics(lines, lines)
    assert b["basket_size_ks"] == 0 and b["hour_profile_tv"] == 0
    p = M.price_fidelity(lines, lines)
    assert p["observed_price_share"] == 1.0 and p["median_abs_log_price_ratio"] == 0.0
    assert O.derive_category("WHITE HANGING HEART T-LIGHT HOLDER", "85123A") == "lighting & candles"
    assert O.derive_category(None, "85123A") == "code 85xx"


def test_basket_size_calibration_matches_training_sizes() -> None:
    """The quantile map sends generated log sizes onto the training sizes, line-weighted, in order."""
    from ganapps.plugins.ecommerce.invoices import calibrated_size

    # training: 4 invoices of 1 line, 2 of 3 lines, 1 of 10 lines → line-weighted shares 4/20, 6/20, 10/20
    size, lines = torch.tensor([1.0, 3.0, 10.0], dtype=torch.float64), torch.tensor([4.0, 6.0, 10.0])
    ref = torch.linspace(-2, 2, 1001)  # the generator's unconditional log sizes (shifted, any scale)
    size_map = (ref, size, (lines.cumsum(0) / lines.sum()).double())
    raw = ref[torch.randperm(len(ref), generator=torch.Generator().manual_seed(0))]
    out = calibrated_size(raw, size_map)
    shares = torch.bincount(out, minlength=11)[[1, 3, 10]].double() / len(out)
    assert torch.allclose(shares, torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64), atol=2e-3)
    order = raw.argsort()
    assert (out[order].diff() >= 0).all()  # monotone: larger generated sizes stay larger
    # line-weighted → invoice-weighted by keeping a size-k seed with probability 1/k: 4:2:1 invoices
    inv = shares / torch.tensor([1.0, 3.0, 10.0], dtype=torch.float64)
    assert torch.allclose(inv / inv.sum(), torch.tensor([4 / 7, 2 / 7, 1 / 7], dtype=torch.float64), atol=2e-3)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d.drop("article_code"), "no product column"),
        (lambda d: d.with_columns(pl.col("qty").abs() * -1), "no positive quantities"),
        (
            lambda d: d.with_columns(
                pl.when(pl.col("qty") == 2).then(pl.lit("soon")).otherwise(pl.col("created_at")).alias("created_at")
            ),
            "not dates",
        ),
    ],
)
def test_bad_inputs_one_line_errors(in_tmp: Path, change, needle: str) -> None:
    path = in_tmp / "orders.csv"
    change(shop(40)).write_csv(path)
    res = CliRunner().invoke(cli, ["-q", "run", "ecommerce", "--data", str(path), *FAST])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert len(line.splitlines()) == 1 and needle in line and "orders.csv" in line
