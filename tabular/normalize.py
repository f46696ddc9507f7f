"""Continuous columns, all at once: a batched Gaussian mixture (mode-specific normalisation) and a
quantile scheme, both vectorised over columns in torch.

CTGAN (Xu et al. 2019) fits a Bayesian GMM per column with scikit-learn and represents a value
by the mode it belongs to (a one-hot) and its offset inside that mode (a scalar in [-1, 1]).
Here one EM loop fits every column's mixture together on a row sample: data ``(rows, columns)``,
parameters ``(columns, modes)``. Modes whose weight falls under a threshold are dropped while
fitting, and modes started on the same value (spikes: integer counts, prices) are merged, so
each column keeps only the modes its data need.

The quantile scheme maps each value through the column's empirical CDF to [-1, 1] (ties spread
uniformly over their quantile interval), and back through the inverse CDF: one scalar per
column, exact on repeated values.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: CTGAN's scale: the offset inside a mode is (x - μ) / (4σ), clipped to ±0.99
OFFSET_SCALE = 4.0
OFFSET_CLIP = 0.99


def _chunks(n_cols: int, rows: int, modes: int, budget: int = 1 << 24) -> list[tuple[int, int]]:
    """Column ranges whose (rows × columns × modes) working set stays under ``budget`` elements."""
    step = max(1, budget // max(1, rows * modes))
    return [(a, min(n_cols, a + step)) for a in range(0, n_cols, step)]


def nan_quantiles(x: Tensor, levels: Tensor, interpolate: bool = True) -> Tensor:
    """Per-column quantiles ``(columns, len(levels))`` of ``x`` ``(rows, columns)`` ignoring NaN.

    Linear interpolation between order statistics (NumPy's default) or, with
    ``interpolate=False``, the nearest order statistic (always a value of the data), by one
    sort of each column.
    """
    cols = torch.sort(x.T.contiguous(), dim=1).values  # (C, R), NaN last; contiguous rows sort ~1.6x faster
    return sorted_quantiles(cols, (~torch.isnan(cols)).sum(1), levels, interpolate)


def sorted_quantiles(cols: Tensor, counts: Tensor, levels: Tensor, interpolate: bool = True) -> Tensor:
    """:func:`nan_quantiles` of columns already sorted along dim 1 ``(C, R)`` with ``counts`` values each."""
    counts = counts.clamp_min(1)
    pos = levels[None, :].to(cols.dtype) * (counts[:, None] - 1).to(cols.dtype)  # (C, L)
    lo = pos.floor().long()
    hi = torch.minimum(lo + 1, (counts[:, None] - 1))
    frac = pos - lo.to(cols.dtype)
    if not interpolate:
        frac = (frac >= 0.5).to(cols.dtype)
    return cols.gather(1, lo) * (1 - frac) + cols.gather(1, hi) * frac


def fit_gmm(
    x: Tensor,
    max_modes: int = 10,
    *,
    max_iter: int = 100,
    tol: float = 1e-4,
    weight_threshold: float = 0.005,
    min_std: float = 1e-3,
) -> tuple[Tensor, Tensor, Tensor]:
    """Fit one Gaussian mixture per column of standardised ``x`` ``(rows, columns)`` (NaN = missing).

    Returns ``weights``, ``means``, ``stds``, each ``(columns, max_modes)``; dropped modes have
    weight 0. EM runs in float32 over all columns of a chunk at once.
    """
    x = x.to(torch.float32)
    n_rows, n_cols = x.shape
    weights = torch.zeros(n_cols, max_modes)
    means = torch.zeros(n_cols, max_modes)
    stds = torch.ones(n_cols, max_modes)
    for a, b in _chunks(n_cols, n_rows, max_modes):
        w, m, s = _fit_chunk(x[:, a:b], max_modes, max_iter, tol, weight_threshold, min_std)
        weights[a:b], means[a:b], stds[a:b] = w, m, s
    return weights, means, stds


def _fit_chunk(
    x: Tensor, k: int, max_iter: int, tol: float, weight_threshold: float, min_std: float
) -> tuple[Tensor, Tensor, Tensor]:
    present = ~torch.isnan(x)  # (R, C)
    xf = torch.where(present, x, torch.zeros((), dtype=x.dtype))
    pres = present.to(x.dtype)
    n = pres.sum(0).clamp_min(1.0)  # (C,)
    # start the modes on evenly spaced quantiles; a mode started on the same value as the one
    # before it (a spike in the data) is not used
    levels = (torch.arange(k, dtype=torch.float64) + 0.5) / k
    mu = nan_quantiles(x.double(), levels).to(x.dtype)  # (C, K)
    dup = torch.zeros_like(mu, dtype=torch.bool)
    dup[:, 1:] = (mu[:, 1:] - mu[:, :-1]).abs() <= 1e-6
    active = ~dup
    var = torch.full_like(mu, 1.0 / k**2)
    logw = torch.where(active, torch.zeros_like(mu), torch.full_like(mu, -math.inf))
    logw = logw - torch.logsumexp(logw, dim=1, keepdim=True)
    min_var = min_std**2
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    prev = torch.full((x.shape[1],), -math.inf, dtype=x.dtype)
    for it in range(max_iter):
        # E-step: responsibilities (R, C, K)
        diff = xf[:, :, None] - mu[None]
        logp = logw[None] - 0.5 * torch.log(var)[None] - half_log_2pi - diff.square() / (2 * var[None])
        lse = torch.logsumexp(logp, dim=2, keepdim=True)
        resp = torch.exp(logp - lse) * pres[:, :, None]
        ll = (lse.squeeze(2) * pres).sum(0) / n  # mean log-likelihood per column
        # M-step
        nk = resp.sum(0)  # (C, K)
        w = nk / n[:, None]
        active = active & (w >= weight_threshold)
        nk_safe = nk.clamp_min(1e-12)
        mu = torch.where(active, (resp * xf[:, :, None]).sum(0) / nk_safe, mu)
        diff = xf[:, :, None] - mu[None]
        var = torch.where(active, (resp * diff.square()).sum(0) / nk_safe, var).clamp_min(min_var)
        w = torch.where(active, w, torch.zeros_like(w))
        w = w / w.sum(1, keepdim=True).clamp_min(1e-12)
        logw = torch.where(active, torch.log(w.clamp_min(1e-30)), torch.full_like(w, -math.inf))
        if it > 0 and bool(((ll - prev).abs() < tol).all()):
            break
        prev = ll
    return w * active, mu, var.sqrt()


def fit_gmm_on_quantiles(
    x: Tensor, max_modes: int = 10, n_points: int = 1000, **kwargs: float
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`fit_gmm` on ``n_points`` quantiles of each column instead of its rows.

    The quantiles at levels (j + ½)/n are a stratified sample of the column's distribution (each
    stands for 1/n of the rows, spikes stay spikes), so EM costs the same for 1,000 rows or
    10 million, and every row informs the fit (no random subsample).
    """
    return fit_gmm(quantile_points(x.to(torch.float64), n_points).T, max_modes, **kwargs)  # type: ignore[arg-type]


def quantile_points(x: Tensor, n_points: int = 1000, *, presorted: Tensor | None = None) -> Tensor:
    """Order statistics at levels (j + ½)/n_points: ``(columns, n_points)`` values of the data.

    ``presorted`` (``(columns, rows)`` sorted along dim 1, NaN last) skips the sort.
    """
    levels = (torch.arange(n_points, dtype=torch.float64) + 0.5) / n_points
    cols = presorted if presorted is not None else torch.sort(x.T.contiguous(), dim=1).values
    return sorted_quantiles(cols, (~torch.isnan(cols)).sum(1), levels, interpolate=False)


def gmm_log_density(x: Tensor, weights: Tensor, means: Tensor, stds: Tensor) -> Tensor:
    """log w_k + log N(x | μ_k, σ_k) for ``x`` ``(rows, columns)``: ``(rows, columns, modes)``; -inf for unused modes."""
    x = x.to(means.dtype)
    z = (x[:, :, None] - means[None]) / stds[None]
    logw = torch.where(weights > 0, torch.log(weights.clamp_min(1e-30)), torch.full_like(weights, -math.inf))
    return logw[None] - torch.log(stds)[None] - 0.5 * z.square() - 0.5 * math.log(2 * math.pi)


def assign_modes(
    x: Tensor,
    weights: Tensor,
    means: Tensor,
    stds: Tensor,
    *,
    sample: bool = True,
    generator: torch.Generator | None = None,
    chunk: int = 32_768,
) -> Tensor:
    """Mode of each value ``(rows, columns)``: drawn from its posterior (CTGAN) or the most likely one.

    Posteriors are computed in float32 (choosing a mode needs no more), in row chunks.
    """
    out = torch.empty(x.shape, dtype=torch.long)
    weights, means, stds = weights.float(), means.float(), stds.float()
    for a in range(0, x.shape[0], chunk):
        logp = gmm_log_density(x[a : a + chunk].float(), weights, means, stds)
        if sample:
            u = torch.rand(logp.shape, generator=generator, dtype=logp.dtype).clamp_(1e-12, 1 - 1e-12)
            logp = logp - torch.log(-torch.log(u))  # Gumbel-max: a draw from the posterior
        out[a : a + chunk] = logp.argmax(2)
    return out


# ------------------------------------------------------------------------------ quantiles
def fit_quantiles(x: Tensor, n_quantiles: int = 1000, *, presorted: Tensor | None = None) -> Tensor:
    """Quantile grid ``(columns, n_quantiles)`` of ``x`` ``(rows, columns)`` (NaN = missing), min and max included."""
    levels = torch.linspace(0, 1, n_quantiles, dtype=torch.float64)
    cols = presorted if presorted is not None else torch.sort(x.to(torch.float64).T.contiguous(), dim=1).values
    return sorted_quantiles(cols, (~torch.isnan(cols)).sum(1), levels)


def quantile_forward(x: Tensor, grid: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Values ``(rows, columns)`` → [-1, 1] through each column's empirical CDF.

    A value repeated over several grid points (a spike) is spread uniformly over its quantile
    interval, so the generator sees a continuous target; the inverse maps the whole interval
    back to the value. NaN stays NaN.
    """
    q = grid.to(torch.float64).contiguous()  # (C, Q)
    n_q = q.shape[1]
    v = x.to(torch.float64).T.contiguous()  # (C, R)
    lo = torch.searchsorted(q, v, right=False)
    hi = torch.searchsorted(q, v, right=True)
    step = 1.0 / (n_q - 1)
    # ties: x equals q[lo..hi-1]
    u = torch.rand(v.shape, generator=generator, dtype=torch.float64)
    p_tie = (lo.to(torch.float64) + u * (hi - 1 - lo).clamp_min(0).to(torch.float64)) * step
    # strictly between q[lo-1] and q[lo]
    lo_c = lo.clamp(1, n_q - 1)
    q0, q1 = q.gather(1, lo_c - 1), q.gather(1, lo_c)
    frac = ((v - q0) / (q1 - q0).clamp_min(1e-300)).clamp(0, 1)
    p_mid = ((lo_c - 1).to(torch.float64) + frac) * step
    p = torch.where(hi > lo, p_tie, p_mid)
    p = torch.where(lo >= n_q, torch.ones_like(p), p)  # above the maximum
    p = torch.where(hi <= 0, torch.zeros_like(p), p)  # below the minimum
    out = (2 * p - 1).T
    return torch.where(torch.isnan(x.to(torch.float64)), torch.full_like(out, math.nan), out)


def quantile_inverse(u: Tensor, grid: Tensor) -> Tensor:
    """[-1, 1] ``(rows, columns)`` → values through each column's inverse CDF (piecewise linear)."""
    q = grid.to(torch.float64)
    n_q = q.shape[1]
    p = ((u.to(torch.float64).T + 1) / 2).clamp(0, 1) * (n_q - 1)  # (C, R)
    i0 = p.floor().long().clamp(0, n_q - 2)
    frac = p - i0.to(torch.float64)
    q0, q1 = q.gather(1, i0), q.gather(1, i0 + 1)
    return (q0 + frac * (q1 - q0)).T
