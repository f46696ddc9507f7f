"""The fints objective: a conditional WGAN-GP on return windows with a regime and a moment term.

With x = (past, future) a real window of standardised log returns (W days, then H days), c its
condition (the regime of the future block as a one-hot, then the user's condition columns at the
window's last day), z one noise vector per day and x̃ = G(past, c, z) the generated block, the
critic D scores whole paths (past followed by a future) and the two players minimise

    L_D = E[D(past, x̃, c)] − E[D(past, future, c)] + λ · E[(‖∇ D(past, x̂, c)‖ − 1)²]
    L_G = −E[D(past, x̃, c)] + μ · L_regime(x̃, c) + ν · L_moments(x̃, future)

(Gulrajani et al. 2017: x̂ random interpolates of future and x̃, λ = ``--gp-weight`` 10;
μ = ``--regime-weight`` 1, with ``--regime vol`` only; ν = ``--moment-weight`` 1). ``--loss bce|hinge|lsgan`` swap the
adversarial pair for those of :mod:`ganapps.core.losses` and drop the penalty.

- L_regime: how far, in log volatility, the realised volatility √mean(r_p²) of the block's
  equal-weight portfolio lies outside the tercile band of the regime it was asked for (0 inside
  it) — the conditional counterpart of CTGAN's conditional-generator loss;
- L_moments: the mean over stylized facts m of mean |m(x̃) − m(future)| over the batch, computed
  differentiably (:func:`batch_moments`): the ACF of returns and of |returns| and the leverage
  corr(r_t, r²_{t+k}) at lags 1..``--moment-lags``, 9 return quantiles per asset and the
  cross-asset correlations; ``--moment-facts`` picks and weighs them, ``--moment-by-regime``
  matches them within each regime of the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core import losses as L
from ganapps.core.errors import ConfigError
from ganapps.core.regularizers import gradient_penalty

if TYPE_CHECKING:
    from ganapps.plugins.fints.options import FinTSOptions


def _pooled_corr(a: Tensor, b: Tensor) -> Tensor:
    """Correlation of ``a`` and ``b`` (B, T', A) pooled over windows and days, per asset: (A,)."""
    a = a - a.mean((0, 1))
    b = b - b.mean((0, 1))
    return (a * b).mean((0, 1)) / (a.pow(2).mean((0, 1)).sqrt() * b.pow(2).mean((0, 1)).sqrt() + 1e-8)


MOMENT_FACTS = ("acf", "acf_zero", "acf_abs", "leverage", "quantiles", "corr")
DEFAULT_MOMENT_FACTS = ("acf", "acf_abs", "leverage", "quantiles", "corr")


def batch_moments(
    x: Tensor, lags: int, facts: tuple[str, ...] = DEFAULT_MOMENT_FACTS, target: bool = False
) -> dict[str, Tensor]:
    """Differentiable stylized facts of windows ``x`` (B, H, A), those named in ``facts``, each a flat
    tensor: ACF of returns (``acf``; ``acf_zero``: the same, but its target is 0 — no linear
    predictability — rather than the sample's) and of |returns| (``acf_abs``) and the leverage
    corr(r_t, r²_{t+k}) (``leverage``) at lags 1..``lags`` (pooled over the batch; lag-major, then
    asset), 9 return quantiles per asset (``quantiles``) and the cross-asset correlations (``corr``),
    each window's own, averaged over the windows, as the scenario metrics average each path's.
    ``target``: ``x`` is the real batch."""
    lags = min(lags, x.shape[1] - 1)
    lagged = {"acf": lambda a, b: (a, b), "acf_zero": lambda a, b: (a, b)}
    lagged |= {"acf_abs": lambda a, b: (a.abs(), b.abs()), "leverage": lambda a, b: (a, b.pow(2))}
    out: dict[str, Tensor] = {}
    for name, f in lagged.items():
        if name in facts:
            out[name] = torch.stack([_pooled_corr(*f(x[:, :-k], x[:, k:])) for k in range(1, lags + 1)]).reshape(-1)
            if name == "acf_zero" and target:
                out[name] = torch.zeros_like(out[name])
    flat = x.reshape(-1, x.shape[2])
    if "quantiles" in facts:
        q = torch.tensor([0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99], device=x.device, dtype=x.dtype)
        out["quantiles"] = torch.quantile(flat, q, dim=0).reshape(-1)
    if "corr" in facts and x.shape[2] > 1:  # cross-asset correlations (upper triangle), mean over windows
        d = x - x.mean(1, keepdim=True)
        cov = torch.einsum("bta,btc->bac", d, d)
        sd = torch.diagonal(cov, dim1=1, dim2=2).sqrt() + 1e-8
        i, j = torch.triu_indices(x.shape[2], x.shape[2], 1, device=x.device)
        out["corr"] = (cov / (sd[:, :, None] * sd[:, None, :]))[:, i, j].mean(0)
    return out


def moment_loss(
    fake: Tensor,
    real: Tensor,
    lags: int,
    groups: Tensor | None = None,
    facts: tuple[str, ...] | Mapping[str, float] = DEFAULT_MOMENT_FACTS,
) -> Tensor:
    """Mean absolute difference of the generated batch's stylized facts from the real batch's, averaged
    per fact and then over the facts, so that each fact counts the same however many numbers it has
    (the 6 correlations of 4 assets as much as their 120 autocorrelations); ``facts`` given as a
    mapping name → weight makes that a weighted mean.

    With ``groups`` (one label per window, e.g. its volatility regime) the facts are matched within
    each group — conditional stylized facts — and the differences averaged over the groups.
    """

    weights = dict(facts) if isinstance(facts, Mapping) else dict.fromkeys(facts, 1.0)
    names = tuple(weights)

    def diff(f: Tensor, r: Tensor) -> Tensor:
        mf, mr = batch_moments(f, lags, names), batch_moments(r, lags, names, target=True)
        w = torch.tensor([weights[k] for k in mf], device=f.device, dtype=f.dtype)
        return (torch.stack([(mf[k] - mr[k]).abs().mean() for k in mf]) * w).sum() / w.sum()

    if groups is None:
        return diff(fake, real)
    masks = [groups == g for g in groups.unique()]
    return torch.stack([diff(fake[m], real[m]) for m in masks if int(m.sum()) >= 2]).mean()


def parse_moment_facts(text: str) -> dict[str, float]:
    """--moment-facts as name → weight (``corr*3`` weighs a fact 3 times)."""
    facts: dict[str, float] = {}
    for item in (t.strip() for t in text.split(",") if t.strip()):
        name, _, weight = item.partition("*")
        try:
            facts[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            facts[name.strip()] = -1.0
        if name.strip() not in MOMENT_FACTS or facts[name.strip()] <= 0:
            raise ConfigError(
                f"option --moment-facts {text!r}: {item!r} is not one of {', '.join(MOMENT_FACTS)} "
                "(optionally *WEIGHT, a positive number)"
            )
    if not facts:
        raise ConfigError(f"option --moment-facts {text!r}: name at least one of {', '.join(MOMENT_FACTS)}")
    return facts


def regime_loss(fake: Tensor, onehot: Tensor, schema: Mapping[str, Any]) -> Tensor:
    """How far (in log volatility) each block's realised vol lies outside its regime's tercile band.

    ``schema`` holds the training returns' ``mu`` and ``sd`` (to undo the standardisation) and the
    regimes' ``vol_thresholds``; with ``--vol-scaling ewma`` the blocks are already in the regimes'
    units (relative to the window's volatility)."""
    if schema.get("vol_scaling", "none") == "ewma":
        port = fake.mean(2)
    else:
        sd = torch.tensor(schema["sd"], device=fake.device, dtype=fake.dtype)
        mu = torch.tensor(schema["mu"], device=fake.device, dtype=fake.dtype)
        port = (fake * sd + mu).mean(2)
    log_vol = 0.5 * torch.log((port**2).mean(1) + 1e-12)
    lo, hi = (float(np.log(t)) for t in schema["vol_thresholds"])
    below = torch.stack([torch.zeros_like(log_vol), F.relu(lo - log_vol), F.relu(hi - log_vol)], 1)
    above = torch.stack([F.relu(log_vol - lo), F.relu(log_vol - hi), torch.zeros_like(log_vol)], 1)
    return ((below + above) * onehot).sum(1).mean()


Critic = Callable[[Tensor, Tensor, Tensor], Tensor]


def critic_loss(
    critic: Critic, past: Tensor, future: Tensor, fake: Tensor, cond: Tensor, loss: str, gp_weight: float
) -> dict[str, Tensor]:
    """L_D: the critic's adversarial loss on real and generated blocks (+ λ·GP for wgan-gp)."""
    d_real = critic(past, future, cond)
    d_fake = critic(past, fake, cond)
    total = L.LOSSES[loss][0](d_real, d_fake)
    if loss == "wgan-gp":
        total = total + gp_weight * gradient_penalty(lambda f: critic(past, f, cond), future, fake)
    return {"loss": total, "d_real": d_real.mean(), "d_fake": d_fake.mean()}


def generator_loss(
    d_fake: Tensor, fake: Tensor, future: Tensor, cond: Tensor, o: FinTSOptions, schema: Mapping[str, Any]
) -> dict[str, Tensor]:
    """L_G from the critic's scores ``d_fake`` of the generated blocks ``fake``: the adversarial term,
    plus the regime and moment terms as the options ``o`` weigh them (``schema``: the training
    returns' mean, sd and regime thresholds, for the regime term)."""
    adversarial = L.LOSSES[o.loss][1](d_fake)
    out = {"adversarial": adversarial}
    loss = adversarial
    if o.regime == "vol" and o.regime_weight > 0:
        out["regime"] = regime_loss(fake, cond[:, :3], schema)
        loss = loss + o.regime_weight * out["regime"]
    if o.moment_weight > 0:
        groups = cond[:, :3].argmax(1) if o.regime == "vol" and o.moment_by_regime else None
        out["moments"] = moment_loss(fake, future, o.moment_lags, groups, parse_moment_facts(o.moment_facts))
        loss = loss + o.moment_weight * out["moments"]
    return {"loss": loss, **out}
