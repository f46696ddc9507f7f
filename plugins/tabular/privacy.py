"""``tabular`` under ``--dp-epsilon``: every path from the rows to the bundle, closed (docs/privacy.md).

- options that read rows outside DP-SGD or break per-row clipping are replaced (and said so) or
  refused: PacGAN packs → ``pac`` 1; WGAN-GP's double backward → the non-saturating BCE loss;
  log-frequency conditions → frequency (real rows bring their own categories); per-class
  calibration → from noisy class-split histograms, pooled below ε = 1; the downstream model and
  GMM modes → refused;
- the transformer and the sampler's frequencies: noisy histograms (``ganapps.tabular.private``),
  half the budget (``PREPROCESSING_SHARE``, chosen on validation rows: bench/RESULTS.md), composed
  with DP-SGD in RDP (``core/accounting.py``);
- the critic step: the engine's Poisson batch, each real row conditioned on its own category of a
  column drawn independently of the data; the expected batch of generated rows; one critic call;
  the mean loss over all rows; plain SGD, not Adam (``DP_SGD_LR``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core.accounting import gaussian_noise_for
from ganapps.core.errors import ConfigError
from ganapps.core.meanings import MetricMeaning
from ganapps.core.privacy import default_delta
from ganapps.plugins.tabular.calibration import GRID, MIN_CLASS_ROWS, ClassTarget
from ganapps.plugins.tabular.options import TabularOptions
from ganapps.tabular.private import (
    PublicColumn,
    fit_private,
    histogram_quantiles,
    histograms,
    private_specs,
    read_public_metadata,
)
from ganapps.tabular.transformer import TabularTransformer

if TYPE_CHECKING:
    from ganapps.plugins.tabular.app import TabularGAN

log = logging.getLogger("ganapps.tabular")

#: share of ε spent on the transformer's noisy histograms (the rest: DP-SGD): chosen on validation
#: rows of six tables (bench/dp_tabular_select.py, two seeds at ε = 3): 0.05 / 0.15 / 0.3 / 0.5 / 0.7
#: gave mean utility 1.12 (one seed) / 1.373 / 1.399 / 1.454 / 1.454; 0.5 also beat 0.15 at ε = 1
#: (1.279 vs 1.191, one seed). The calibration fits the marginals, and per class the class-conditional
#: marginals, to these counts, so sharper counts buy more than a less noisy critic.
PREPROCESSING_SHARE = 0.5
#: the critic's learning rate under ``--dp-optimizer sgd`` (the default): chosen on validation rows of six
#: tables at ε = 3 over 2 seeds (bench/dp_tabular_select.py): Adam (lr 1e-3) 1.454 mean utility, SGD lr
#: 0.1 / 0.3 1.459 / 1.474 (lr 1: 1.461, one seed); at ε = 1 and 10 (one seed) SGD gained +0.109 and
#: +0.076 (the test rows: bench/RESULTS.md, stop 30). Adam divides each coordinate's
#: step by the RMS of its noisy gradients, so where DP-SGD's noise outweighs the signal the step is ±lr
#: whatever σ is; SGD's noise step is lr·σC/B, and the signal keeps its relative sizes
DP_SGD_LR = 0.3
#: share of δ spent on category discovery: a design choice, not validated
SELECTION_DELTA_SHARE = 0.1
#: a target class gets calibration maps of its own under DP when its noisy count is at least this
#: many count-noise standard deviations (and ``MIN_CLASS_ROWS``): below, its histograms are mostly noise
CLASS_NOISE_FACTOR = 10.0
#: per-class calibration under DP only from this ε up (validation rows of six tables, bench/RESULTS.md):
#: with class bins of equal width it gained +0.032 utility at ε = 3 (two seeds) and lost 0.090 at ε = 1
#: (one seed), so it started at 3 (stop 28); with ``CLASS_BINS`` of equal mass it gains at ε = 1 too
#: (+0.047, two seeds: 1.397 vs 1.350 pooled; stop 31). Below 1 it is not measured, so pooled
CLASS_SPLIT_MIN_EPSILON = 1.0


#: under DP the critic is 64 64 wide from this many training rows, 128 128 below, unless
#: --dp-discriminator-dim is given: validation rows at ε = 3, two seeds each (bench/dp_tabular_select.py,
#: bench/RESULTS.md stops 34-35): 64 64 against 128 128 scored −0.026 mean utility at 2,400 fit rows (six
#: tables), −0.002 at 3,200 (six), +0.008 at 4,000 (five, four seeds) and −0.004 at 10,000 (two), at a
#: third to two fifths of the time; by stop 28's rule (the fastest within 0.01 of the best) 64 64 from
#: where the loss falls under 0.01, ~2,900 rows by linear interpolation, rounded to 3,000. At ε = 1
#: (3,200 rows, one seed) +0.013. On the test splits (read once): level at 3,000 rows, ML −0.020 at
#: 5,000. The row count is public under our DP (it sets q and δ too: docs/privacy.md)
NARROW_CRITIC_ROWS = 3000


def critic_widths(rows: int) -> list[int]:
    """The DP critic's layer widths when the user gave none, for ``rows`` training rows."""
    return [64, 64] if rows >= NARROW_CRITIC_ROWS else [128, 128]


