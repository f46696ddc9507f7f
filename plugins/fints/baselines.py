"""Conditional Monte Carlo baselines for fints scenarios (issue #19): GARCH-t, GJR-GARCH-t, filtered
historical simulation, and the GBM / block-bootstrap floors, behind one interface.

A scenario generator is a callable ``(history, n, horizon, rng) -> paths``: ``history`` (T, A) holds the
log returns up to the forecast origin (and nothing after it), the result (n, horizon, A) simulated log
returns from the origin on. Each GARCH generator is refitted on ``history`` at every call, so it is
conditional on the present: the first simulated step uses the volatility filtered up to the origin.

Univariate models per asset (arch's ``arch_model``, constant mean, fitted on returns ×100 as arch
recommends, simulated in those units and rescaled by 1/100). Cross-asset dependence is the Constant
Conditional Correlation (Bollerslev 1990) of the standardised residuals, imposed through a **Gaussian
copula**: each step draws z ~ N(0, R) with R the correlation of the residuals' normal scores
Φ⁻¹(rank/(T+1)), and maps each coordinate through Φ and that asset's standardised Student-t quantile, so
every asset keeps its own fitted tail (ν) and the pairs their rank dependence. Tail dependence beyond the
Gaussian copula's (none) is not modelled: ``fhs`` keeps the joint tails of the data instead.

Simulations are our own numpy recursions driven by ``rng``, so a seed gives the same paths; the arch fit
itself is deterministic. ``arch`` is an optional dependency (``pip install 'ganapps[finance]'``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ganapps.core.errors import ConfigError, DataError

Generator = Callable[[np.ndarray, int, int, np.random.Generator], np.ndarray]

SCALE = 100.0  # arch fits percent returns
MIN_HISTORY = 100
INSTALL = "the GARCH baselines need the arch package: pip install 'ganapps[finance]'"


def require_arch() -> None:
    """Raise a one-line ConfigError when ``arch`` cannot be imported."""
    try:
        import arch  # noqa: F401
        from arch import arch_model  # noqa: F401
    except ImportError:
        raise ConfigError(INSTALL) from None


@dataclass
class GarchFit:
    """Per-asset GARCH(1,1) / GJR(1,1,1) Student-t parameters and state at the origin (percent units).

    All arrays have one entry per asset. ``sigma2_next`` is the conditional variance of the first day
    after the origin; ``std_resid`` (T, A) the standardised residuals of the fit.
    """

    mu: np.ndarray
    omega: np.ndarray
    alpha: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    nu: np.ndarray
    sigma2_next: np.ndarray
    std_resid: np.ndarray

    def variance_update(self, eps: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
        """σ²_{t+1} = ω + (α + γ·1[ε_t < 0])·ε_t² + β·σ²_t (percent units, broadcast over assets)."""
        return self.omega + (self.alpha + self.gamma * (eps < 0)) * eps**2 + self.beta * sigma2

    def extend(self, returns: np.ndarray) -> GarchFit:
        """The same parameters filtered through further log returns ``(k, A)`` (not ×100): the state after them.

        For refitting every few origins and filtering in between; ``std_resid`` gains the new rows.
        """
        r = np.asarray(returns, dtype=float).reshape(-1, len(self.mu)) * SCALE
        s2 = self.sigma2_next.copy()
        z = []
        for row in r:
            eps = row - self.mu
            z.append(eps / np.sqrt(s2))
            s2 = self.variance_update(eps, s2)
        resid = np.concatenate([self.std_resid, np.reshape(z, (-1, len(self.mu)))])
        return GarchFit(self.mu, self.omega, self.alpha, self.gamma, self.beta, self.nu, s2, resid)

    @property
    def persistence(self) -> np.ndarray:
        """α + γ/2 + β per asset (γ/2: the share of negative shocks under a symmetric law); ≥ 1 is not
        covariance-stationary: the variance forecast does not revert, and long horizons explode."""
        return self.alpha + self.gamma / 2 + self.beta

    @property
    def vol_next(self) -> np.ndarray:
        """Conditional standard deviation of the first day after the origin, in log-return units."""
        return np.sqrt(self.sigma2_next) / SCALE


def fit_garch(history: np.ndarray, gjr: bool = False) -> GarchFit:
    """Fit constant-mean GARCH(1,1) (GJR(1,1,1) with ``gjr``) Student-t to each column of ``history`` (T, A)."""
    require_arch()
    from arch import arch_model

    h = np.asarray(history, dtype=float)
    if h.ndim == 1:
        h = h[:, None]
    if len(h) < MIN_HISTORY or not np.isfinite(h).all():
        raise DataError(f"a GARCH fit needs at least {MIN_HISTORY} finite rows of returns, got {len(h)}")
    cols: dict[str, list] = {k: [] for k in ("mu", "omega", "alpha", "gamma", "beta", "nu", "s2", "z")}
    for a in range(h.shape[1]):
        model = arch_model(h[:, a] * SCALE, mean="Constant", vol="GARCH", p=1, o=int(gjr), q=1, dist="t")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(disp="off", show_warning=False)
        p = res.params
        cols["mu"].append(p["mu"])
        cols["omega"].append(p["omega"])
        cols["alpha"].append(p["alpha[1]"])
        cols["gamma"].append(p["gamma[1]"] if gjr else 0.0)
        cols["beta"].append(p["beta[1]"])
        cols["nu"].append(p["nu"])
        sigma = np.asarray(res.conditional_volatility, dtype=float)
        eps = h[-1, a] * SCALE - p["mu"]
        g = p["gamma[1]"] if gjr else 0.0
        cols["s2"].append(p["omega"] + (p["alpha[1]"] + g * (eps < 0)) * eps**2 + p["beta[1]"] * sigma[-1] ** 2)
        cols["z"].append((h[:, a] * SCALE - p["mu"]) / sigma)
    arr = {k: np.asarray(v, dtype=float) for k, v in cols.items()}
    return GarchFit(arr["mu"], arr["omega"], arr["alpha"], arr["gamma"], arr["beta"], arr["nu"], arr["s2"], arr["z"].T)


def copula_correlation(std_resid: np.ndarray) -> np.ndarray:
    """Correlation of the normal scores Φ⁻¹(rank/(T+1)) of the standardised residuals: the Gaussian copula's R."""
    from scipy.stats import norm, rankdata

    z = np.asarray(std_resid, dtype=float)
    if z.shape[1] == 1:
        return np.ones((1, 1))
    scores = norm.ppf(rankdata(z, axis=0) / (len(z) + 1))
    return np.atleast_2d(np.corrcoef(scores.T))


