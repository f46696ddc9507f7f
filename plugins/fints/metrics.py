"""Scenario quality: stylized facts, risk figures, TimeGAN's discriminative and predictive scores,
a copy check, and the two classical baselines (GBM Monte Carlo, block bootstrap).

Paths are arrays (n, L, A) of log returns; the realised path is (L, A).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ganapps.core.app import Evaluation
from ganapps.plugins.fints.data import REGIMES, Prices, realised_vol, standardise, windows
from ganapps.plugins.fints.volscale import from_model

if TYPE_CHECKING:
    from ganapps.plugins.fints.app import FinTS

LAGS = 20


# ------------------------------------------------------------------ stylized facts
def acf(x: np.ndarray, lags: int = LAGS) -> np.ndarray:
    """Autocorrelation of each path over lags 1..``lags``: (n, L) → (n, lags)."""
    x = x - x.mean(axis=1, keepdims=True)
    var = (x**2).sum(axis=1)
    var = np.where(var > 0, var, np.nan)
    out = np.stack([(x[:, :-k] * x[:, k:]).sum(axis=1) / var for k in range(1, lags + 1)], axis=1)
    return np.nan_to_num(out)


def leverage(x: np.ndarray, lags: int = 10) -> np.ndarray:
    """Leverage effect corr(r_t, r²_{t+k}) for k = 1..``lags`` per path: (n, L) → (n, lags)."""
    out = []
    for k in range(1, lags + 1):
        a, b = x[:, :-k], x[:, k:] ** 2
        a = a - a.mean(1, keepdims=True)
        b = b - b.mean(1, keepdims=True)
        den = np.sqrt((a**2).sum(1) * (b**2).sum(1))
        out.append(np.where(den > 0, (a * b).sum(1) / np.where(den > 0, den, 1), 0.0))
    return np.stack(out, axis=1)


def excess_kurtosis(x: np.ndarray) -> np.ndarray:
    """Excess kurtosis of each path: (n, L) → (n,)."""
    x = x - x.mean(axis=1, keepdims=True)
    m2 = (x**2).mean(axis=1)
    return np.where(m2 > 0, (x**4).mean(axis=1) / np.where(m2 > 0, m2, 1) ** 2 - 3.0, 0.0)


def wasserstein1(a: np.ndarray, b: np.ndarray) -> float:
    """W1 between two 1-D samples (quantile functions on a common grid)."""
    q = np.linspace(0.0005, 0.9995, 2000)
    return float(np.abs(np.quantile(a, q) - np.quantile(b, q)).mean())


def stylized_facts(paths: np.ndarray) -> dict[str, Any]:
    """Per-asset facts averaged over paths (each path is compared like with like: one history)."""
    n, length, assets = paths.shape
    facts: dict[str, Any] = {
        "kurtosis": [float(excess_kurtosis(paths[:, :, a]).mean()) for a in range(assets)],
        "acf_returns": [acf(paths[:, :, a]).mean(0).tolist() for a in range(assets)],
        "acf_abs_returns": [acf(np.abs(paths[:, :, a])).mean(0).tolist() for a in range(assets)],
        "leverage": [leverage(paths[:, :, a]).mean(0).tolist() for a in range(assets)],
        "q01": [float(np.quantile(paths[:, :, a], 0.01)) for a in range(assets)],
        "q99": [float(np.quantile(paths[:, :, a], 0.99)) for a in range(assets)],
        "vol": [float(paths[:, :, a].std(axis=1).mean()) for a in range(assets)],
    }
    if assets > 1:
        cors = [np.corrcoef(p.T)[np.triu_indices(assets, 1)] for p in paths]
        facts["cross_corr"] = np.nanmean(np.stack(cors), axis=0).tolist()
    return facts


def fact_errors(paths: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """Mean absolute error of each stylized fact of ``paths`` against the realised path."""
    g, r = stylized_facts(paths), stylized_facts(real[None])
    assets = real.shape[1]

    def mae(key: str) -> float:
        return float(np.mean(np.abs(np.asarray(g[key]) - np.asarray(r[key]))))

    out = {
        "w1_returns": float(np.mean([wasserstein1(paths[:, :, a].ravel(), real[:, a]) for a in range(assets)])),
        "kurtosis_error": mae("kurtosis"),
        "tail_error": float(
            np.mean(
                np.abs(np.asarray(g["q01"]) - np.asarray(r["q01"])) / np.abs(np.asarray(r["q01"]))
                + np.abs(np.asarray(g["q99"]) - np.asarray(r["q99"])) / np.abs(np.asarray(r["q99"]))
            )
            / 2
        ),
        "acf_returns_error": mae("acf_returns"),
        "acf_abs_returns_error": mae("acf_abs_returns"),
        "leverage_error": mae("leverage"),
        "vol_error": float(np.mean(np.abs(np.asarray(g["vol"]) - np.asarray(r["vol"])) / np.asarray(r["vol"]))),
    }
    if assets > 1:
        out["cross_corr_error"] = mae("cross_corr")
    return out


FACTS = (
    "w1_returns",
    "kurtosis_error",
    "tail_error",
    "acf_returns_error",
    "acf_abs_returns_error",
    "leverage_error",
    "cross_corr_error",
)


# ------------------------------------------------------- volatility by block position
def block_profile(paths: np.ndarray, horizon: int) -> np.ndarray:
    """Spread of returns at each position 1..``horizon`` of a generated block: (horizon,).

    ``paths`` (n, L, A) are cut into the ``L // horizon`` whole blocks of ``horizon`` days; at each
    step the standard deviation across the n paths is taken per asset, then averaged over the assets
    and over the blocks sharing a position. Windows (n, horizon, A) are the one-block case.
    """
    k = paths.shape[1] // horizon
    if k == 0:
        raise ValueError(f"paths of {paths.shape[1]} steps hold no block of {horizon}")
    blocks = paths[:, : k * horizon].reshape(len(paths), k, horizon, paths.shape[2])
    return blocks.std(axis=0).mean(axis=(0, 2))


def block_vol_ramp(paths: np.ndarray, horizon: int, edge: int = 6) -> float:
    """Ratio of the spread over the last ``edge`` positions of a block to that over its first ``edge``.

    1 for a stationary series (real windows); above 1 when volatility rises through each generated
    block, which chained scenarios show as a saw-tooth. ``edge`` is capped at ``horizon // 2``.
    """
    prof = block_profile(paths, horizon)
    e = max(1, min(edge, horizon // 2))
    return float(prof[-e:].mean() / prof[:e].mean())


# ------------------------------------------------------------------------ risk
def var_es(returns: np.ndarray, level: float) -> tuple[float, float]:
    """Value at risk and expected shortfall (as positive losses) of a 1-D return sample."""
    q = float(np.quantile(returns, 1 - level))
    tail = returns[returns <= q]
    return -q, -float(tail.mean()) if len(tail) else -q


def risk(paths: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """One-day VaR/ES 95/99% of the equal-weight portfolio: scenarios vs the realised period.

    ``exceed_*`` is the share of realised days losing more than the scenarios' VaR (ideal: 5%, 1%).
    """
    gen = paths.mean(axis=2).ravel()
    act = real.mean(axis=1)
    out = {}
    for level in (0.95, 0.99):
        tag = int(round(level * 100))
        v, e = var_es(gen, level)
        rv, re = var_es(act, level)
        out[f"var{tag}"] = v
        out[f"var{tag}_realised"] = rv
        out[f"es{tag}"] = e
        out[f"es{tag}_realised"] = re
        out[f"var{tag}_error"] = abs(v - rv) / rv if rv else float("nan")
        out[f"es{tag}_error"] = abs(e - re) / re if re else float("nan")
        out[f"exceed{tag}"] = float((act < -v).mean())
    return out


# ------------------------------------------------------------------- baselines
def gbm_paths(train: np.ndarray, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Geometric Brownian motion: i.i.d. Gaussian log returns with the training mean and covariance."""
    mu = train.mean(axis=0)
    cov = np.atleast_2d(np.cov(train.T))
    return rng.multivariate_normal(mu, cov, size=(n, length))


