"""Scores for scenario forecasts checked against realised paths (issue #19): VaR/ES backtests and proper scores.

Pure numpy/scipy. Conventions: VaR and ES are *return* quantities at tail probability ``alpha = 1 - level``
(``level`` 0.95 or 0.99): ``var`` is the ``alpha``-quantile of the return distribution and ``es`` the mean
return at or below it, so for a loss both are negative and ``es <= var``. (``metrics.var_es`` reports the
same two numbers as positive losses.)

Per origin, :func:`score_origin` turns scenarios ``(n, horizon, A)`` and the realised ``(horizon, A)``
into the horizon return's VaR/ES, hits, pinball and FZ0 losses, CRPS and (A > 1) the energy score;
:func:`summarise` adds the Kupiec and Christoffersen tests over the sequence of origins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

LEVELS = (0.95, 0.99)


def _xlogy(x: float, y: float) -> float:
    """x·log(y) with 0·log(0) = 0."""
    return 0.0 if x == 0 else float(x * np.log(y))


def var_es(samples: np.ndarray, level: float) -> tuple[float, float]:
    """VaR and ES (return units, negative for losses) at tail probability ``1 - level`` of a 1-D sample."""
    x = np.asarray(samples, dtype=float).ravel()
    v = float(np.quantile(x, 1 - level))
    tail = x[x <= v]
    return v, float(tail.mean()) if len(tail) else v


def kupiec_pvalue(hits: Sequence[bool] | np.ndarray, alpha: float) -> float:
    """Kupiec (1995) proportion-of-failures test: p-value of H0 "P(hit) = alpha", LR ~ chi2(1)."""
    from scipy.stats import chi2

    h = np.asarray(hits, dtype=bool)
    t, x = len(h), int(h.sum())
    if t == 0:
        return float("nan")
    phat = x / t
    lr = -2 * (_xlogy(t - x, 1 - alpha) + _xlogy(x, alpha)) + 2 * (_xlogy(t - x, 1 - phat) + _xlogy(x, phat))
    return float(chi2.sf(max(lr, 0.0), 1))


def christoffersen_pvalue(hits: Sequence[bool] | np.ndarray) -> float:
    """Christoffersen (1998) independence test: p-value of H0 "a hit does not depend on yesterday's", LR ~ chi2(1).

    Counts the day-to-day transitions n00, n01, n10, n11 of the hit sequence and compares the Markov
    likelihood (π01, π11) with the i.i.d. one (π). NaN for fewer than two days; 1 when no hit occurs.
    """
    from scipy.stats import chi2

    h = np.asarray(hits, dtype=int)
    if len(h) < 2:
        return float("nan")
    prev, cur = h[:-1], h[1:]
    n00 = int(((prev == 0) & (cur == 0)).sum())
    n01 = int(((prev == 0) & (cur == 1)).sum())
    n10 = int(((prev == 1) & (cur == 0)).sum())
    n11 = int(((prev == 1) & (cur == 1)).sum())
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    null = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    alt = _xlogy(n00, 1 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1 - pi11) + _xlogy(n11, pi11)
    return float(chi2.sf(max(-2 * (null - alt), 0.0), 1))


def pinball(y: float | np.ndarray, q: float | np.ndarray, alpha: float) -> np.ndarray | float:
    """Quantile (pinball) loss of quantile forecast ``q`` at probability ``alpha`` for realisation ``y``."""
    y, q = np.asarray(y, dtype=float), np.asarray(q, dtype=float)
    out = (alpha - (y < q)) * (y - q)
    return float(out) if out.ndim == 0 else out


def fz0(y: float | np.ndarray, var: float | np.ndarray, es: float | np.ndarray, alpha: float) -> np.ndarray | float:
    """FZ0 joint VaR/ES loss (Patton, Ziegel & Chen 2019, eq. 6), defined for ``es < 0``, ``es <= var``:

    L = -1/(alpha·es) · 1[y <= var] · (var - y) + var/es + log(-es) - 1.
    Lower is better; its expectation is minimised by the true (VaR, ES) at ``alpha``.
    """
    y, v, e = (np.asarray(a, dtype=float) for a in (y, var, es))
    if np.any(e >= 0):
        raise ValueError("FZ0 needs ES < 0 (a loss)")
    out = -1.0 / (alpha * e) * (y <= v) * (v - y) + v / e + np.log(-e) - 1.0
    return float(out) if out.ndim == 0 else out


def _mean_abs_pairwise(x: np.ndarray) -> float:
    """E|X - X'| over all n² ordered pairs of a 1-D sample (sorted-sum formula, O(n log n))."""
    x = np.sort(np.asarray(x, dtype=float).ravel())
    n = len(x)
    i = np.arange(1, n + 1)
    return float(2 * ((2 * i - n - 1) * x).sum() / n**2)


