"""Rolling-origin VaR/ES backtest of fints against the conditional Monte Carlo baselines (issue #19),
and sampling intervals for the diagnostic metrics.

Protocol. For each horizon ``h`` the origins are days of the held-out span spaced at least ``h``
apart (so no two realised horizon paths overlap and the Kupiec / Christoffersen tests see one
non-overlapping hit per origin); at most ``--backtest-origins`` per horizon, spread evenly. At an
origin the model sees the prices up to it only: fints continues the realised last ``--window``
returns through :func:`.scenarios.scenarios_after` (the path of ``generate --data``, training
statistics throughout), each baseline is fitted on the returns up to the origin (GARCH ones
refitted every ``--backtest-refit`` origins and filtered through the returns in between). Each
model's ``n`` scenarios give the equal-weight portfolio's horizon-return VaR/ES at 95% and 99%,
checked against the realised path (:func:`.backtest.score_origin`).

Paired comparisons: per origin, fints' loss minus the baseline's, averaged; the 95% interval is a
moving-block bootstrap over origins with blocks of ⌈m^{1/3}⌉ consecutive origins (m origins), which
keeps the dependence left between neighbouring non-overlapping origins (volatility clustering).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ganapps.core.app import Evaluation
from ganapps.core.errors import ConfigError
from ganapps.plugins.fints import baselines as B
from ganapps.plugins.fints.backtest import score_origin, summarise
from ganapps.plugins.fints.data import Prices

if TYPE_CHECKING:
    from ganapps.plugins.fints.app import FinTS

log = logging.getLogger(__name__)

Forecaster = Callable[[int, int], np.ndarray]  # (origin, steps) -> scenario log returns (n, steps, A)
PAIRED = ("crps", "fz0_95", "fz0_99", "pinball95", "pinball99", "energy")


def parse_horizons(text: str) -> list[int]:
    """``"1,10,20"`` → [1, 10, 20]; a ConfigError naming the option otherwise."""
    try:
        out = sorted({int(t) for t in text.split(",") if t.strip()})
    except ValueError:
        raise ConfigError(f"option --backtest-horizons {text!r}: comma-separated whole days, e.g. 1,10,20") from None
    if not out or out[0] < 1:
        raise ConfigError(f"option --backtest-horizons {text!r}: horizons must be at least 1 day")
    return out


def check_options(o: Any) -> None:
    """A ConfigError naming the first bad ``--backtest-*`` option of ``o`` (FinTSOptions)."""
    parse_horizons(o.backtest_horizons)
    for name in (b.strip() for b in o.backtest_baselines.split(",") if b.strip()):
        if name not in B.BASELINES:
            raise ConfigError(
                f"option --backtest-baselines: unknown baseline {name!r}; choose from {', '.join(B.BASELINES)}"
            )
    if o.backtest_scenarios < 2 or o.backtest_refit < 1 or o.backtest_origins < 0:
        raise ConfigError("options --backtest-scenarios must be at least 2, --backtest-refit 1, --backtest-origins 0")


def origins_for(first: int, total: int, horizon: int, max_origins: int) -> list[int]:
    """Origins ``first, first + s, …`` with ``s >= horizon`` and the realised path inside ``total`` returns."""
    span = total - first
    if span < horizon or max_origins < 1:
        return []
    step = max(horizon, math.ceil((span - horizon + 1) / max_origins))
    return list(range(first, total - horizon + 1, step))[:max_origins]


def garch_forecaster(
    name: str, returns: np.ndarray, n: int, refit: int, rng: np.random.Generator, info: dict[str, Any]
) -> Forecaster:
    """Baseline ``name`` as a forecaster over ``returns`` (T, A); GARCH fits every ``refit`` calls, filtered
    in between. ``info`` collects the fits' largest persistence and how many were non-stationary."""
    gen = B.get_baseline(name)
    state: dict[str, Any] = {"fit": None, "at": 0, "calls": 0}
    info.update(fits=0, nonstationary_fits=0, max_persistence=0.0)

    def forecast(origin: int, steps: int) -> np.ndarray:
        if name not in B.NEEDS_ARCH:
            return B.scenarios_at(gen, returns, origin, n, steps, rng)
        if state["fit"] is None or state["calls"] % max(refit, 1) == 0:
            fit = B.fit_garch(returns[:origin], gjr=name == "gjr_t")
            state["corr"] = B.copula_correlation(fit.std_resid)
            p = float(fit.persistence.max())
            info["fits"] += 1
            info["nonstationary_fits"] += int(p >= 1)
            info["max_persistence"] = max(info["max_persistence"], p)
        else:
            fit = state["fit"].extend(returns[state["at"] : origin])
        state.update(fit=fit, at=origin, calls=state["calls"] + 1)
        if name == "fhs":
            z = B.recentred(fit.std_resid)
            return B.simulate(fit, z[rng.integers(0, len(z), size=(n, steps))])
        return B.simulate(fit, B.t_copula_innovations(fit, state["corr"], (n, steps), rng))

    return forecast


