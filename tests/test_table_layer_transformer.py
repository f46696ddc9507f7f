"""The reversible transformer: round trips, spans, capping, JSON state, activations, conditions."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
import torch

from ganapps.core import ConfigError, DataError
from ganapps.plugins.tabular.activation import SpanActivation
from ganapps.tabular import Span, TabularTransformer, detect_columns
from ganapps.tabular.normalize import fit_gmm_on_quantiles


def table(n: int = 200, seed: int = 0) -> pl.DataFrame:
    """Every column kind, with missing values in each kind that can have them."""
    rng = np.random.default_rng(seed)
    nulls = rng.random(n) < 0.1
    price = np.round(rng.lognormal(2, 1, n), 2)
    return pl.DataFrame(
        {
            "row_id": np.arange(n) + 1000,
            "age": rng.integers(18, 90, n).astype(np.int32),
            "price": pl.Series(np.where(nulls, np.nan, price)).fill_nan(None),
            "ratio": rng.normal(size=n).astype(np.float32),
            "country": pl.Series(
                [None if k else c for k, c in zip(nulls, rng.choice(["FR", "DE", "UK"], n), strict=False)]
            ),
            "tier": pl.Series(rng.choice(["gold", "silver"], n)).cast(pl.Categorical),
            "member": pl.Series([None if k else bool(b) for k, b in zip(nulls, rng.random(n) > 0.4, strict=False)]),
            "fraud": rng.integers(0, 2, n),
            "seen": [f"2011-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00" for i in range(n)],
            "born": pl.Series([dt.date(1950, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 20000, n)]),
            "stamp": pl.Series(
                [
                    None if k else dt.datetime(2020, 1, 1) + dt.timedelta(seconds=int(s))
                    for k, s in zip(nulls, rng.integers(0, 10**7, n), strict=False)
                ]
            ).dt.replace_time_zone("UTC"),
            "shop": ["main"] * n,
        }
    )


def assert_same(a: pl.DataFrame, b: pl.DataFrame, approx: tuple[str, ...] = ()) -> None:
    assert a.columns == b.columns and a.schema == b.schema
    for c in a.columns:
        if c in approx:
            x, y = a[c].cast(pl.Float64).to_numpy(), b[c].cast(pl.Float64).to_numpy()
            np.testing.assert_allclose(y, x, rtol=1e-4, atol=1e-5, equal_nan=True)
        else:
            assert a[c].to_list() == b[c].to_list(), c


@pytest.mark.parametrize("continuous", ["gmm", "quantile"])
def test_round_trip_of_every_column_kind(continuous: str) -> None:
    df = table()
    t = TabularTransformer(continuous=continuous, boolean="sigmoid" if continuous == "quantile" else "onehot")
    x = t.fit_transform(df)
    assert x.dtype == torch.float32 and x.shape == (len(df), t.width)
    back = t.inverse_transform(x)
    assert_same(df, back, approx=("ratio",))
    # ids are regenerated (unique, counting from the training minimum), not learned
    assert back["row_id"].to_list() == list(range(1000, 1000 + len(df)))
    assert t.inverse_transform(x[:5], id_start=5)["row_id"].to_list() == list(range(1005, 1010))


def test_pandas_in_pandas_out() -> None:
    df = table(120).drop("stamp")
    pdf = pd.DataFrame({c: df[c].to_numpy() for c in df.columns if c not in ("tier", "member", "price", "country")})
    pdf["price"] = df["price"].to_numpy()
    pdf["country"] = pd.Series(df["country"].to_list(), dtype=object)
    pdf["tier"] = pd.Series(df["tier"].cast(pl.String).to_list(), dtype="category")
    pdf["member"] = pd.array(df["member"].to_list(), dtype="boolean")
    t = TabularTransformer()
    back = t.inverse_transform(t.fit_transform(pdf))
    assert isinstance(back, pd.DataFrame) and list(back.columns) == list(pdf.columns)
    assert [str(d) for d in back.dtypes] == [str(d) for d in pdf.dtypes]
    pd.testing.assert_frame_equal(
        back.drop(columns=["row_id"]), pdf.drop(columns=["row_id"]), check_categorical=False, rtol=1e-4
    )


def test_spans_tile_the_matrix_and_match_the_data() -> None:
    df = table()
    t = TabularTransformer().fit(df)
    x = t.transform(df)
    pos = 0
    for span in t.spans:
        assert span.start == pos and span.width >= 1
        pos = span.stop
        part = x[:, span.start : span.stop]
        assert (
            span.activation
            == {"value": "tanh", "mode": "softmax", "category": "softmax", "missing": "sigmoid"}[span.kind]
        )
        if span.activation == "softmax":
            sums = part.sum(1)
            # one-hot rows (an all-zero row only for a category value never seen in training)
            assert torch.all((sums == 1) | (sums == 0)) and torch.all((part == 0) | (part == 1))
        elif span.activation == "tanh":
            assert part.abs().max() <= 1
    assert pos == t.width == x.shape[1]
    assert {s.column for s in t.spans} == set(df.columns) - {"row_id", "shop"}
    assert [s.column for s in t.discrete_spans] == ["country", "tier", "member", "fraud"]
    assert t.categories("country")[-1] is None  # the missing slot comes last
    missing = {s.column for s in t.spans if s.kind == "missing"}
    assert missing == {"price", "stamp"}
    assert torch.equal(
        x[:, next(s.start for s in t.spans if s.column == "price" and s.kind == "missing")].bool(),
        torch.from_numpy(df["price"].is_null().to_numpy()),
    )


def test_high_cardinality_is_capped_and_decodes_to_real_categories() -> None:
    n = 20_000
    rng = np.random.default_rng(1)
    codes = (rng.zipf(1.3, n) % 100_000).astype(str)  # thousands of levels, a long tail
    df = pl.DataFrame({"product": [f"P{c}" for c in codes], "qty": rng.integers(1, 9, n)})
    levels = df["product"].n_unique()
    assert levels > 1_000
    t = TabularTransformer(max_categories=50)
    x = t.fit_transform(df)
    span = next(s for s in t.spans if s.column == "product")
    assert span.width == 50 and t.categories("product")[-1] == "<other>"
    assert x.shape[1] < 70
    back = t.inverse_transform(x, seed=3)
    assert set(back["product"].to_list()) <= set(df["product"].to_list())
    # rows decoded from the "other" slot draw real rare levels by their frequency
    kept = set(t.categories("product")[:-1])
    assert (
        back.filter(pl.col("product").is_in(kept))["product"].to_list()
        == df.filter(pl.col("product").is_in(kept))["product"].to_list()
    )
    rare_real = df.filter(~pl.col("product").is_in(kept))["product"].value_counts().sort("count", descending=True)
    rare_back = back.filter(~pl.col("product").is_in(kept))["product"].value_counts()
    top = rare_real["product"][0]
    share_real = rare_real["count"][0] / rare_real["count"].sum()
    share_back = rare_back.filter(pl.col("product") == top)["count"][0] / rare_back["count"].sum()
    assert share_back == pytest.approx(share_real, rel=0.25)
    # per-column cap override
    t2 = TabularTransformer(max_categories=50).fit(
        df, detect_columns(df, {"product": {"kind": "categorical", "max_categories": 10}})
    )
    assert next(s for s in t2.spans if s.column == "product").width == 10


def test_json_state_round_trip_and_app_storage() -> None:
    df = table()
    t = TabularTransformer().fit(df)
    schema, tensors = t.state_dict()
    restored = TabularTransformer.from_state(json.loads(json.dumps(schema)), {k: v.clone() for k, v in tensors.items()})
    assert restored.spans == t.spans and restored.specs == t.specs
    x = t.transform(df, seed=7)
    assert torch.equal(restored.transform(df, seed=7), x)
    assert_same(restored.inverse_transform(x, seed=2), t.inverse_transform(x, seed=2))
    app_schema: dict = {"other": 1}
    app_tensors: dict = {}
    t.save_to(app_schema, app_tensors)
    assert all(k.startswith("transformer.") for k in app_tensors)
    again = TabularTransformer.load_from(json.loads(json.dumps(app_schema)), app_tensors)
    assert torch.equal(again.transform(df, seed=7), x)
    with pytest.raises(DataError, match="not a ganapps tabular transformer state"):
        TabularTransformer.from_state({"format": "x"}, {})


def test_seeded_and_deterministic() -> None:
    df = table()
    t = TabularTransformer().fit(df)
    assert torch.equal(t.transform(df, seed=1), t.transform(df, seed=1))
    assert not torch.equal(t.transform(df, seed=1), t.transform(df, seed=2))  # modes are drawn from the posterior
    argmax = TabularTransformer(mode_assignment="argmax").fit(df)
    assert torch.equal(argmax.transform(df, seed=1), argmax.transform(df, seed=2))


def test_batched_gmm_finds_the_modes() -> None:
    g = torch.Generator().manual_seed(0)
    bimodal = torch.cat([torch.randn(5000, generator=g) * 0.3 - 2, torch.randn(5000, generator=g) * 0.3 + 2])
    spikes = torch.randint(0, 3, (10_000,), generator=g).double() * 5
    x = torch.stack([bimodal.double(), spikes], 1)
    x = (x - x.mean(0)) / x.std(0)
    w, m, s = fit_gmm_on_quantiles(x, 10)
    spike_modes = m[1][w[1] > 0]
    assert len(spike_modes) == 3 and torch.allclose(spike_modes.sort().values, torch.unique(x[:, 1]).float(), atol=1e-4)
    left = w[0][m[0] < 0].sum()
    assert left == pytest.approx(0.5, abs=0.02) and (w[0] > 0).sum() >= 2


def test_unseen_values_and_missing_columns() -> None:
    df = table()
    t = TabularTransformer().fit(df)
    other = df.with_columns(pl.lit("Narnia").alias("country"))
    x = t.transform(other)
    span = next(s for s in t.spans if s.column == "country")
    assert float(x[:, span.start : span.stop].sum()) == 0  # no "other" bucket: an all-zero one-hot
    with pytest.raises(DataError, match="column 'age' is missing"):
        t.transform(df.drop("age"))
    with pytest.raises(DataError, match="expected a matrix with"):
        t.inverse_transform(torch.zeros(3, t.width + 1))


def test_conditions_and_fixed_values() -> None:
    df = table()
    t = TabularTransformer(max_categories=2).fit(df)
    c = t.condition("tier", "gold")
    assert (c.column, c.value, c.other) == ("tier", "gold", False) and t.categories("tier")[c.category] == "gold"
    assert t.condition("fraud", "1").value == 1 and t.condition("member", "true").value is True
    rare = t.condition("country", "UK" if t.categories("country")[0] != "UK" else "FR")
    assert rare.other and t.categories("country")[rare.category] == "<other>"
    with pytest.raises(ConfigError, match="unknown column 'planet'"):
        t.condition("planet", "x")
    with pytest.raises(ConfigError, match="column 'age' is continuous"):
        t.condition("age", "3")
    with pytest.raises(ConfigError, match="value 'Narnia' never occurs in column 'tier'"):
        t.condition("tier", "Narnia")
    x = t.transform(df)
    back = t.inverse_transform(x, fixed={"country": rare.value})
    assert set(back["country"].to_list()) == {rare.value}


@pytest.mark.parametrize("continuous", ["quantile", "gmm"])  # gmm: mode spans share groups with categories
def test_span_activation_and_conditional_loss(continuous: str) -> None:
    df = table().with_columns(pl.Series("grade", [f"g{i % 12}" for i in range(200)]))  # a wide (12) span too
    t = TabularTransformer(continuous=continuous).fit(df)
    assert {s.width for s in t.discrete_spans} == {2, 3, 4, 12}
    if continuous == "gmm":
        assert any(s.kind == "mode" for s in t.spans)
    act = SpanActivation(t.spans)
    g = torch.Generator().manual_seed(0)
    raw = torch.randn(16, t.width, generator=g, requires_grad=True)  # encoded order
    out = act.encoded(raw)
    assert torch.equal(act.from_layout(act.to_layout(raw)), raw)
    assert not torch.equal(act.order, torch.arange(t.width))  # a real permutation on this table
    for s in t.spans:
        part = out[:, s.start : s.stop]
        if s.activation == "softmax":
            assert torch.allclose(part.sum(1), torch.ones(16), atol=1e-5)
        elif s.activation == "tanh":
            assert torch.allclose(part, torch.tanh(raw[:, s.start : s.stop]))
        else:
            assert torch.allclose(part, torch.sigmoid(raw[:, s.start : s.stop]))
    hard = act.encoded(raw, tau=0.2, hard=True)
    for s in t.spans:
        if s.activation == "softmax":
            assert torch.all(hard[:, s.start : s.stop].sum(1) == 1)
    hard.sum().backward()
    assert raw.grad is not None and raw.grad.abs().sum() > 0
    # the batched conditional loss equals CTGAN's per-span loop
    from ganapps.plugins.tabular.sampler import ConditionalSampler

    sampler = ConditionalSampler.from_encoded(t.transform(df), t.spans)
    batch = sampler.sample(16, torch.Generator().manual_seed(1))
    expected = torch.zeros(())
    offset = 0
    for j, s in enumerate(t.discrete_spans):
        target = batch.cond[:, offset : offset + s.width].argmax(1)
        ce = torch.nn.functional.cross_entropy(raw[:, s.start : s.stop], target, reduction="none")
        expected = expected + (ce * batch.mask[:, j]).sum()
        offset += s.width
    assert torch.allclose(act.cond_loss(act.to_layout(raw), batch.cond), expected / 16, atol=1e-5)
    assert act.cond_width == sampler.width
    with pytest.raises(ValueError, match="tile"):
        SpanActivation([Span("a", "value", 0, 1, "tanh"), Span("b", "value", 2, 1, "tanh")])


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="continuous must be"):
        TabularTransformer(continuous="kde")
    with pytest.raises(ConfigError, match="max_categories"):
        TabularTransformer(max_categories=1)
    with pytest.raises(DataError, match="no column to learn"):
        TabularTransformer().fit(pl.DataFrame({"id": list(range(30)), "k": [1] * 30}))