#: what the keys of the histograms' release mean (``App.dp_meanings``; the report's privacy table)
DP_MEANINGS = {
    "share": MetricMeaning("share of ε given to the noisy histograms (the rest to DP-SGD)"),
    "histograms": MetricMeaning("H: histograms in the one Gaussian release; each row adds 1 to one bin of each"),
    "count_noise_std": MetricMeaning("noise std of every released count (σ·√H)"),
    "public_columns": MetricMeaning("columns whose categories or bounds came from --dp-metadata: no budget spent"),
    "class_split_by": MetricMeaning("the column whose classes split the others' histograms (per-class calibration)"),
}


def private_options(o: TabularOptions, epsilon: float, rows: int) -> list[str]:
    """Refuse, or replace and say so, what would read rows outside DP-SGD, and size the critic by the
    (public) number of training rows; the notes."""
    if o.continuous == "gmm":
        raise ConfigError("option --dp-epsilon: --continuous gmm fits modes on the rows; use --continuous quantile")
    if o.target_loss > 0:
        raise ConfigError(
            "option --dp-epsilon: --target-loss trains a second network on real rows; drop it (set it to 0)"
        )
    notes = []
    if o.pac != 1:
        o.pac = 1
        notes.append("--dp-epsilon: pac 1 (PacGAN packs rows together, so no row would have its own gradient).")
    if o.loss == "wgan-gp":
        o.loss = "bce"
        notes.append(
            "--dp-epsilon: the critic takes the non-saturating BCE loss (opacus cannot clip WGAN-GP's double backward)."
        )
    if o.log_frequency:
        o.log_frequency = False
        notes.append("--dp-epsilon: conditions by frequency, not log-frequency (real rows bring their own categories).")
    if not o.dp_discriminator_dim:
        o.dp_discriminator_dim = critic_widths(rows)
        widths = " ".join(map(str, o.dp_discriminator_dim))
        notes.append(f"--dp-epsilon: a {widths} critic for {rows:,} training rows (--dp-discriminator-dim sets it).")
    if o.calibrate and o.calibrate_by_target and o.target:
        if epsilon < CLASS_SPLIT_MIN_EPSILON:
            o.calibrate_by_target = False
            notes.append(
                f"--dp-epsilon {epsilon:g}: calibration pooled over the table (within target classes from "
                f"ε = {CLASS_SPLIT_MIN_EPSILON:g}: below, the class-split counts are mostly noise)."
            )
        else:
            notes.append(
                "--dp-epsilon: calibration within each target class from noisy class-split histograms "
                "(one more histogram per column in the release; classes below the noise use the pooled maps)."
            )
    for note in notes:
        log.info(note)
    return notes


def private_transformer(app: TabularGAN, train: pl.DataFrame) -> TabularTransformer:
    """The transformer fitted on noisy histograms; sets ``app.dp_preprocessing`` for the accountant."""
    o, cfg = app.options, app.train_config
    where = app.data_name()
    overrides, primary_key = app.column_typing(train)
    public: dict[str, PublicColumn] = {}
    if o.dp_metadata:
        extra, pk, public = read_public_metadata(o.dp_metadata)
        missing = [c for c in extra if c not in train.columns]
        if missing:
            raise ConfigError(f"--dp-metadata {o.dp_metadata}: column {missing[0]!r} is not in the data")
        overrides = {**extra, **(overrides or {})}
        primary_key = primary_key or pk
    specs = private_specs(train, overrides, primary_key, where)
    delta = cfg.dp_delta or default_delta(train.height)
    select = delta * SELECTION_DELTA_SHARE
    sigma = gaussian_noise_for(cfg.dp_epsilon * PREPROCESSING_SHARE, delta - select)
    categorical = {s.name for s in specs if s.kind in ("categorical", "boolean")}
    by = o.target if o.calibrate and o.calibrate_by_target and o.target in categorical else None
    t, app.class_split = fit_private(
        train,
        specs,
        public,
        noise_multiplier=sigma,
        select_delta=select,
        max_categories=o.max_categories,
        seed=cfg.seed,
        where=where,
        by=by,
    )
    h = histograms(specs, public, by)
    app.dp_preprocessing = {
        "noise_multiplier": sigma,
        "selection_delta": select,
        "share": PREPROCESSING_SHARE,
        "histograms": h,
        "count_noise_std": round(sigma * h**0.5, 4),
        "public_columns": sorted(public),
        "class_split_by": by,
    }
    return t