def backtest(
    returns: np.ndarray, origins: dict[int, list[int]], models: dict[str, Forecaster]
) -> dict[int, dict[str, list[dict[str, float]]]]:
    """Per horizon and model, the scores of every origin (:func:`.backtest.score_origin`, plus ``origin``).

    Each model is asked once per origin (in time order) for paths as long as the longest horizon using it.
    """
    longest: dict[int, int] = {}
    for h, os_ in origins.items():
        for o in os_:
            longest[o] = max(longest.get(o, 0), h)
    out: dict[int, dict[str, list[dict[str, float]]]] = {h: {m: [] for m in models} for h in origins}
    for name, forecast in models.items():
        for o in sorted(longest):
            paths = forecast(o, longest[o])
            for h, os_ in origins.items():
                if o in os_:
                    out[h][name].append({"origin": float(o), **score_origin(paths[:, :h], returns[o : o + h])})
    return out


def block_bootstrap(
    diffs: Sequence[np.ndarray], reps: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of paired differences and its moving-block bootstrap interval.

    ``diffs`` holds one array per stratum (an asset), each in time order; blocks of ⌈m^{1/3}⌉ consecutive
    entries are resampled within each stratum and the pooled mean taken over all entries.
    """
    rng = np.random.default_rng(seed)
    parts = [np.asarray(d, dtype=float) for d in diffs if len(d)]
    total = sum(len(d) for d in parts)
    if total == 0:
        return float("nan"), float("nan"), float("nan")
    sums = np.zeros(reps)
    for d in parts:
        m = len(d)
        block = max(1, math.ceil(m ** (1 / 3)))
        k = math.ceil(m / block)
        starts = rng.integers(0, m - block + 1, size=(reps, k))
        idx = (starts[:, :, None] + np.arange(block)).reshape(reps, -1)[:, :m]
        sums += d[idx].sum(1)
    means = sums / total
    tail = (1 - level) / 2
    lo, hi = np.quantile(means, [tail, 1 - tail])
    return float(np.concatenate(parts).mean()), float(lo), float(hi)


def compare(records: dict[str, list[dict[str, float]]], model: str, seed: int = 0) -> dict[str, dict[str, float]]:
    """Summaries of every model (:func:`.backtest.summarise`) and ``model`` minus each other model, paired
    over origins: ``<score>`` the mean difference (negative: ``model`` better), ``<score>_lo/_hi`` its interval.
    Origins where either FZ0 is undefined are left out of that pair (``fz0_undefined<level>`` counts them)."""
    out: dict[str, dict[str, float]] = {}
    for name, recs in records.items():
        out[name] = {k: v for k, v in summarise(recs).items() if k != "origin"}
        for tag in ("95", "99"):  # FZ0 is undefined where the forecast ES is not a loss (ES >= 0)
            out[name][f"fz0_undefined{tag}"] = int(sum(not np.isfinite(r[f"fz0_{tag}"]) for r in recs))
    for other, recs in records.items():
        if other == model:
            continue
        diff: dict[str, float] = {}
        for key in PAIRED:
            if key in records[model][0]:
                d = np.array([a[key] - b[key] for a, b in zip(records[model], recs, strict=True)])
                d = d[np.isfinite(d)]
                diff[key], diff[f"{key}_lo"], diff[f"{key}_hi"] = block_bootstrap([d], seed=seed)
        out[f"vs_{other}"] = diff
    return out


def full_prices(app: FinTS, real: Prices) -> Prices:
    """The training prices followed by the held-out ones (which start on the last training day)."""
    schema, t = app.schema, app.tensors
    dates = schema.get("dates")
    joined = dates + real.dates[1:] if dates is not None and real.dates is not None else None
    return Prices(
        np.concatenate([t["prices"].numpy(), real.prices[1:]]),
        list(schema["tickers"]),
        joined,
        np.concatenate([t["conds"].numpy(), real.conds[1:]]),
        list(schema["cond_names"]),
        real.where,
    )


def add_backtest(app: FinTS, real: Prices, ev: Evaluation) -> None:
    """The rolling-origin backtest over the held-out span: ``backtest`` metrics, a figure and notes."""
    import torch

    from ganapps.plugins.fints.figures import backtest_figure
    from ganapps.plugins.fints.scenarios import scenarios_after

    o, seed = app.options, app.train_config.seed
    horizons = parse_horizons(o.backtest_horizons)
    if o.backtest_origins <= 0:
        return
    prices = full_prices(app, real)
    returns = prices.returns()
    first = len(app.tensors["prices"]) - 1
    origins = {h: origins_for(first, len(returns), h, o.backtest_origins) for h in horizons}
    origins = {h: os_ for h, os_ in origins.items() if os_}
    if not origins:
        ev.notes.append(f"backtest skipped: {len(returns) - first} held-out days, fewer than the shortest horizon")
        return
    n = o.backtest_scenarios
    torch.manual_seed(seed)
    models: dict[str, Forecaster] = {"ganapps": lambda t0, steps: scenarios_after(app, prices, t0, n, steps)[0]}
    info: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(b.strip() for b in o.backtest_baselines.split(",") if b.strip()):
        if name in B.NEEDS_ARCH:
            try:
                B.require_arch()
            except ConfigError as e:
                ev.notes.append(f"backtest: baseline {name} skipped: {e}")
                continue
        if first < B.MIN_HISTORY:
            ev.notes.append(f"backtest: baseline {name} skipped: {first} training returns, fewer than {B.MIN_HISTORY}")
            continue
        info[name] = {}
        rng = np.random.default_rng(seed + 100 + k)
        models[name] = garch_forecaster(name, returns, n, o.backtest_refit, rng, info[name])
    records = backtest(returns, origins, models)
    section: dict[str, Any] = {f"h{h}": compare(records[h], "ganapps", seed) for h in origins}
    section["baseline_fits"] = {k: v for k, v in info.items() if v.get("fits")}
    ev.metrics["backtest"] = section
    ev.figures["backtest: realised horizon returns against the 95% and 99% VaR"] = backtest_figure(
        records, prices.dates
    )
    ev.notes.append(
        f"Backtest: {', '.join(f'{len(v)} origins at {h} d' for h, v in origins.items())} over the held-out span, "
        f"{n} scenarios per origin and model; origins at least the horizon apart (no overlap); each model sees "
        f"the returns up to the origin only (GARCH refitted every {o.backtest_refit} origins, filtered between). "
        "vs_<baseline>: mean per-origin loss of ganapps minus the baseline's (negative: ganapps better), "
        "with a 95% moving-block bootstrap interval over origins."
    )


def add_intervals(app: FinTS, real: Prices, synthetic: Any, ev: Evaluation, reps: int = 20) -> None:
    """90% sampling intervals of the diagnostics: each fact error over resamples of the scenario paths
    (``<fact>_ci``), the discriminative score from the classifier's test-set size (``discriminative_score_ci``)."""
    from ganapps.plugins.fints.metrics import bootstrap_paths, fact_errors, gbm_paths

    m, seed = ev.metrics, app.train_config.seed
    rng = np.random.default_rng(seed + 7)
    gen = app.paths(synthetic)
    realised = real.returns() if len(real) > 1 else np.zeros((0, app.assets))
    length = min(len(realised), gen.shape[1])
    train_r = np.diff(np.log(app.tensors["prices"].numpy()), axis=0)
    if "gbm" in m and "w1_returns" in m.get("ganapps", {}):
        paths = {
            "ganapps": gen[:, :length],
            "gbm": gbm_paths(train_r, len(gen), length, rng),
            "bootstrap": bootstrap_paths(train_r, len(gen), length, rng),
        }
        for name, p in paths.items():
            draws = [fact_errors(p[rng.integers(0, len(p), len(p))], realised[:length]) for _ in range(reps)]
            for key in draws[0]:
                m[name][f"{key}_ci"] = np.quantile([d[key] for d in draws], [0.05, 0.95]).tolist()
    windows = len(app._training_arrays()[0])
    n = min(windows, 1000)
    test = 2 * n - int(0.8 * 2 * n)  # the classifier's held-out 20% (metrics.discriminative_score)
    half = 1.645 * math.sqrt(0.25 / max(test, 1))
    for name in ("ganapps", "gbm", "bootstrap"):
        if "discriminative_score" in m.get(name, {}):
            s = m[name]["discriminative_score"]
            m[name]["discriminative_score_ci"] = [max(0.0, s - half), s + half]