def crps(samples: np.ndarray, y: float) -> float:
    """CRPS of the empirical distribution of ``samples`` at ``y``: E|X - y| - ½E|X - X'| (lower is better)."""
    x = np.asarray(samples, dtype=float).ravel()
    return float(np.abs(x - y).mean() - 0.5 * _mean_abs_pairwise(x))


def energy_score(samples: np.ndarray, y: np.ndarray, chunk: int = 512) -> float:
    """Energy score of samples ``(n, d)`` at ``y`` ``(d,)``: E‖X - y‖ - ½E‖X - X'‖ (Gneiting & Raftery 2007).

    The empirical distribution's score (n² pairs, the diagonal's zeros included), as :func:`crps` is for d = 1.
    """
    x = np.asarray(samples, dtype=float)
    x = x.reshape(len(x), -1)
    y = np.asarray(y, dtype=float).ravel()
    first = float(np.linalg.norm(x - y, axis=1).mean())
    total = 0.0
    for s in range(0, len(x), chunk):
        total += float(np.linalg.norm(x[s : s + chunk, None, :] - x[None, :, :], axis=2).sum())
    return first - 0.5 * total / len(x) ** 2


def horizon_returns(paths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-asset horizon log returns ``(..., A)`` and the equal-weight buy-and-hold portfolio's ``(...,)``.

    ``paths`` are log returns ``(..., horizon, A)``; the portfolio holds 1/A of each asset from the origin,
    so its horizon log return is log(mean_a exp(sum_h r)).
    """
    per_asset = np.asarray(paths, dtype=float).sum(axis=-2)
    return per_asset, np.log(np.exp(per_asset).mean(axis=-1))


def score_origin(scenarios: np.ndarray, realised: np.ndarray, levels: Sequence[float] = LEVELS) -> dict[str, float]:
    """Scores of one origin: scenarios ``(n, horizon, A)`` of log returns against the realised ``(horizon, A)``."""
    sim_assets, sim_port = horizon_returns(scenarios)
    real_assets, real_port = horizon_returns(realised)
    y = float(real_port)
    out: dict[str, float] = {"realised": y, "crps": crps(sim_port, y)}
    for level in levels:
        tag, alpha = int(round(level * 100)), 1 - level
        v, e = var_es(sim_port, level)
        out[f"var{tag}"], out[f"es{tag}"] = v, e
        out[f"hit{tag}"] = float(y < v)
        out[f"pinball{tag}"] = float(pinball(y, v, alpha))
        out[f"fz0_{tag}"] = float(fz0(y, v, e, alpha)) if e < 0 else float("nan")
    if sim_assets.shape[-1] > 1:
        out["energy"] = energy_score(sim_assets, real_assets)
    return out


def summarise(per_origin: Sequence[dict[str, float]], levels: Sequence[float] = LEVELS) -> dict[str, Any]:
    """Means of the per-origin scores, hit rates, and the Kupiec / Christoffersen p-values of the hit sequences.

    Origins should be ``horizon`` days apart (non-overlapping) for the two tests' independence assumption.
    """
    out: dict[str, Any] = {"origins": len(per_origin)}
    keys = [k for k in per_origin[0] if not k.startswith(("hit", "var", "es", "realised"))] if per_origin else []
    for k in keys:
        vals = np.array([o[k] for o in per_origin], dtype=float)
        out[k] = float(vals[np.isfinite(vals)].mean()) if np.isfinite(vals).any() else float("nan")
    for level in levels:
        tag = int(round(level * 100))
        hits = np.array([o[f"hit{tag}"] for o in per_origin], dtype=bool)
        out[f"hit_rate{tag}"] = float(hits.mean()) if len(hits) else float("nan")
        out[f"kupiec_p{tag}"] = kupiec_pvalue(hits, 1 - level)
        out[f"christoffersen_p{tag}"] = christoffersen_pvalue(hits)
    return out