def noisy_class_targets(app: TabularGAN) -> list[ClassTarget | None] | None:
    """Per class of the target, from the class-split noisy histograms (post-processing): the share of
    ones of each encoded column and the quantiles of each value span in the encoded space; None for a
    class whose noisy count is under ``MIN_CLASS_ROWS`` or ``CLASS_NOISE_FACTOR`` count-noise stds."""
    split, by = getattr(app, "class_split", None), (app.dp_preprocessing or {}).get("class_split_by")
    if not split or by is None:
        return None
    t = app.tt
    sizes = t.category_counts(by)
    floor = max(MIN_CLASS_ROWS, CLASS_NOISE_FACTOR * float(app.dp_preprocessing["count_noise_std"]))
    grid = t.tensors["quantile.grid"].double() if t._cont else None
    levels = np.linspace(0.0, 1.0, GRID)
    out: list[ClassTarget | None] = []
    for k in range(len(sizes)):
        if float(sizes[k]) < floor:
            out.append(None)
            continue
        shares, values = torch.zeros(t.width, dtype=torch.float64), []
        for s in t.spans:
            if s.column == by:
                shares[s.start + k] = 1.0
                continue
            counts, edges = split[s.column]
            c = counts[k].clamp_min(0)
            if s.kind == "category":
                shares[s.start : s.stop] = c / c.sum().clamp_min(1e-12)
            elif s.kind == "missing":
                shares[s.start] = c[-1] / c.sum().clamp_min(1e-12)
            elif s.kind == "value" and edges is not None and grid is not None:
                x = histogram_quantiles(counts[k][:-1], edges, levels)
                q = grid[t._cont.index(s.column)].numpy()
                values.append(torch.from_numpy(2 * np.interp(x, q, np.linspace(0, 1, len(q))) - 1))
        out.append((shares, torch.stack(values) if values else torch.zeros(0, GRID, dtype=torch.float64)))
    return out


def noisy_shares(t: TabularTransformer) -> Tensor:
    """Each encoded column's share of ones (category slots, missing flags) from the noisy counts:
    the calibration's targets under DP (post-processing)."""
    shares = torch.zeros(t.width, dtype=torch.float64)
    nulls = t.tensors.get("continuous.nulls")
    for s in t.spans:
        if s.kind == "category":
            c = t.category_counts(s.column).clamp_min(0)
            shares[s.start : s.stop] = c / c.sum().clamp_min(1e-12)
        elif s.kind == "missing" and nulls is not None:
            share = float(nulls[t._cont.index(s.column)]) / max(1, t.n_rows)
            shares[s.start] = min(1.0, max(0.0, share))
    return shares


def own_conditions(app: TabularGAN, real: Tensor) -> Tensor:
    """Conditional vectors of real rows (generator layout): a discrete column drawn for each row
    independently of the data (uniform, or the target's share), set to that row's own category."""
    n, sampler = len(real), app.sampler
    cond = torch.zeros(n, sampler.width, device=real.device)
    if n == 0:
        return cond
    p = app._column_p(training=True)
    column = (
        torch.randint(sampler.n_columns, (n,), device=real.device)
        if p is None
        else torch.multinomial(p.to(real.device), n, replacement=True)
    )
    layout = app.act.inverse.to(real.device)
    for j, s in enumerate(app.tt.discrete_spans):
        rows = torch.nonzero(column == j).flatten()
        if len(rows):
            slot = real[rows][:, layout[s.start : s.stop]].argmax(1)
            cond[rows, int(sampler.offsets[j]) + slot] = 1.0
    return cond


def private_critic_step(app: TabularGAN, real: Tensor) -> dict[str, Any]:
    """The critic's DP-SGD step: the Poisson batch with its own conditions and the expected batch of
    generated rows, in one call; the loss a mean over all of them (docs/privacy.md's contract)."""
    real = real.to(app.device)
    cond_real = own_conditions(app, real) if app.sampler is not None else torch.zeros(len(real), 0, device=app.device)
    cond_fake = app.fake_conditions(app.privacy.expected_batch)
    raw, fake = app._fake(cond_fake)
    app._rows = (raw, fake, cond_fake)
    rows = torch.cat([torch.cat([real, cond_real], 1), torch.cat([fake.detach(), cond_fake], 1)])
    scores = app.nets.discriminator(rows).squeeze(1)
    is_real = torch.cat([torch.ones(len(real), device=app.device), torch.zeros(len(fake), device=app.device)])
    if app.options.loss == "hinge":
        loss = torch.relu(1 - (2 * is_real - 1) * scores).mean()
    else:
        loss = F.binary_cross_entropy_with_logits(scores, is_real)
    return {"loss": loss, "d_fake": torch.sigmoid(scores[len(real) :]).mean()}
