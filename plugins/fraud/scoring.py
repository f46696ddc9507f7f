"""The fraud score of a batch of transactions: one pure function for the CLI, the API and Spark.

``score_frame(app, frame)`` takes any batch of rows (polars or pandas; a Spark
``mapInPandas`` batch is a pandas frame) and returns one row per input row: the id (or row
number), the score, the fraud flag at the calibrated threshold and an ``error`` naming the
first missing or unparsable value. It reads only the fitted state of a loaded bundle, so a
Spark executor loads the bundle once and calls it on every batch:

.. code-block:: python

    def score_partitions(batches):
        app = load_bundle("/dbfs/models/fraud")  # once per executor
        for pdf in batches:
            yield score_frame(app, pdf)

    df.mapInPandas(score_partitions, "TransactionID long, score double, fraud boolean, error string")

Scores do not depend on how rows are batched: the networks always run on blocks of exactly
``BLOCK`` rows (the last one zero-padded), so every row goes through the same kernels whether
the file is scored whole, in chunks or by Spark (tested bit for bit).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor

from ganapps.core.errors import DataError
from ganapps.core.tabular.frames import is_pandas

#: rows per network call; fixed so that results are independent of the batching
BLOCK = 4096
#: floor under the two score components before their logarithm
EPS = 1e-8


def signed_log(x: Tensor) -> Tensor:
    """``sign(x)·log(1 + |x|)``: log1p for amounts, defined for any sign."""
    return torch.sign(x) * torch.log1p(torch.abs(x))


def preprocess(x: Tensor, t: dict[str, Tensor]) -> Tensor:
    """Raw feature values → whitened space: signed log of heavy-tailed columns, standardise, whiten."""
    x = torch.where(t["log_mask"].bool(), signed_log(x), x)
    return ((x - t["mean"]) / t["scale"]) @ t["whiten"]


def standardise(x: Tensor, t: dict[str, Tensor]) -> Tensor:
    """Raw feature values → standardised (signed log, then z-scores of the normal training rows)."""
    x = torch.where(t["log_mask"].bool(), signed_log(x), x)
    return (x - t["mean"]) / t["scale"]


def components(app: Any, x: np.ndarray | Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruction error (whitened space) and latent Mahalanobis distance of each row.

    ``x`` holds raw feature values in the app's feature order; rows with NaN give NaN.
    """
    dev = app.device
    t = {k: v.to(dev) for k, v in app.tensors.items() if k != "latent_prec"}
    prec = app.tensors["latent_prec"].to(dev)
    x = torch.as_tensor(x, dtype=torch.float32)
    bad = ~torch.isfinite(x).all(1)
    x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    rec, lat = [], []
    E, D = app.nets.encoder, app.nets.decoder
    with torch.no_grad():
        for start in range(0, len(x), BLOCK):
            xb = x[start : start + BLOCK].to(dev)
            n = len(xb)
            if n < BLOCK:  # same block size every call → same kernels → batch-independent results
                xb = torch.cat([xb, xb.new_zeros(BLOCK - n, xb.shape[1])])
            xw = preprocess(xb, t)
            z = E(xw)
            rec.append(((D(z) - xw) ** 2).sum(1)[:n].cpu())
            dz = z - t["latent_mean"]
            lat.append(((dz @ prec) * dz).sum(1)[:n].cpu())
    r = torch.cat(rec).double().numpy() if rec else np.zeros(0)
    m = torch.cat(lat).double().numpy() if lat else np.zeros(0)
    r[bad.numpy()] = np.nan
    m[bad.numpy()] = np.nan
    return r, m


def combine(schema: dict[str, Any], rec: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The fraud score: mean of the two log-components, each standardised on normal training rows."""
    c = schema["score"]
    a = (np.log(rec + EPS) - c["rec_mean"]) / c["rec_std"]
    b = (np.log(lat + EPS) - c["lat_mean"]) / c["lat_std"]
    return 0.5 * (a + b)


def score_matrix(app: Any, x: np.ndarray | Tensor) -> np.ndarray:
    """Fraud scores of raw feature rows (NaN where a value is missing)."""
    return combine(app.schema, *components(app, x))


def feature_matrix(frame: Any, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(float64 matrix of the features, per-row error text or None) from a polars/pandas frame.

    Missing, unparsable and infinite values become NaN and the row's error names the first
    such column; a column absent from the frame is a DataError naming it.
    """
    columns = list(frame.columns)
    absent = [c for c in features if c not in columns]
    if absent:
        raise DataError(f"data: missing column {absent[0]!r}; the model needs {', '.join(features)}")
    if is_pandas(frame):
        import pandas as pd

        x = (
            np.column_stack(
                [pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan) for c in features]
            )
            if len(frame)
            else np.zeros((0, len(features)))
        )
    else:
        x = frame.select([pl.col(c).cast(pl.Float64, strict=False) for c in features]).to_numpy()
        x = np.asarray(x, dtype=np.float64).reshape(frame.height, len(features))
    bad = ~np.isfinite(x)
    rows = bad.any(1)
    errors = np.full(len(x), None, dtype=object)
    if rows.any():
        messages = np.array([f"column {c!r}: missing or not a number" for c in features], dtype=object)
        errors[rows] = messages[bad[rows].argmax(1)]
    return x, errors


def score_frame(app: Any, frame: Any, row_offset: int = 0) -> Any:
    """Score a batch of transactions; polars in → polars out, pandas in → pandas out.

    Columns: the id column (or ``row``, numbered from ``row_offset``), ``score`` (higher =
    more suspicious), ``fraud`` (score ≥ the calibrated threshold) and ``error`` (null when
    the row was scored). Extra columns of ``frame`` are ignored.
    """
    s = app.schema
    x, errors = feature_matrix(frame, s["features"])
    score = score_matrix(app, x)
    ok = np.isfinite(score)
    id_col = s.get("id_col")
    n = len(x)
    if is_pandas(frame):
        import pandas as pd

        ids = frame[id_col].to_numpy() if id_col else np.arange(row_offset, row_offset + n, dtype=np.int64)
        return pd.DataFrame(
            {
                id_col or "row": ids,
                "score": pd.array(np.where(ok, score, np.nan), dtype="Float64"),
                "fraud": pd.array(
                    [bool(v) if k else None for v, k in zip(score >= s["threshold"], ok, strict=True)], dtype="boolean"
                ),
                "error": pd.array(errors, dtype="string"),
            }
        )
    ids = frame[id_col] if id_col else pl.Series("row", np.arange(row_offset, row_offset + n, dtype=np.int64))
    score_s = pl.Series("score", score, dtype=pl.Float64, nan_to_null=True)
    return pl.DataFrame(
        [
            ids,
            score_s,
            (score_s >= s["threshold"]).alias("fraud"),
            pl.Series("error", errors.tolist(), dtype=pl.String),
        ]
    )
