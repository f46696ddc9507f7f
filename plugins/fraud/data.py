"""Transactions ↔ tensors for the fraud app: reading, splitting, features, whitening and back.

- **Reading**: a table (CSV, TSV, Parquet, a polars/pandas frame) with one row per transaction;
  the label column (``--label``, default ``Class`` when present) must hold 0/1 or true/false.
- **Splits**: train/holdout and, inside the training split, fit/validation rows, stratified by
  the label and fixed by the seed; the networks learn from the *normal* fit rows only.
- **Features**: every numeric column except the label, the id and ``--exclude`` ones (column
  typing by ``ganapps.tabular.detect_columns``); constant columns are dropped with a note.
- **Whitening**: heavy-tailed columns (``--log-columns``) through sign(x)·log(1+|x|), then
  z-scores and the inverse Cholesky factor of the normal rows' covariance, so normal variation
  has unit scale in every direction. (The shared tabular transformer's quantile/mode encodings
  clip values to the training range, which would hide exactly the extreme values frauds have.)
- **Back**: whitened rows → raw units (``to_raw``) → a frame with the training columns (``to_frame``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor

from ganapps.core.errors import ConfigError, DataError
from ganapps.core.io import read_table, table_name
from ganapps.plugins.fraud.scoring import feature_matrix
from ganapps.tabular import ColumnSpec, detect_columns

log = logging.getLogger("ganapps")

#: label column used when ``--label`` is not given and the data have it
DEFAULT_LABEL = "Class"
#: added to the standardised covariance's diagonal before whitening, for numerical safety only: it
#: must stay far below the smallest variance of normal rows (on the ULB data 2.3e-5, a direction
#: only frauds move along; 1e-4 there cost the score ~0.002 ROC-AUC)
RIDGE = 1e-6


def read_transactions(
    source: Any, label: str | None, id_col: str | None, where: str | None = None
) -> tuple[pl.DataFrame, str | None]:
    """(the table, its label column or None); checks the label and id columns, casts the label to Int8.
    Messages name the table ``where`` (default: its path, or "data")."""
    where = where or table_name(source)
    frame = read_table(source, where)
    found = label if label is not None else (DEFAULT_LABEL if DEFAULT_LABEL in frame.columns else None)
    for option, col in (("--label", label), ("--id-col", id_col)):
        if col is not None and col not in frame.columns:
            raise DataError(f"{option}: {where} has no column {col!r} (columns: {', '.join(frame.columns)})")
    if found is not None:
        y = frame[found]
        ok = y.dtype == pl.Boolean or (y.dtype.is_integer() and set(y.unique().drop_nulls().to_list()) <= {0, 1})
        if not ok or y.null_count():
            raise DataError(f"{where}: label column {found!r} must hold 0/1 (or true/false) in every row")
        frame = frame.with_columns(pl.col(found).cast(pl.Int8))
    return frame, found


def stratified(frame: pl.DataFrame, label: str | None, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held) row indices: ``share`` of the rows held out, per class when labelled; seeded."""
    rng = np.random.default_rng(seed)
    n = frame.height
    groups = [np.arange(n)] if not label else [np.flatnonzero(frame[label].to_numpy() == v) for v in (0, 1)]
    kept, held = [], []
    for g in groups:
        g = rng.permutation(g)
        k = int(round(len(g) * share)) if share > 0 else 0
        held.append(g[:k])
        kept.append(g[k:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def normal_rows(frame: pl.DataFrame, label: str | None) -> pl.DataFrame:
    """Rows labelled normal, or all rows of an unlabelled table."""
    return frame.filter(pl.col(label) == 0) if label else frame


def complete(frame: pl.DataFrame, features: list[str], what: str) -> pl.DataFrame:
    """Rows whose features are all present and numeric (others are logged and left out)."""
    x, errors = feature_matrix(frame, features)
    bad = np.array([e is not None for e in errors], dtype=bool)
    if bad.any():
        log.warning("fraud: leaving out %d %s row(s) with missing values (first: %s)", bad.sum(), what, errors[bad][0])
        return frame.filter(pl.Series(~bad))
    return frame


def choose_features(
    train: pl.DataFrame, label: str | None, id_col: str | None, exclude: Collection[str]
) -> tuple[list[str], list[ColumnSpec]]:
    """(the numeric feature columns, the column specs): all but the label, id and excluded; text stops the run."""
    unknown = [c for c in exclude if c not in train.columns]
    if unknown:
        raise ConfigError(f"option --exclude: no column {unknown[0]!r} in the data")
    skip = {c for c in (label, id_col, *exclude) if c}
    candidates = [c for c in train.columns if c not in skip]
    if not candidates:
        raise DataError("data: no feature columns left (all are label, id or excluded)")
    specs = detect_columns(train.select(candidates), where="data")
    features, dropped = [], []
    for spec in specs:
        if spec.kind in ("continuous", "boolean") and train[spec.name].dtype.is_numeric():
            features.append(spec.name)
        elif spec.kind == "constant":
            dropped.append(spec.name)
        else:
            raise DataError(
                f"data: column {spec.name!r} is {spec.kind} ({spec.reason}); fraud scores numeric columns: "
                f"--exclude {spec.name}, or name it with --id-col"
            )
    if dropped:
        log.info("fraud: ignoring constant column(s) %s", ", ".join(dropped))
    return features, specs


def fit_whitening(
    normal: pl.DataFrame, features: list[str], log_columns: Collection[str]
) -> tuple[dict[str, Tensor], Tensor]:
    """(the fitted arrays the bundle keeps, the normal rows whitened) from the normal training rows."""
    if len(normal) < max(10, len(features) + 2):
        raise DataError(f"data: only {len(normal)} normal training rows; the scorer needs at least {len(features) + 2}")
    x = torch.from_numpy(normal.select(features).to_numpy().astype(np.float64))
    log_mask = torch.tensor([c in log_columns for c in features])
    x = torch.where(log_mask, torch.sign(x) * torch.log1p(x.abs()), x)
    mean, scale = x.mean(0), x.std(0)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    z = (x - mean) / scale
    cov = torch.cov(z.T) + RIDGE * torch.eye(len(features), dtype=torch.float64)
    chol = torch.linalg.cholesky(cov)  # cov = L Lᵀ; x ↦ x L⁻ᵀ has identity covariance
    whiten = torch.linalg.inv(chol).T
    tensors = {
        "mean": mean.float(),
        "scale": scale.float(),
        "whiten": whiten.float().contiguous(),
        "unwhiten": chol.T.float().contiguous(),
        "log_mask": log_mask.to(torch.uint8),
    }
    return tensors, (((x - mean) / scale) @ whiten).float()


def to_raw(xw: Tensor, t: dict[str, Tensor]) -> Tensor:
    """Whitened rows → raw units: un-whiten, un-standardise, undo the signed log."""
    x = (xw @ t["unwhiten"]) * t["scale"] + t["mean"]
    return torch.where(t["log_mask"].bool(), torch.sign(x) * torch.expm1(x.abs()), x)


def to_frame(x: np.ndarray, features: list[str], integer: Collection[str], label: str | None) -> pl.DataFrame:
    """Raw feature rows → a frame with the training columns (integers rounded; label 0 when labelled)."""
    cols = {}
    for j, c in enumerate(features):
        cols[c] = pl.Series(c, np.round(x[:, j]).astype(np.int64)) if c in integer else x[:, j]
    frame = pl.DataFrame(cols)
    if label:
        frame = frame.with_columns(pl.lit(0, dtype=pl.Int8).alias(label))
    return frame
