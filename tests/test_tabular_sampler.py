"""Training-by-sampling: conditional vectors, their statistics, matching rows, determinism."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch

from ganapps.core import ConfigError
from ganapps.plugins.tabular.sampler import ConditionalSampler
from ganapps.tabular import TabularTransformer


def fitted(n: int = 2000) -> tuple[TabularTransformer, pl.DataFrame, torch.Tensor]:
    rng = np.random.default_rng(0)
    df = pl.DataFrame(
        {
            "x": rng.normal(size=n),
            # category frequencies 0.7 / 0.2 / 0.1
            "colour": rng.choice(["red", "green", "blue"], n, p=[0.7, 0.2, 0.1]).tolist(),
            "flag": rng.random(n) < 0.05,
        }
    )
    t = TabularTransformer().fit(df)
    return t, df, t.transform(df)


def test_layout_matches_the_discrete_spans() -> None:
    t, _, x = fitted()
    s = ConditionalSampler.from_encoded(x, t.spans)
    assert s.columns == ["colour", "flag"] and s.n_columns == 2
    assert s.width == sum(sp.width for sp in t.discrete_spans) == 5
    b = s.sample(64, torch.Generator().manual_seed(0))
    assert b.cond.shape == (64, 5) and b.mask.shape == (64, 2) and b.rows is not None
    assert torch.all(b.cond.sum(1) == 1) and torch.all(b.mask.sum(1) == 1)
    # the set slot lies inside the chosen column's block
    slot = b.cond.argmax(1)
    assert torch.equal(slot, s.offsets[b.column] + b.category)


def test_statistics_column_uniform_category_log_frequency_rows_match() -> None:
    t, df, x = fitted()
    s = ConditionalSampler.from_encoded(x, t.spans)
    n = 40_000
    b = s.sample(n, torch.Generator().manual_seed(1))
    share = torch.bincount(b.column, minlength=2).double() / n
    assert torch.allclose(share, torch.tensor([0.5, 0.5], dtype=torch.float64), atol=0.02)
    counts = t.category_counts("colour")
    expected = torch.log1p(counts) / torch.log1p(counts).sum()
    got = torch.bincount(b.category[b.column == 0], minlength=3).double() / int((b.column == 0).sum())
    assert torch.allclose(got, expected, atol=0.02)
    # every drawn row really holds the drawn category
    codes = torch.stack([x[:, sp.start : sp.stop].argmax(1) for sp in t.discrete_spans], 1)
    assert torch.equal(codes[b.rows, b.column], b.category)
    # by frequency (generation): about 70/20/10
    orig = s.sample_original(n, torch.Generator().manual_seed(2))
    got = torch.bincount(orig.category[orig.column == 0], minlength=3).double() / int((orig.column == 0).sum())
    assert torch.allclose(got, counts / counts.sum(), atol=0.02)


def test_seeded_and_from_transformer() -> None:
    t, _, x = fitted()
    s = ConditionalSampler.from_encoded(x, t.spans)
    a = s.sample(256, torch.Generator().manual_seed(5))
    b = s.sample(256, torch.Generator().manual_seed(5))
    c = s.sample(256, torch.Generator().manual_seed(6))
    assert torch.equal(a.cond, b.cond) and torch.equal(a.rows, b.rows) and not torch.equal(a.rows, c.rows)
    gen = ConditionalSampler.from_transformer(t)
    assert gen.width == s.width and torch.equal(gen.counts, s.counts)
    assert gen.sample(8).rows is None
    cond = t.condition("colour", "blue")
    fixed = gen.fixed(4, cond.index, cond.category)
    assert torch.all(fixed.cond.argmax(1) == gen.offsets[cond.index] + cond.category)
    with pytest.raises(ConfigError, match="no slot"):
        gen.fixed(4, 0, 9)


def test_no_discrete_column() -> None:
    df = pl.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0) ** 2})
    t = TabularTransformer().fit(df)
    s = ConditionalSampler.from_encoded(t.transform(df), t.spans)
    assert s.width == 0
    with pytest.raises(ConfigError, match="no categorical or boolean column"):
        s.sample(4)
