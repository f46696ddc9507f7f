"""fints: the volatility ramp inside generated blocks — the metric, and the autoregressive generator
that makes every day of a block (and of chained blocks) the same way."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from ganapps.cli.testing import cli_ok as invoke
from ganapps.core import load_bundle
from ganapps.plugins.fints import metrics as M
from ganapps.plugins.fints.model import ARTCNGenerator, TCNGenerator


def test_block_vol_ramp_metric() -> None:
    rng = np.random.default_rng(0)
    flat = rng.standard_normal((4000, 24, 2))
    assert abs(M.block_vol_ramp(flat, 24) - 1) < 0.05
    ramped = flat * np.linspace(0.8, 1.2, 24)[None, :, None]  # spread rises through the block
    expected = np.linspace(0.8, 1.2, 24)[-6:].mean() / np.linspace(0.8, 1.2, 24)[:6].mean()
    assert abs(M.block_vol_ramp(ramped, 24) - expected) < 0.05
    assert M.block_profile(ramped, 24).shape == (24,)
    # chained blocks: a saw-tooth along 5 blocks of 24 days (plus a partial block, ignored)
    paths = rng.standard_normal((500, 130, 1)) * np.tile(np.linspace(0.8, 1.2, 24), 6)[None, :130, None]
    assert abs(M.block_vol_ramp(paths, 24) - expected) < 0.05
    assert abs(M.block_vol_ramp(rng.standard_normal((500, 130, 1)), 24) - 1) < 0.05
    assert M.block_vol_ramp(rng.standard_normal((50, 3, 1)), 3, edge=6) > 0  # edge capped at horizon // 2
    with pytest.raises(ValueError, match="no block"):
        M.block_profile(flat[:, :10], 24)


def test_autoregressive_generator_has_no_block_position() -> None:
    torch.manual_seed(0)
    w, k, depth = 16, 6, 3  # receptive field 1 + 2·(1 + 2 + 4) = 15 days ≤ the window
    g = ARTCNGenerator(2, 3, 4, 16, depth=depth)
    past, cond, z = torch.randn(8, w, 2), torch.randn(8, 3), torch.randn(8, w + 2 * k, 4)
    with torch.no_grad():
        one = g(past, cond, z)  # 2k days in one block
        first = g(past, cond, z[:, : w + k])
        hist = torch.cat([past, first], 1)[:, -w:]  # chained: the next block's window is the path so far
        second = g(hist, cond, z[:, k:])
        # the day-by-day roll-out is the causal TCN read in parallel over the generated path
        s = g.summaries(torch.cat([past, one[:, :-1]], 1), cond, z)
        par = torch.stack([g.scale(g.head(s[:, :, w + j], z[:, w + j])[:, None], cond)[:, 0] for j in range(2 * k)], 1)
    assert torch.allclose(one, torch.cat([first, second], 1), atol=1e-5)  # blocks chain seamlessly
    assert torch.allclose(one, par, atol=1e-5)
    # causal: changing day j's noise leaves the days before it alone and moves day j
    z2 = z.clone()
    z2[:, w + 3] += 1.0
    with torch.no_grad():
        moved = g(past, cond, z2)
    assert torch.equal(moved[:, :3], one[:, :3]) and not torch.allclose(moved[:, 3], one[:, 3])
    # the block generator by contrast sees zero-filled future days: chained blocks differ from one long one
    b = TCNGenerator(2, 3, 4, 16, depth=depth)
    with torch.no_grad():
        whole = b(past, cond, z)
        part = b(past, cond, z[:, : w + k])
        nxt = b(torch.cat([past, part], 1)[:, -w:], cond, z[:, k:])
    assert torch.allclose(whole[:, :k], part, atol=1e-5) and not torch.allclose(whole[:, k:], nxt, atol=1e-3)


def test_autoregressive_arch_end_to_end(in_tmp: Path) -> None:
    rng = np.random.default_rng(0)
    r = rng.standard_normal((300, 2)) * np.where((np.arange(300) // 40) % 2 == 0, 0.005, 0.03)[:, None]
    pl.DataFrame(100 * np.exp(np.cumsum(r, 0)), schema=["AAA", "BBB"]).write_csv("p.csv")
    invoke(
        "run", "fints", "--data", "p.csv", "--arch", "tcn-ar", "--epochs", "2", "--window", "12", "--horizon", "6",
        "--hidden", "8", "--disc-steps", "5", "--samples", "20", "--out", "run",
    )  # fmt: skip
    m = json.loads((in_tmp / "run" / "metrics.json").read_text())["metrics"]
    assert np.isfinite(m["ganapps"]["w1_returns"]) and set(m["block_vol_ramp"]) == {"ganapps", "real", "scenarios"}
    app = load_bundle(in_tmp / "run" / "bundle")
    torch.manual_seed(1)
    a = app.generate(4, horizon=15)
    torch.manual_seed(1)
    assert a.equals(app.generate(4, horizon=15)) and a.height == 60


def test_critic_reads_the_block_ends_and_old_bundles_still_load() -> None:
    from ganapps.plugins.fints.app import FinTS, FinTSOptions

    app = FinTS(FinTSOptions())
    app.schema = {"tickers": ["A"], "cond_names": []}  # a bundle saved before the option
    assert app.build()["discriminator"].head.in_features == 2 * 64
    app.schema["critic_ends"] = True  # what fit() records with --critic-ends
    critic = app.build()["discriminator"]
    assert critic.head.in_features == 4 * 64
    past, cond = torch.randn(3, 48, 1), torch.zeros(3, 3)
    assert critic(past, torch.randn(3, 24, 1), cond).shape == (3, 1)
