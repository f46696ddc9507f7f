"""The fraud score of a batch of transactions, in numpy: one code path for the CLI, the API and Spark.

``Scorer`` holds the fitted state of a fraud bundle as numpy arrays — preprocessing folded into
one affine map, the encoder and decoder layers, the normal codes' mean and precision, the
threshold — and scores any batch of rows (polars or pandas; a Spark ``mapInPandas`` batch is a
pandas frame) without importing torch: ``ganapps score`` starts in a fraction of a second (the
plugin registers it through the ``register_scorers`` hook) and the trained app scores through
the same object, so training-time calibration, the API and the CLI give the same numbers.

.. code-block:: python

    def score_partitions(batches):
        scorer = Scorer.load("/dbfs/models/fraud")  # once per executor
        for pdf in batches:
            yield scorer.score(pdf)

    df.mapInPandas(score_partitions, "TransactionID long, score double, fraud boolean, error string")

Scores do not depend on how rows are batched: the networks always run on blocks of exactly
``BLOCK`` rows (the last one zero-padded), so every row goes through the same kernels whether
the file is scored whole, in chunks or by Spark (tested bit for bit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ganapps.core.errors import BundleError, DataError
from ganapps.core.frames import is_pandas

#: rows per network call; fixed so that results are independent of the batching
BLOCK = 4096
#: floor under the two score components before their logarithm (bundles before the joint score)
EPS = 1e-8
#: the slope of the networks' LeakyReLU (``core.nn.mlp(..., activation="leaky_relu")``)
LEAKY_SLOPE = 0.2

Layers = list[tuple[np.ndarray, np.ndarray]]


def signed_log(x: np.ndarray) -> np.ndarray:
    """``sign(x)·log(1 + |x|)``: log1p for amounts, defined for any sign."""
    return np.sign(x) * np.log1p(np.abs(x))


def mlp_layers(state: Mapping[str, Any], where: str) -> Layers:
    """(Wᵀ, b) per linear layer of a ``core.nn.mlp`` state dict (keys ``0.weight``, ``0.bias``, ``2.weight``...)."""
    idx = sorted({int(k.split(".")[0]) for k in state})
    if (
        not idx
        or idx != list(range(0, 2 * len(idx), 2))
        or set(state) != {f"{i}.{p}" for i in idx for p in ("weight", "bias")}
    ):
        raise BundleError(f"{where}: not the fraud app's network layout (keys {sorted(state)[:6]})")
    layers = [
        (
            np.ascontiguousarray(np.asarray(state[f"{i}.weight"], np.float32).T),
            np.asarray(state[f"{i}.bias"], np.float32),
        )
        for i in idx
    ]
    for (w0, _), (w1, _) in zip(layers, layers[1:], strict=False):
        if w0.shape[1] != w1.shape[0]:
            raise BundleError(f"{where}: layer sizes do not chain ({w0.shape} then {w1.shape})")
    return layers


def mlp_forward(layers: Layers, h: np.ndarray) -> np.ndarray:
    """Linear → LeakyReLU(0.2) → … → Linear, in float32 (the networks of ``core.nn.mlp``)."""
    for i, (wt, b) in enumerate(layers):
        h = h @ wt
        h += b
        if i < len(layers) - 1:
            np.maximum(h, LEAKY_SLOPE * h, out=h)
    return h


@dataclass
class Scorer:
    """A fraud bundle's scoring state as numpy arrays; ``score(frame)`` → id/row, score, fraud, error."""

    schema: dict[str, Any]
    A: np.ndarray  #: (d, d): standardise then whiten, folded: x ↦ x·A + c
    c: np.ndarray
    log_idx: np.ndarray  #: feature positions taken through signed_log first
    mean: np.ndarray  #: signed-log-space mean and scale of normal training rows (the baselines' space)
    scale: np.ndarray
    encoder: Layers
    decoder: Layers
    latent_mean: np.ndarray | None = None  #: None until the app has calibrated
    latent_prec: np.ndarray | None = None

    device = "cpu"
    #: boolean result columns `ganapps score` totals
    score_counts = ("fraud",)

    @classmethod
    def from_arrays(
        cls,
        schema: dict[str, Any],
        tensors: Mapping[str, Any],
        nets: Mapping[str, Mapping[str, Any]],
        where: str = "fraud",
    ) -> Scorer:
        """From the fitted arrays (``app.tensors``) and the encoder/decoder state dicts, as numpy."""
        t = {k: np.asarray(v) for k, v in tensors.items()}
        for key in ("mean", "scale", "whiten", "log_mask"):
            if key not in t:
                raise BundleError(f"{where}: no fitted array {key!r}")
        for net in ("encoder", "decoder"):
            if net not in nets:
                raise BundleError(f"{where}: no weights for network {net!r}")
        w = t["whiten"].astype(np.float64)
        inv = 1.0 / t["scale"].astype(np.float64)
        lat = "latent_mean" in t and "latent_prec" in t
        return cls(
            schema=schema,
            A=np.ascontiguousarray((inv[:, None] * w).astype(np.float32)),
            c=(-(t["mean"].astype(np.float64) * inv) @ w).astype(np.float32),
            log_idx=np.flatnonzero(t["log_mask"].astype(bool)),
            mean=t["mean"].astype(np.float32),
            scale=t["scale"].astype(np.float32),
            encoder=mlp_layers(nets["encoder"], f"{where}: encoder"),
            decoder=mlp_layers(nets["decoder"], f"{where}: decoder"),
            latent_mean=t["latent_mean"].astype(np.float32) if lat else None,
            latent_prec=np.ascontiguousarray(t["latent_prec"].astype(np.float32)) if lat else None,
        )

    @classmethod
    def load(cls, path: str | Path) -> Scorer:
        """From a fraud bundle (or run) directory: JSON and safetensors read with numpy, no torch."""
        from ganapps.core.bundle import bundle_config, read_arrays, resolve_bundle_path
        from ganapps.core.io import read_json

        p = resolve_bundle_path(path)
        app = bundle_config(p).get("app")
        if app != "fraud":
            raise BundleError(f"{p} is a bundle of app {app!r}, not fraud")
        nets, tensors = read_arrays(p)
        schema = read_json(p / "schema.json")
        if not isinstance(schema, dict) or not isinstance(schema.get("features"), list):
            raise BundleError(f"{p}/schema.json: no feature list; not a fraud bundle")
        if "threshold" not in schema or "score" not in schema:
            raise BundleError(f"{p}: the fraud model was not calibrated (no threshold)")
        return cls.from_arrays(schema, tensors, nets, where=f"bundle {p}")

    # ------------------------------------------------------------ the score
    def standardise(self, x: np.ndarray) -> np.ndarray:
        """Raw feature values → signed log, then z-scores of the normal training rows (float32)."""
        x = np.array(x, dtype=np.float32)
        if self.log_idx.size:
            x[:, self.log_idx] = signed_log(x[:, self.log_idx])
        return (x - self.mean) / self.scale

    def whiten(self, x: np.ndarray) -> np.ndarray:
        """Raw feature values → the whitened space the networks work in (float32)."""
        x = np.array(x, dtype=np.float32)
        if self.log_idx.size:
            x[:, self.log_idx] = signed_log(x[:, self.log_idx])
        xw = x @ self.A
        xw += self.c
        return xw

    def encode(self, xw: np.ndarray) -> np.ndarray:
        """Whitened rows → codes z."""
        return mlp_forward(self.encoder, np.asarray(xw, np.float32))

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Codes → reconstructed whitened rows."""
        return mlp_forward(self.decoder, np.asarray(z, np.float32))

    def components(self, x: np.ndarray, bad: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Reconstruction error (whitened space) and latent Mahalanobis distance of each row.

        ``x`` holds raw feature values in the app's feature order; rows with NaN (or flagged in
        ``bad``) give NaN. The networks run on blocks of exactly ``BLOCK`` rows, copied into one
        reused buffer (the last one zero-padded), computed in float64 and rounded to float32, so a
        row's result does not depend on its neighbours or its place in the block.
        """
        if self.latent_mean is None or self.latent_prec is None:
            raise BundleError("fraud: the scorer is not calibrated yet (no latent mean/precision)")
        A, c, encoder, decoder, lat_mean, lat_prec = self._float64()
        x = np.asarray(x, dtype=np.float32)
        bad = ~np.isfinite(x).all(1) if bad is None else np.asarray(bad, dtype=bool)
        n_all, d = x.shape
        rec = np.empty(n_all, dtype=np.float32)
        lat = np.empty(n_all, dtype=np.float32)
        buf = np.zeros((BLOCK, d), dtype=np.float32)
        any_bad = bool(bad.any())
        for start in range(0, n_all, BLOCK):
            n = min(BLOCK, n_all - start)
            buf[:n] = x[start : start + n]
            if n < BLOCK:  # same block size every call → same kernels → batch-independent results
                buf[n:] = 0.0
            if any_bad:
                np.nan_to_num(buf, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            if self.log_idx.size:
                buf[:, self.log_idx] = signed_log(buf[:, self.log_idx])
            # float64 inside the block, float32 out: BLAS kernels may round a row differently by its
            # position in the block (seen here as 1-ulp float32 differences between chunkings); in
            # float64 those differences are ~1e-16 and vanish when the result is rounded to float32
            xw = buf.astype(np.float64) @ A
            xw += c
            z = mlp_forward(encoder, xw)
            r = mlp_forward(decoder, z)
            r -= xw
            rec[start : start + n] = np.einsum("ij,ij->i", r, r)[:n]
            z -= lat_mean
            lat[start : start + n] = np.einsum("ij,ij->i", z @ lat_prec, z)[:n]
        r64, m64 = rec.astype(np.float64), lat.astype(np.float64)
        r64[bad] = np.nan
        m64[bad] = np.nan
        return r64, m64

    def _float64(self) -> tuple[Any, ...]:
        """The scoring arrays in float64 (made once): whitening, networks, latent Gaussian."""
        if getattr(self, "_f64", None) is None:
            layers = [
                [(w.astype(np.float64), b.astype(np.float64)) for w, b in net] for net in (self.encoder, self.decoder)
            ]
            self._f64 = (
                self.A.astype(np.float64),
                self.c.astype(np.float64),
                *layers,
                np.asarray(self.latent_mean, np.float64),
                np.ascontiguousarray(np.asarray(self.latent_prec, np.float64)),
            )
        return self._f64

    def score_matrix(self, x: np.ndarray, bad: np.ndarray | None = None) -> np.ndarray:
        """Fraud scores of raw feature rows (NaN where a value is missing)."""
        return combine(self.schema, *self.components(x, bad))

    def score(self, frame: Any, row_offset: int = 0) -> Any:
        """Score a batch of transactions (see ``score_frame``)."""
        return score_frame(self, frame, row_offset)

    def score_columns(self) -> dict[str, str]:
        """The columns ``ganapps score`` reads from a file, with their types."""
        cols = {c: "Float64" for c in self.schema["features"]}
        if self.schema.get("id_col"):
            cols = {self.schema["id_col"]: "", **cols}  # "": its type as inferred from the file
        return cols


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


def score_frame(scorer: Scorer, frame: Any, row_offset: int = 0) -> Any:
    """Score a batch of transactions; polars in → polars out, pandas in → pandas out.

    Columns: the id column (or ``row``, numbered from ``row_offset``), ``score`` (higher =
    more suspicious), ``fraud`` (score ≥ the calibrated threshold) and ``error`` (null when
    the row was scored). Extra columns of ``frame`` are ignored.
    """
    s = scorer.schema
    x, errors = feature_matrix(frame, s["features"], np.float32)
    bad = np.not_equal(errors, None)
    score = scorer.score_matrix(x, bad)
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
