"""``--vol-scaling``: the units the generator works in, per window.

- ``none``: every window in the training span's units, ``(r − μ) / sd`` (mean and sd per asset over
  the training returns). The model sees today's volatility only through the window's shape.
- ``ewma``: every window, past and future alike, divided by its own volatility at the origin, the
  RiskMetrics EWMA σ (λ = 0.94) of the window's returns, ``σ² = Σ_k λ^k r²_{t−k} / Σ_k λ^k`` over
  the ``--window`` days up to the origin ``t``; generated blocks are multiplied back by it. This is
  the "filtered" trick of filtered historical simulation: the generator learns the shape of the
  next days *relative to* today's volatility, and its scenarios scale with it. The scale is a
  function of the window alone, so training, the backtest and ``generate --data`` compute it the
  same way, from nothing after the origin. A floor of ``FLOOR`` × the training sd keeps a flat
  window (carried prices) from dividing by zero.

With ``ewma`` the volatility regimes are those of the window-scaled returns: the terciles of the
next block's volatility relative to the origin's (calmer, as now, stormier).
"""

from __future__ import annotations

from typing import Any

import numpy as np

VOL_SCALINGS = ("none", "ewma")
LAMBDA = 0.94  # RiskMetrics (1996), daily
FLOOR = 0.05  # the smallest scale, as a share of the training sd


def ewma_sigma(r: np.ndarray, lam: float = LAMBDA) -> np.ndarray:
    """EWMA volatility (…, A) of windows ``r`` (…, W, A) at their last day: weights λ^k on r²_{t−k}, normalised."""
    w = lam ** np.arange(r.shape[-2])[::-1]
    return np.sqrt((r**2 * w[:, None]).sum(-2) / w.sum())


def window_scale(past: np.ndarray, schema: dict[str, Any]) -> np.ndarray | None:
    """Each raw window's scale (…, A) under ``ewma``; None under ``none`` (the training sd applies)."""
    if schema.get("vol_scaling", "none") != "ewma":
        return None
    return np.maximum(ewma_sigma(past), FLOOR * np.asarray(schema["sd"]))


def to_model(r: np.ndarray, scale: np.ndarray | None, schema: dict[str, Any]) -> np.ndarray:
    """Raw log returns (…, T, A) → the model's units: ``r / scale`` per window, or ``(r − μ) / sd``."""
    if scale is None:
        return (r - np.asarray(schema["mu"])) / np.asarray(schema["sd"])
    return r / scale[..., None, :]


def from_model(x: np.ndarray, scale: np.ndarray | None, schema: dict[str, Any]) -> np.ndarray:
    """The model's units → raw log returns (the inverse of :func:`to_model`)."""
    if scale is None:
        return x * np.asarray(schema["sd"]) + np.asarray(schema["mu"])
    return x * scale[..., None, :]


def regime_returns(r: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    """The returns whose realised volatility sets a block's regime: raw, or relative to the window's scale."""
    return r if scale is None else r / scale[..., None, :]
