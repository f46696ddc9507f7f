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


def _folded(app: Any) -> dict[str, Tensor]:
    """Preprocessing folded into one affine map (signed log aside): x ↦ x·A + c = ((x − mean)/scale)·W."""
    t = app.tensors
    w = t["whiten"].double()
    inv = 1.0 / t["scale"].double()
    dev = app.device
    return {
        "A": (inv[:, None] * w).float().contiguous().to(dev),
        "c": (-(t["mean"].double() * inv) @ w).float().to(dev),
        "log_idx": torch.nonzero(t["log_mask"].bool()).flatten().to(dev),
        "latent_mean": t["latent_mean"].to(dev),
        "latent_prec": t["latent_prec"].to(dev),
    }


def components(app: Any, x: np.ndarray | Tensor, bad: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruction error (whitened space) and latent Mahalanobis distance of each row.

    ``x`` holds raw feature values in the app's feature order; rows with NaN (or flagged in
    ``bad``) give NaN. The networks run on blocks of exactly ``BLOCK`` rows, copied into one
    reused buffer (the last one zero-padded), so a row's result never depends on its neighbours.
    """
    dev = app.device
    f = _folded(app)
    x = torch.as_tensor(x, dtype=torch.float32)
    bad_t = ~torch.isfinite(x).all(1) if bad is None else torch.as_tensor(bad, dtype=torch.bool)
    if bool(bad_t.any()):
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    n_all, d = x.shape
    rec, lat = torch.empty(n_all, dtype=torch.float32), torch.empty(n_all, dtype=torch.float32)
    buf = torch.zeros(BLOCK, d, dtype=torch.float32, device=dev)
    E, D = app.nets.encoder, app.nets.decoder
    log_idx = f["log_idx"]
    with torch.inference_mode():
        for start in range(0, n_all, BLOCK):
            n = min(BLOCK, n_all - start)
            buf[:n].copy_(x[start : start + n])
            if n < BLOCK:  # same block size every call → same kernels → batch-independent results
                buf[n:].zero_()
            if len(log_idx):
                col = buf[:, log_idx]  # a contiguous copy: the same vector kernel for every row
                buf[:, log_idx] = torch.sign(col) * torch.log1p(torch.abs(col))
            xw = torch.addmm(f["c"], buf, f["A"])
            z = E(xw)
            r = D(z) - xw
            rec[start : start + n] = (r * r).sum(1)[:n].cpu()
            dz = z - f["latent_mean"]
            lat[start : start + n] = ((dz @ f["latent_prec"]) * dz).sum(1)[:n].cpu()
    r_np, m_np = rec.double().numpy(), lat.double().numpy()
    b = bad_t.numpy()
    r_np[b] = np.nan
    m_np[b] = np.nan
    return r_np, m_np


def combine(schema: dict[str, Any], rec: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The fraud score from the two components.

    Bundles since the "joint" score: ``rec + w·lat`` — the negative log of the joint Gaussian
    density of (x, z) up to constants and scale (unit-variance residual in the whitened space,
    the normal codes' Gaussian in the latent space), ``w`` = ``latent_weight``. Older bundles:
    mean of the two log-components standardised on normal training rows.
    """
    c = schema["score"]
    if "latent_weight" in c:
        return rec + c["latent_weight"] * lat
    a = (np.log(rec + EPS) - c["rec_mean"]) / c["rec_std"]
    b = (np.log(lat + EPS) - c["lat_mean"]) / c["lat_std"]
    return 0.5 * (a + b)


def score_matrix(app: Any, x: np.ndarray | Tensor, bad: np.ndarray | None = None) -> np.ndarray:
    """Fraud scores of raw feature rows (NaN where a value is missing)."""
    return combine(app.schema, *components(app, x, bad))


def feature_matrix(frame: Any, features: list[str], dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """(C-ordered ``dtype`` matrix of the features, per-row error text or None) from a polars/pandas frame.

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
            ).astype(dtype)
            if len(frame)
            else np.zeros((0, len(features)), dtype=dtype)
        )
    else:
        pl_type = pl.Float32 if np.dtype(dtype) == np.float32 else pl.Float64
        x = frame.select([pl.col(c).cast(pl.Float64, strict=False).cast(pl_type) for c in features])
        x = np.asarray(x.to_numpy(order="c"), dtype=dtype).reshape(frame.height, len(features))
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
    x, errors = feature_matrix(frame, s["features"], np.float32)
    bad = np.not_equal(errors, None)
    score = score_matrix(app, x, bad)
    ok = ~bad
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
    if bad.any():
        error_s = pl.Series("error", errors.tolist(), dtype=pl.String)
    else:
        error_s = pl.repeat(None, n, dtype=pl.String, eager=True).alias("error")
    return pl.DataFrame([ids, score_s, (score_s >= s["threshold"]).alias("fraud"), error_s])
