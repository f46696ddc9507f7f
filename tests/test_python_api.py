"""The Python API: ``generate`` returns the samples (as SDV's ``sample()``), ``generate_file`` writes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ganapps.core import ConfigError, generate, generate_file, run

TINY = {"embedding_dim": 16, "generator_dim": [32], "discriminator_dim": [32], "pac": 5}


def test_generate_returns_the_data_and_generate_file_writes_the_same(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"plan": rng.choice(["a", "b", "c"], 150), "spend": rng.gamma(2.0, 3.0, 150)})
    r = run("tabular", frame, out=tmp_path / "run", progress=False, samples=30,
            train={"epochs": 1, "batch_size": 50, "seed": 0}, options=TINY)  # fmt: skip
    samples = generate(r.run_dir.path, 25, seed=4, device="cpu")
    assert isinstance(samples, pl.DataFrame) and samples.shape == (25, 2)
    assert set(samples["plan"].unique()) <= {"a", "b", "c"}
    assert generate(r.run_dir.path, 25, seed=4, device="cpu").equals(samples)  # same seed, same rows
    path = generate_file(r.run_dir.path, 25, tmp_path / "s.csv", seed=4, device="cpu")
    written = pl.read_csv(path)
    assert written["plan"].to_list() == samples["plan"].to_list()
    assert np.allclose(written["spend"].to_numpy(), samples["spend"].to_numpy(), rtol=1e-6)
    only_a = generate(r.run_dir.path, 10, condition={"plan": "a"}, device="cpu")
    assert only_a["plan"].to_list() == ["a"] * 10
    with pytest.raises(ConfigError, match="-n must be at least 1"):
        generate(r.run_dir.path, 0)