def t_copula_innovations(
    fit: GarchFit, corr: np.ndarray, size: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """Innovations ``size + (A,)``: unit-variance Student-t(ν_a) marginals joined by a Gaussian copula with ``corr``."""
    from scipy.stats import norm, t

    assets = len(fit.mu)
    chol = np.linalg.cholesky(corr + 1e-10 * np.eye(assets))
    g = rng.standard_normal(size + (assets,)) @ chol.T
    u = np.clip(norm.cdf(g), 1e-12, 1 - 1e-12)
    nu = fit.nu
    return t.ppf(u, nu) * np.sqrt((nu - 2) / nu)


def simulate(fit: GarchFit, innovations: np.ndarray) -> np.ndarray:
    """Run the GARCH recursion from the origin over standardised innovations ``(n, horizon, A)``: log returns."""
    n, horizon, assets = innovations.shape
    s2 = np.broadcast_to(fit.sigma2_next, (n, assets)).copy()
    out = np.empty_like(innovations)
    for k in range(horizon):
        eps = np.sqrt(s2) * innovations[:, k]
        out[:, k] = fit.mu + eps
        s2 = fit.variance_update(eps, s2)
    return out / SCALE


def _garch_generator(gjr: bool) -> Generator:
    def generate(history: np.ndarray, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
        fit = fit_garch(history, gjr=gjr)
        return simulate(fit, t_copula_innovations(fit, copula_correlation(fit.std_resid), (n, horizon), rng))

    generate.__name__ = "gjr_t" if gjr else "garch_t"
    generate.__doc__ = (
        f"{'GJR-GARCH(1,1,1)' if gjr else 'GARCH(1,1)'} Student-t per asset, constant mean, fitted on ``history``; "
        "CCC dependence through a Gaussian copula of the standardised residuals."
    )
    return generate


garch_t = _garch_generator(gjr=False)
gjr_t = _garch_generator(gjr=True)


def recentred(std_resid: np.ndarray) -> np.ndarray:
    """Standardised residuals shifted to mean 0 and scaled to sd 1 per asset, so FHS draws neither a drift
    nor a variance the GARCH recursion did not fit."""
    z = np.asarray(std_resid, dtype=float)
    return (z - z.mean(0)) / z.std(0)


def fhs(history: np.ndarray, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """Filtered historical simulation (Barone-Adesi et al. 1999): GARCH(1,1)-t fitted per asset, whole rows of
    standardised residuals (all assets of one day, so their joint dependence and tails are kept), re-centred
    (:func:`recentred`), drawn with replacement and run through the GARCH recursion from the origin's volatility."""
    fit = fit_garch(history)
    z = recentred(fit.std_resid)
    idx = rng.integers(0, len(z), size=(n, horizon))
    return simulate(fit, z[idx])


def gbm(history: np.ndarray, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """Floor: i.i.d. Gaussian log returns with the history's mean and covariance (``metrics.gbm_paths``)."""
    from ganapps.plugins.fints.metrics import gbm_paths

    return gbm_paths(np.asarray(history, dtype=float), n, horizon, rng).reshape(n, horizon, -1)


def bootstrap(history: np.ndarray, n: int, horizon: int, rng: np.random.Generator) -> np.ndarray:
    """Floor: 5-day moving-block bootstrap of the history, all assets together (``metrics.bootstrap_paths``)."""
    from ganapps.plugins.fints.metrics import bootstrap_paths

    h = np.asarray(history, dtype=float)
    return bootstrap_paths(h.reshape(len(h), -1), n, horizon, rng)


BASELINES: dict[str, Generator] = {"garch_t": garch_t, "gjr_t": gjr_t, "fhs": fhs, "gbm": gbm, "bootstrap": bootstrap}
NEEDS_ARCH = ("garch_t", "gjr_t", "fhs")


def get_baseline(name: str) -> Generator:
    """The generator called ``name``; a ConfigError for an unknown name or a GARCH one without arch."""
    if name not in BASELINES:
        raise ConfigError(f"unknown baseline {name!r}: choose from {', '.join(BASELINES)}")
    if name in NEEDS_ARCH:
        require_arch()
    return BASELINES[name]


def scenarios_at(
    generator: Generator, returns: np.ndarray, origin: int, n: int, horizon: int, rng: np.random.Generator
) -> np.ndarray:
    """Scenarios from ``origin`` on: ``generator`` sees ``returns[:origin]`` only (rows before the origin)."""
    r = np.asarray(returns, dtype=float)
    if r.ndim == 1:
        r = r[:, None]
    out = generator(r[:origin].copy(), n, horizon, rng)
    if out.shape != (n, horizon, r.shape[1]):
        raise ValueError(f"generator returned {out.shape}, expected {(n, horizon, r.shape[1])}")
    return out