def bootstrap_paths(train: np.ndarray, n: int, length: int, rng: np.random.Generator, block: int = 5) -> np.ndarray:
    """Moving-block bootstrap: training blocks of ``block`` days (all assets together), concatenated."""
    k = -(-length // block)
    starts = rng.integers(0, len(train) - block + 1, size=(n, k))
    idx = (starts[:, :, None] + np.arange(block)).reshape(n, -1)[:, :length]
    return train[idx]


# -------------------------------------------------------- TimeGAN's two scores
class _GRUHead(nn.Module):
    def __init__(self, d_in: int, hidden: int, d_out: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(d_in, hidden, batch_first=True)
        self.head = nn.Linear(hidden, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)
        return self.head(y[:, -1])


def discriminative_score(
    real: np.ndarray, fake: np.ndarray, steps: int = 2000, seed: int = 0, hidden: int = 12, batch: int = 128
) -> float:
    """TimeGAN's post-hoc discriminative score: a GRU classifier learns real vs synthetic windows on
    80% of each, and |accuracy − 0.5| on the other 20% is reported (0 = indistinguishable)."""
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = min(len(real), len(fake))
    real = real[rng.permutation(len(real))[:n]]
    fake = fake[rng.permutation(len(fake))[:n]]
    x = torch.tensor(np.concatenate([real, fake]), dtype=torch.float32)
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    perm = torch.randperm(2 * n, generator=g)
    cut = int(0.8 * 2 * n)
    tr, te = perm[:cut], perm[cut:]
    torch.manual_seed(seed)
    clf = _GRUHead(x.shape[2], hidden, 1)
    opt = torch.optim.Adam(clf.parameters(), lr=1e-3)
    for _ in range(steps):
        b = tr[torch.randint(len(tr), (min(batch, len(tr)),), generator=g)]
        loss = nn.functional.binary_cross_entropy_with_logits(clf(x[b]).squeeze(1), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = ((clf(x[te]).squeeze(1) > 0).float() == y[te]).float().mean().item()
    return abs(acc - 0.5)


def _lagged(paths: np.ndarray, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (last ``lags`` returns and absolute returns, all assets) → next returns."""
    n, length, a = paths.shape
    xs, ys = [], []
    for t in range(lags, length):
        win = paths[:, t - lags : t].reshape(n, -1)
        xs.append(np.concatenate([win, np.abs(win), np.ones((n, 1))], 1))
        ys.append(paths[:, t])
    return np.concatenate(xs), np.concatenate(ys)


def predictive_score(train_paths: np.ndarray, real: np.ndarray, lags: int = 10, ridge: float = 1.0) -> dict[str, float]:
    """Train-on-synthetic, test-on-real: a ridge one-step predictor of the next return and of the
    next absolute return (volatility) fitted on ``train_paths``, its MAE on the realised path."""
    x, y = _lagged(train_paths, lags)
    xt, yt = _lagged(real[None], lags)
    scale = np.abs(x).mean(0) + 1e-12
    x, xt = x / scale, xt / scale
    a = x.T @ x + ridge * np.eye(x.shape[1])
    out = {}
    for name, target, test in (("mae_return", y, yt), ("mae_abs_return", np.abs(y), np.abs(yt))):
        w = np.linalg.solve(a, x.T @ target)
        out[name] = float(np.abs(xt @ w - test).mean())
    return out


# ------------------------------------------------------------------- copy check
def copy_check(fake: np.ndarray, train: np.ndarray, horizon: int) -> dict[str, float]:
    """Nearest-neighbour distance of synthetic windows to training windows, against the distance of
    each training window to its nearest non-overlapping training window (real-to-real).

    ``nn_ratio`` ≈ 1 means synthetic windows sit as far from the training data as real windows sit
    from each other; ≪ 1 means copies. ``copy_share`` is the share of synthetic windows closer to a
    training window than 99% of the real-to-real distances.
    """
    tr = torch.tensor(train.reshape(len(train), -1), dtype=torch.float32)
    fk = torch.tensor(fake.reshape(len(fake), -1), dtype=torch.float32)
    d_ff = torch.cdist(fk, tr).min(1).values.numpy()
    d_rr = torch.cdist(tr, tr)
    idx = torch.arange(len(tr))
    d_rr[(idx[:, None] - idx[None, :]).abs() < horizon] = float("inf")
    rr = d_rr.min(1).values.numpy()
    rr = rr[np.isfinite(rr)]
    return {
        "nn_ratio": float(np.median(d_ff) / np.median(rr)),
        "copy_share": float((d_ff < np.quantile(rr, 0.01)).mean()),
    }


NOTES = [
    "Out-of-sample: scenario paths start after the last training day and are compared with the realised "
    "held-out period (errors are mean absolute differences of each stylized fact; lower is better).",
    "In-sample (TimeGAN's protocol): discriminative score = |accuracy − 0.5| of a post-hoc GRU classifier "
    "telling training windows from generated continuations of the same pasts; nn_ratio = median "
    "nearest-neighbour distance of generated windows to training windows over that of training windows "
    "to each other (≈1 fine, ≪1 copies).",
    "block_vol_ramp = spread of returns over the last 6 days of a generated block over that of its first "
    "6 (ganapps: in-sample continuations, real: the real ones, scenarios: by block position along the "
    "chained scenario paths); 1 = no volatility ramp inside the blocks.",
    "Baselines: gbm = geometric Brownian motion with the training mean and covariance; bootstrap = "
    "5-day moving-block bootstrap of training returns.",
]


def evaluate(app: FinTS, real: Prices, synthetic: Any) -> Evaluation:
    """Scenarios ``synthetic`` (a scenario table) of the trained ``app`` against the realised held-out
    prices ``real`` (out of sample) and against the training windows (in sample), beside GBM and
    the block bootstrap; with ``--regime vol``, the volatility each regime asked for gives."""
    seed = app.train_config.seed
    gen = app.paths(synthetic)
    rng = np.random.default_rng(seed + 1)
    train_r = np.diff(np.log(app.tensors["prices"].numpy()), axis=0)
    notes = list(NOTES)
    realised = real.returns() if len(real) > 1 else np.zeros((0, app.assets))
    length = min(len(realised), gen.shape[1])
    metrics: dict[str, Any] = {}
    figures: dict[str, bytes] = {}
    if length >= 2 * LAGS + 2:
        metrics, figures = out_of_sample(gen[:, :length], realised[:length], train_r, app.schema["tickers"], rng)
    else:
        notes.append(f"out-of-sample metrics skipped: {length} realised days, need {2 * LAGS + 2}")
    figures |= in_sample(app, gen, train_r, rng, metrics)
    if app.options.regime == "vol" and length >= 2:
        metrics["regime_vol"] = regime_vol(app, min(len(gen), 200))
    return Evaluation(metrics=metrics, figures=figures, notes=notes)


def out_of_sample(
    gen: np.ndarray, realised: np.ndarray, train_r: np.ndarray, tickers: list[str], rng: np.random.Generator
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Scenarios ``gen`` (n, L, A), GBM and bootstrap paths against the realised path (L, A): fact
    errors, VaR/ES, the predictive score, and their figures."""
    from ganapps.plugins.fints.figures import acf_figure, histogram_figure, paths_figure

    length = len(realised)
    methods = {"ganapps": gen}
    methods["gbm"] = gbm_paths(train_r, len(gen), length, rng)
    methods["bootstrap"] = bootstrap_paths(train_r, len(gen), length, rng)
    metrics: dict[str, Any] = {}
    for name, p in methods.items():
        metrics[name] = {**fact_errors(p, realised), **risk(p, realised)}
        metrics[name].update({f"predictive_{k}": v for k, v in predictive_score(p, realised).items()})
    real_pred = predictive_score(train_r[None], realised)
    metrics["real_train"] = {f"predictive_{k}": v for k, v in real_pred.items()}
    metrics["facts_better_than_gbm"] = sum(
        metrics["ganapps"][f] < metrics["gbm"][f] for f in FACTS if f in metrics["ganapps"]
    )
    metrics["facts_compared"] = sum(f in metrics["ganapps"] for f in FACTS)
    figures = {
        "scenario paths vs realised": paths_figure(methods, realised, tickers),
        "autocorrelation of returns and absolute returns": acf_figure(methods, realised),
        "return histograms (log scale)": histogram_figure(methods, realised),
    }
    return metrics, figures


def in_sample(
    app: FinTS, gen: np.ndarray, train_r: np.ndarray, rng: np.random.Generator, metrics: dict[str, Any]
) -> dict[str, bytes]:
    """TimeGAN's protocol on up to 1,000 training windows: generated continuations of their pasts
    (and GBM and bootstrap windows) against the real continuations — discriminative score, copy
    check, volatility ramp inside the blocks — added to ``metrics``; returns the ramp's figure."""
    from ganapps.plugins.fints.figures import block_figure

    o, seed = app.options, app.train_config.seed
    past, future, cond = app._training_arrays()
    pick = rng.permutation(len(past))[: min(len(past), 1000)]
    past, future, cond = past[pick], future[pick], cond[pick]
    fake = app._continue(past, cond)
    if (scale := app._training_scales()) is not None:  # window-scaled (--vol-scaling ewma) → training units
        fake, future = (standardise(from_model(x, scale[pick], app.schema), app.schema) for x in (fake, future))
    sd_train = standardise(train_r, app.schema)
    insample = {
        "ganapps": fake,
        "gbm": standardise(gbm_paths(train_r, len(future), o.horizon, rng), app.schema),
        "bootstrap": bootstrap_paths(sd_train, len(future), o.horizon, rng),
    }
    all_windows = windows(sd_train, o.window, o.horizon)[1]
    for name, x in insample.items():
        ds = [discriminative_score(future, x, steps=o.disc_steps, seed=seed + k) for k in range(o.disc_repeats)]
        entry = metrics.setdefault(name, {})
        entry["discriminative_score"] = float(np.mean(ds))
        entry.update(copy_check(x, all_windows, o.horizon))
    metrics["block_vol_ramp"] = {
        "ganapps": block_vol_ramp(fake, o.horizon),
        "real": block_vol_ramp(future, o.horizon),
    }
    profiles = {
        "generated (in sample)": block_profile(fake, o.horizon),
        "real (in sample)": block_profile(future, o.horizon),
    }
    if gen.shape[1] >= o.horizon:
        scaled = standardise(gen, app.schema)
        metrics["block_vol_ramp"]["scenarios"] = block_vol_ramp(scaled, o.horizon)
        profiles["scenarios"] = block_profile(scaled, o.horizon)
    return {"volatility by day of a generated block": block_figure(profiles)}


def regime_vol(app: FinTS, n: int) -> dict[str, float]:
    """Realised daily volatility of the portfolio in one generated block, per regime asked for."""
    from ganapps.plugins.fints.scenarios import rollout

    prices = app.tensors["prices"].numpy()
    r = np.diff(np.log(prices), axis=0)
    past = np.repeat(r[None, -app.options.window :], n, 0)
    user = np.repeat(app._user_conds(app.tensors["conds"].numpy()[-1])[None], n, 0)
    out = {}
    for i, name in enumerate(REGIMES):
        rets, _ = rollout(app, past, app.options.horizon, i, user)
        out[name] = float(realised_vol(rets).mean())
    return out
