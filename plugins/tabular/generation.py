"""Rows out of a trained ``tabular`` app: conditions, the generator's raw output, decoding and the
inverse transform, in chunks; and the calibration fitted on generated rows after training.

Conditional generation feeds the wanted category's one-hot (no rejection sampling); without a
condition, categories come at their training frequencies, every row conditioned on the target
when there is one (``TabularGAN._column_p``). Decoding and calibration: ``calibration.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import torch
from torch import Tensor

from ganapps.core.devices import eval_mode
from ganapps.core.errors import ConfigError
from ganapps.plugins.tabular.calibration import CALIBRATION_ROWS, Decoder
from ganapps.plugins.tabular.privacy import noisy_class_targets, noisy_shares
from ganapps.plugins.tabular.sampler import ConditionalSampler

if TYPE_CHECKING:
    from ganapps.plugins.tabular.app import TabularGAN

#: rows decoded at a time when generating (bounds memory for ``generate -n 10000000``)
GENERATE_CHUNK = 50_000


def condition_vectors(
    app: TabularGAN, n: int, condition: Mapping[str, Any] | None
) -> tuple[Tensor, Tensor, dict[str, Any] | None]:
    """(conditional vectors, chosen-column masks, values to pin on decoding)."""
    if app.cond_width == 0:
        if condition:
            raise ConfigError("--condition: this table has no categorical or boolean column to condition on")
        return torch.zeros(n, 0), torch.zeros(n, 0), None
    sampler = ConditionalSampler.from_transformer(app.tt)
    if not condition:  # categories at their real frequencies
        c = sampler.sample_original(n, column_p=app._column_p(training=False))
        return c.cond, c.mask, None
    if len(condition) > 1:
        raise ConfigError(
            f"--condition: the tabular app conditions on one column at a time, got {', '.join(condition)}"
        )
    ((column, value),) = condition.items()
    c = app.tt.condition(column, value)  # ConfigError naming an unknown column or value
    # a level pooled into "<other>" is generated as "<other>" and then pinned to the asked value
    fixed = sampler.fixed(n, c.index, c.category)
    return fixed.cond, fixed.mask, {c.column: c.value}


def raw_output(app: TabularGAN, cond: Tensor) -> Tensor:
    """The generator's raw output for these conditions, in the encoded order (batch norm in inference mode)."""
    G = app.nets.generator
    with eval_mode(G):
        z = torch.randn(len(cond), app.options.embedding_dim, device=app.device)
        raw = G(torch.cat([z, cond.to(app.device)], dim=1))
    grouped = app.schema.get("generator_layout") == "grouped"
    return app.act.to(raw.device).from_layout(raw) if grouped else raw


def class_column(app: TabularGAN) -> int | None:
    """The target's index among the discrete columns when calibrating within its classes."""
    o = app.options
    names = [s.column for s in app.tt.discrete_spans]
    return names.index(o.target) if o.calibrate_by_target and o.target in names else None


def calibrate(app: TabularGAN, train: pl.DataFrame) -> Decoder:
    """The decoder, its calibration fitted on ``CALIBRATION_ROWS`` generated rows (unless ``--no-calibrate``)."""
    decoder = Decoder(app.tt.spans)
    if not app.options.calibrate:
        return decoder
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(app.train_config.seed)
        cond, mask, _ = condition_vectors(app, CALIBRATION_ROWS, None)
        raw = raw_output(app, cond)
    values = app.tt.options.continuous == "quantile"
    if app.dp:  # the noisy histograms' shares, not the rows: post-processing (privacy.py)
        targets = noisy_class_targets(app)
        by = class_column(app) if targets is not None else None
        decoder.fit(raw.cpu(), cond, mask, None, values, by, shares=noisy_shares(app.tt), class_targets=targets)
        return decoder
    real = getattr(app, "x", None)
    if real is None:
        real = app.tt.transform(train, seed=app.train_config.seed)
    decoder.fit(raw.cpu(), cond, mask, real.cpu(), values, class_column(app))
    return decoder


def generate(app: TabularGAN, n: int, condition: Mapping[str, Any] | None) -> Any:
    """``n`` rows (polars, or pandas for a pandas training frame), ``GENERATE_CHUNK`` at a time."""
    if n < 1:
        raise ConfigError("-n must be at least 1")
    parts = []
    for start in range(0, n, GENERATE_CHUNK):
        m = min(GENERATE_CHUNK, n - start)
        cond, mask, fixed = condition_vectors(app, m, condition)
        raw = raw_output(app, cond)
        x = app.decoder(raw, cond.to(app.device), mask.to(app.device))
        seed = int(torch.randint(2**31, (1,)))  # draws inside "<other>", from the seeded torch RNG
        parts.append(app.tt.inverse_transform(x.cpu(), fixed=fixed, id_start=start, seed=seed))
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], pl.DataFrame):
        return pl.concat(parts)
    import pandas as pd

    return pd.concat(parts, ignore_index=True)


def metadata_path(samples_path: Path) -> Path:
    """``synth.parquet`` → ``synth.metadata.json`` (``synth.csv.gz`` → ``synth.metadata.json``)."""
    return samples_path.with_name(samples_path.name.split(".")[0] + ".metadata.json")
