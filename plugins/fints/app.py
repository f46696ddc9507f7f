"""The ``fints`` app: a conditional GAN for multivariate financial return series (market scenarios).

The generator sees the last ``--window`` daily log returns of every asset and a condition (a
volatility regime and/or user columns such as a VIX level) and produces the next ``--horizon``
returns of all assets jointly, from one noise vector per step. The critic reads the whole path
(past then future) with the condition and tells real continuations from generated ones. The
default loss is WGAN-GP (Gulrajani et al. 2017); longer scenarios are rolled out block by block,
each block's window being the end of the path so far.

The ``regime`` condition is the tercile (low/mid/high, thresholds from the training period) of
the realised volatility of the equal-weight portfolio over the generated block. Asked for
(``--condition regime=high``) it gives stress scenarios; left free, each block's regime is drawn
from the training period's regime transitions given the trailing realised volatility (a Markov
chain over regimes), so unconditional scenarios follow the market's current state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core import losses as L
from ganapps.core.app import App, Evaluation, OptimizerSpec
from ganapps.core.data import TensorData, batched
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.regularizers import gradient_penalty
from ganapps.plugins.fints import metrics as M
from ganapps.plugins.fints.data import REGIMES, Prices, load_prices, realised_vol, regime_of
from ganapps.plugins.fints.model import (
    ARTCNGenerator,
    GRUCritic,
    GRUGenerator,
    TCNCritic,
    TCNGenerator,
    VolGenerator,
)


@dataclass
class FinTSOptions:
    window: int = field(default=48, metadata={"help": "Past trading days the generator is conditioned on."})
    horizon: int = field(default=24, metadata={"help": "Days generated jointly per block (longer scenarios roll out)."})
    price_col: str = field(
        default="", metadata={"help": "Price column (default Adj_Close, Close or Price if present)."}
    )
    date_col: str = field(default="", metadata={"help": "Date column (default: a column named date/Date, if any)."})
    symbol_col: str = field(default="", metadata={"help": "Long form: ticker column (default symbol/ticker)."})
    tickers: str = field(default="", metadata={"help": "Comma-separated tickers to keep (default: all)."})
    missing: Literal["drop", "ffill"] = field(
        default="drop", metadata={"help": "A ticker missing on a date: drop the date, or carry the last price."}
    )
    regime: Literal["vol", "none"] = field(
        default="vol", metadata={"help": "Condition on the realised-volatility regime (low/mid/high) or not."}
    )
    condition_cols: str = field(
        default="", metadata={"help": "Comma-separated user condition columns (e.g. VIX), known at the window end."}
    )
    arch: Literal["tcn", "tcn-ar", "gru", "garch"] = field(
        default="tcn",
        metadata={
            "help": "Generator and critic: temporal convolutions (tcn; tcn-ar: the generator rolls out day by "
            "day, each generated day fed back), recurrent (gru), or a neural-GARCH generator (σ_t·ε_t, returns "
            "fed back) with the tcn critic (garch)."
        },
    )
    critic_ends: bool = field(
        default=False,
        metadata={
            "help": "The TCN critic also reads the first and the last quarter of the generated block on their "
            "own, so it sees volatility ramping up through a block."
        },
    )
    hidden: int = field(default=64, metadata={"help": "Width of generator and critic."})
    nz: int = field(default=8, metadata={"help": "Noise size per generated step."})
    loss: Literal["wgan-gp", "bce", "hinge", "lsgan"] = field(default="wgan-gp", metadata={"help": "Adversarial loss."})
    gp_weight: float = field(default=10.0, metadata={"help": "Gradient-penalty weight λ for wgan-gp."})
    regime_weight: float = field(
        default=1.0, metadata={"help": "Weight of the regime loss: a block's realised vol must lie in its regime."}
    )
    moment_weight: float = field(
        default=1.0,
        metadata={
            "help": "Weight of the moment-matching loss: generated vs real batch ACF of returns and of |returns|, "
            "leverage, return quantiles and cross-asset correlations (0 = off)."
        },
    )
    moment_lags: int = field(default=10, metadata={"help": "Lags 1..N of the moment-matching loss."})
    moment_facts: str = field(
        default="acf,acf_abs,leverage,quantiles,corr*20",
        metadata={
            "help": "Comma-separated facts the moment loss matches (of acf,acf_zero,acf_abs,leverage,quantiles,corr), "
            "each optionally weighted (corr*3)."
        },
    )
    moment_by_regime: bool = field(
        default=False,
        metadata={"help": "Match the moments within each volatility regime (conditional facts), not over the batch."},
    )
    disc_steps: int = field(
        default=500, metadata={"help": "Evaluation: Adam steps of the post-hoc GRU real/synthetic classifier."}
    )
    disc_repeats: int = field(default=1, metadata={"help": "Evaluation: discriminative score averaged over N seeds."})


@dataclass
class FinTSGenerateOptions:
    scenarios: int | None = field(default=None, metadata={"help": "Number of scenario paths (overrides -n)."})
    horizon: int | None = field(
        default=None, metadata={"help": "Steps per scenario (default: the run's held-out length, else --horizon)."}
    )
    start_window: str = field(
        default="last", metadata={"help": "Start after the last training day (last) or after DATE (YYYY-MM-DD)."}
    )


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


class FinTS(App):
    name = "fints"
    kind = "timeseries"
    description = "Conditional GAN for multi-asset return series: market scenarios (prices and returns)"
    Options = FinTSOptions
    GenerateOptions = FinTSGenerateOptions
    count_option = "scenarios"
    train_defaults = {"epochs": 30, "batch_size": 128, "n_critic": 2, "ema": 0.99}
    default_dataset = "oil-sample"
    output_suffix = ".parquet"

    # ---------------------------------------------------------------- data
    def load_data(self, source: Any) -> Prices:
        o = self.options
        return load_prices(
            source,
            price_col=o.price_col,
            date_col=o.date_col,
            symbol_col=o.symbol_col,
            tickers=o.tickers,
            condition_cols=o.condition_cols,
            missing=o.missing,
        )

    def split(self, data: Prices, holdout: float, seed: int) -> tuple[Prices, Prices]:
        """By time: the first days train, the last ``holdout`` share of returns is the realised future.

        The holdout keeps the last training price as its base, so its returns follow on directly.
        """
        n_ret = len(data) - 1
        k = int(round(n_ret * holdout))
        if holdout > 0:
            k = min(max(k, 1), n_ret - 1) if n_ret >= 2 else 0
        self._eval_steps = k
        cut = len(data) - k
        return data.rows(0, cut), data.rows(cut - 1, len(data))

    def fit(self, train: Prices) -> None:
        o = self.options
        if o.window < 2 or o.horizon < 1:
            raise ConfigError("options --window must be at least 2 and --horizon at least 1")
        self._moment_facts()
        r = train.returns()
        need = o.window + o.horizon + 8
        if len(r) < need:
            raise DataError(
                f"--data {train.where}: {len(r)} returns in the training period, but --window {o.window} + "
                f"--horizon {o.horizon} need at least {need}; use a longer history or smaller --window/--horizon"
            )
        mu, sd = r.mean(0), r.std(0)
        if (sd <= 0).any():
            raise DataError(f"--data {train.where}: ticker {train.tickers[int(np.argmin(sd))]!r} never moves")
        past, future, trail = self._windows(r)
        thresholds = np.quantile(realised_vol(future), [1 / 3, 2 / 3]).tolist()
        counts = np.ones((3, 3))
        np.add.at(counts, (regime_of(realised_vol(trail), thresholds), regime_of(realised_vol(future), thresholds)), 1)
        cm = train.conds.mean(0) if train.conds.shape[1] else np.zeros(0)
        cs = train.conds.std(0) + 1e-12 if train.conds.shape[1] else np.zeros(0)
        self.schema = {
            "tickers": train.tickers,
            "dates": train.dates,
            "cond_names": train.cond_names,
            "mu": mu.tolist(),
            "sd": sd.tolist(),
            "vol_thresholds": thresholds,
            "regime_transitions": (counts / counts.sum(1, keepdims=True)).tolist(),
            "cond_mean": cm.tolist(),
            "cond_sd": cs.tolist(),
            "eval_steps": int(getattr(self, "_eval_steps", 0)),
            "critic_ends": bool(o.critic_ends),  # bundles from before the option: a pooled-only critic
        }
        self.tensors = {
            "prices": torch.tensor(train.prices, dtype=torch.float64),
            "conds": torch.tensor(train.conds, dtype=torch.float64),
        }

    def _windows(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All (past, future, trailing) windows of the return history, stride 1."""
        w, h = self.options.window, self.options.horizon
        n = len(r) - w - h + 1
        idx = np.arange(n)[:, None]
        past = r[idx + np.arange(w)]
        future = r[idx + w + np.arange(h)]
        tail = min(w, h)
        return past, future, past[:, w - tail :]

    @property
    def assets(self) -> int:
        return len(self.schema["tickers"])

    @property
    def cond_width(self) -> int:
        return (3 if self.options.regime == "vol" else 0) + len(self.schema["cond_names"])

    def _scale(self, r: np.ndarray) -> np.ndarray:
        return (r - np.asarray(self.schema["mu"])) / np.asarray(self.schema["sd"])

    def _unscale(self, x: np.ndarray) -> np.ndarray:
        return x * np.asarray(self.schema["sd"]) + np.asarray(self.schema["mu"])

    def _user_conds(self, values: np.ndarray) -> np.ndarray:
        return (values - np.asarray(self.schema["cond_mean"])) / np.asarray(self.schema["cond_sd"])

    def _cond(self, regimes: np.ndarray | None, user: np.ndarray) -> np.ndarray:
        parts = []
        if self.options.regime == "vol":
            assert regimes is not None
            parts.append(np.eye(3)[regimes])
        parts.append(user.reshape(len(user), -1))
        return np.concatenate(parts, 1)

    def _training_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Standardised (past, future) windows of the training period and their conditions."""
        prices = self.tensors["prices"].numpy()
        r = np.diff(np.log(prices), axis=0)
        past, future, _ = self._windows(r)
        w = self.options.window
        regimes = regime_of(realised_vol(future), self.schema["vol_thresholds"])
        user = self._user_conds(self.tensors["conds"].numpy()[w : w + len(past)])  # at each window's last day
        return self._scale(past), self._scale(future), self._cond(regimes, user)

    def dataset(self, train: Prices) -> TensorData:
        past, future, cond = self._training_arrays()
        f = torch.float32
        return TensorData(torch.tensor(past, dtype=f), torch.tensor(future, dtype=f), torch.tensor(cond, dtype=f))

    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        return 200

    # ------------------------------------------------------------ networks
    def build(self) -> dict[str, torch.nn.Module]:
        o, a, c = self.options, self.assets, self.cond_width
        if o.arch == "gru":
            return {"generator": GRUGenerator(a, c, o.nz, o.hidden), "discriminator": GRUCritic(a, c, o.hidden)}
        critic = TCNCritic(a, c, o.hidden, ends=bool(self.schema.get("critic_ends", False)))
        if o.arch == "garch":
            return {"generator": VolGenerator(a, c, o.nz, o.hidden), "discriminator": critic}
        if o.arch == "tcn-ar":
            return {"generator": ARTCNGenerator(a, c, o.nz, o.hidden), "discriminator": critic}
        return {"generator": TCNGenerator(a, c, o.nz, o.hidden), "discriminator": critic}

    def configure_optimizers(self) -> list[OptimizerSpec]:
        betas = (0.0, 0.9) if self.options.loss == "wgan-gp" else (0.5, 0.999)
        return [
            OptimizerSpec("discriminator", ("discriminator",), lr=1e-3, betas=betas),
            OptimizerSpec("generator", ("generator",), lr=1e-3, betas=betas),
        ]

    # --------------------------------------------------------------- steps
    def noise(self, n: int, steps: int) -> Tensor:
        """One noise vector per day of the window and of the ``steps`` generated days."""
        return torch.randn(n, self.options.window + steps, self.options.nz, device=self.device)

    def critic(self, past: Tensor, future: Tensor, cond: Tensor) -> Tensor:
        # cuDNN has no double backward for RNNs; the gradient penalty needs one
        with torch.backends.cudnn.flags(enabled=False):
            return self.nets.discriminator(past, future, cond)

    def discriminator_step(self, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
        past, future, cond = batch
        with torch.no_grad():
            fake = self.nets.generator(past, cond, self.noise(len(past), future.shape[1]))
        d_real = self.critic(past, future, cond)
        d_fake = self.critic(past, fake, cond)
        o = self.options
        loss = L.LOSSES[o.loss][0](d_real, d_fake)
        if o.loss == "wgan-gp":
            loss = loss + o.gp_weight * gradient_penalty(lambda f: self.critic(past, f, cond), future, fake)
        return {"loss": loss, "d_real": d_real.mean(), "d_fake": d_fake.mean()}

    def generator_step(self, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
        past, future, cond = batch
        fake = self.nets.generator(past, cond, self.noise(len(past), future.shape[1]))
        adversarial = L.LOSSES[self.options.loss][1](self.critic(past, fake, cond))
        o = self.options
        out = {"adversarial": adversarial}
        loss = adversarial
        if o.regime == "vol" and o.regime_weight > 0:
            out["regime"] = self.regime_loss(fake, cond[:, :3])
            loss = loss + o.regime_weight * out["regime"]
        if o.moment_weight > 0:
            groups = cond[:, :3].argmax(1) if o.regime == "vol" and o.moment_by_regime else None
            out["moments"] = moment_loss(fake, future, o.moment_lags, groups, self._moment_facts())
            loss = loss + o.moment_weight * out["moments"]
        return {"loss": loss, **out}

    def _moment_facts(self) -> dict[str, float]:
        """--moment-facts as name → weight (``corr*3`` weighs a fact 3 times)."""
        text = self.options.moment_facts
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

    def regime_loss(self, fake: Tensor, onehot: Tensor) -> Tensor:
        """How far (in log volatility) each block's realised vol lies outside its regime's tercile band."""
        sd = torch.tensor(self.schema["sd"], device=fake.device, dtype=fake.dtype)
        mu = torch.tensor(self.schema["mu"], device=fake.device, dtype=fake.dtype)
        port = (fake * sd + mu).mean(2)
        log_vol = 0.5 * torch.log((port**2).mean(1) + 1e-12)
        lo, hi = (float(np.log(t)) for t in self.schema["vol_thresholds"])
        below = torch.stack([torch.zeros_like(log_vol), F.relu(lo - log_vol), F.relu(hi - log_vol)], 1)
        above = torch.stack([F.relu(log_vol - lo), F.relu(log_vol - hi), torch.zeros_like(log_vol)], 1)
        return ((below + above) * onehot).sum(1).mean()

    # ------------------------------------------------------------- outputs
    def _continue(self, past: np.ndarray, cond: np.ndarray) -> np.ndarray:
        """One generated block (B, H, A) after standardised windows ``past`` with conditions ``cond``."""
        G = self.nets.generator
        was = G.training
        G.eval()
        out = []
        with torch.no_grad():
            for a, b in batched(len(past), 1000):
                p = torch.tensor(past[a:b], dtype=torch.float32, device=self.device)
                c = torch.tensor(cond[a:b], dtype=torch.float32, device=self.device)
                out.append(G(p, c, self.noise(b - a, self.options.horizon)).float().cpu().numpy())
        G.train(was)
        return np.concatenate(out).astype(np.float64)

    def rollout(
        self, past: np.ndarray, steps: int, regime: int | None, user: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scenario returns (B, steps, A) after raw-return windows ``past`` (B, W, A), block by block.

        ``regime`` fixes every block's regime; None draws it from the training transitions given the
        trailing realised volatility. Returns the log returns and the regime of each step.
        """
        o = self.options
        n = len(past)
        hist = past.copy()
        blocks, regimes = [], []
        trans = torch.tensor(self.schema["regime_transitions"], dtype=torch.float64)
        done = 0
        while done < steps:
            reg = None
            if o.regime == "vol":
                if regime is not None:
                    reg = np.full(n, regime)
                else:
                    tail = hist[:, -min(o.window, o.horizon) :]
                    now = regime_of(realised_vol(tail), self.schema["vol_thresholds"])
                    reg = torch.multinomial(trans[torch.as_tensor(now)], 1).squeeze(1).numpy()
            x = self._continue(self._scale(hist[:, -o.window :]), self._cond(reg, user))
            block = self._unscale(x)
            hist = np.concatenate([hist[:, -o.window :], block], 1)
            blocks.append(block)
            regimes.append(np.repeat((reg if reg is not None else np.full(n, -1))[:, None], o.horizon, 1))
            done += o.horizon
        return np.concatenate(blocks, 1)[:, :steps], np.concatenate(regimes, 1)[:, :steps]

    def _start(self, start_window: str) -> int:
        """Index (into the training prices) of the last day before the scenarios start."""
        last = len(self.tensors["prices"]) - 1
        if start_window in ("", "last"):
            return last
        dates = self.schema.get("dates")
        if not dates:
            raise ConfigError("option --start-window DATE needs dates, and the training data had no date column")
        idx = int(np.searchsorted(np.asarray(dates), start_window, side="right")) - 1
        if idx < self.options.window:
            raise ConfigError(
                f"option --start-window {start_window}: needs {self.options.window} trading days before it; "
                f"the training data start on {dates[0]}"
            )
        if start_window > dates[-1]:
            raise ConfigError(
                f"option --start-window {start_window} is after the training period ({dates[0]} … {dates[-1]}); "
                "use last or a date inside it"
            )
        return idx

    def generate(
        self,
        n: int,
        condition: Mapping[str, Any] | None = None,
        scenarios: int | None = None,
        horizon: int | None = None,
        start_window: str = "last",
        **_: Any,
    ) -> Any:
        """``n`` (or ``scenarios``) price/return paths of ``horizon`` steps as a table with scenario and step."""
        import polars as pl

        n = int(scenarios or n)
        steps = int(horizon or self.schema.get("eval_steps") or self.options.horizon)
        if n < 1 or steps < 1:
            raise ConfigError("options --scenarios and --horizon must be at least 1")
        names = self.schema["cond_names"]
        regime, user_given = None, {}
        for key, value in (condition or {}).items():
            if key == "regime" and self.options.regime == "vol":
                if str(value) not in REGIMES:
                    raise ConfigError(f"--condition regime={value}: use one of {', '.join(REGIMES)}")
                regime = REGIMES.index(str(value))
            elif key in names:
                try:
                    user_given[key] = float(value)
                except ValueError:
                    raise ConfigError(f"--condition {key}={value}: {key} is a number") from None
            else:
                known = (["regime"] if self.options.regime == "vol" else []) + list(names)
                raise ConfigError(f"--condition {key}: {self.name} knows {known or 'no conditions'}")
        t0 = self._start(start_window)
        prices = self.tensors["prices"].numpy()
        r = np.diff(np.log(prices[: t0 + 1]), axis=0)
        past = np.repeat(r[None, -self.options.window :], n, 0)
        conds_now = self.tensors["conds"].numpy()[t0].copy()
        for i, c in enumerate(names):
            conds_now[i] = user_given.get(c, conds_now[i])
        user = np.repeat(self._user_conds(conds_now)[None], n, 0)
        rets, regs = self.rollout(past, steps, regime, user)
        paths = prices[t0] * np.exp(np.cumsum(rets, axis=1))
        cols: dict[str, Any] = {
            "scenario": np.repeat(np.arange(n, dtype=np.int32), steps),
            "step": np.tile(np.arange(1, steps + 1, dtype=np.int32), n),
        }
        if self.options.regime == "vol":
            cols["regime"] = np.asarray(REGIMES)[regs.ravel()]
        for a, t in enumerate(self.schema["tickers"]):
            cols[f"{t}_price"] = paths[:, :, a].ravel()
            cols[f"{t}_return"] = rets[:, :, a].ravel()
        return pl.DataFrame(cols)

    def load_samples(self, path: Path) -> Any:
        from ganapps.core.io import read_table

        df = read_table(path)
        need = ["scenario", "step"] + [f"{t}_return" for t in self.schema["tickers"]]
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise DataError(f"--synthetic {path}: column {missing[0]!r} is missing (write it with ganapps generate)")
        return df

    def paths(self, samples: Any) -> np.ndarray:
        """Scenario returns (n, L, A) from a generated table."""
        df = samples.sort(["scenario", "step"])
        n = df.get_column("scenario").n_unique()
        cols = [f"{t}_return" for t in self.schema["tickers"]]
        arr = df.select(cols).to_numpy().astype(np.float64)
        return arr.reshape(n, -1, len(cols))

    def sample_vectors(self, samples: Any) -> Tensor | None:
        if isinstance(samples, Prices):
            r = self._scale(samples.returns())
            h = self.options.horizon
            k = len(r) // h
            return torch.tensor(r[: k * h].reshape(k, -1), dtype=torch.float32) if k >= 2 else None
        # like the real side: consecutive blocks of --horizon days along each scenario path
        x = self._scale(self.paths(samples))
        h = self.options.horizon
        k = x.shape[1] // h
        if k == 0:
            return None
        x = x[:, : k * h].reshape(len(x) * k, -1)
        pick = np.random.default_rng(0).permutation(len(x))[:1000]
        return torch.tensor(x[np.sort(pick)], dtype=torch.float32)

    # ---------------------------------------------------------- evaluation
    def evaluate(self, real: Prices, synthetic: Any, train: Prices | None = None) -> Evaluation:
        from ganapps.plugins.fints.figures import acf_figure, block_figure, histogram_figure, paths_figure

        o, seed = self.options, self.train_config.seed
        gen = self.paths(synthetic)
        rng = np.random.default_rng(seed + 1)
        train_r = np.diff(np.log(self.tensors["prices"].numpy()), axis=0)
        methods: dict[str, np.ndarray] = {"ganapps": gen}
        metrics: dict[str, Any] = {}
        notes = [
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
        realised = real.returns() if len(real) > 1 else np.zeros((0, self.assets))
        length = min(len(realised), gen.shape[1])
        figures: dict[str, bytes] = {}
        if length >= 2 * M.LAGS + 2:
            realised = realised[:length]
            methods["gbm"] = M.gbm_paths(train_r, len(gen), length, rng)
            methods["bootstrap"] = M.bootstrap_paths(train_r, len(gen), length, rng)
            for name, p in methods.items():
                p = p[:, :length]
                metrics[name] = {**M.fact_errors(p, realised), **M.risk(p, realised)}
                metrics[name].update({f"predictive_{k}": v for k, v in M.predictive_score(p, realised).items()})
            real_pred = M.predictive_score(train_r[None], realised)
            metrics["real_train"] = {f"predictive_{k}": v for k, v in real_pred.items()}
            metrics["facts_better_than_gbm"] = sum(
                metrics["ganapps"][f] < metrics["gbm"][f] for f in M.FACTS if f in metrics["ganapps"]
            )
            metrics["facts_compared"] = sum(f in metrics["ganapps"] for f in M.FACTS)
            figures["scenario paths vs realised"] = paths_figure(
                {k: v[:, :length] for k, v in methods.items()}, realised, self.schema["tickers"]
            )
            figures["autocorrelation of returns and absolute returns"] = acf_figure(
                {k: v[:, :length] for k, v in methods.items()}, realised
            )
            figures["return histograms (log scale)"] = histogram_figure(
                {k: v[:, :length] for k, v in methods.items()}, realised
            )
        else:
            notes.append(f"out-of-sample metrics skipped: {length} realised days, need {2 * M.LAGS + 2}")
        # in-sample: continuations of training pasts vs the real continuations
        past, future, cond = self._training_arrays()
        pick = rng.permutation(len(past))[: min(len(past), 1000)]
        past, future, cond = past[pick], future[pick], cond[pick]
        fake = self._continue(past, cond)
        sd_train = self._scale(train_r)
        insample = {
            "ganapps": fake,
            "gbm": self._scale(M.gbm_paths(train_r, len(future), o.horizon, rng)),
            "bootstrap": M.bootstrap_paths(sd_train, len(future), o.horizon, rng),
        }
        all_windows = self._windows(sd_train)[1]
        for name, x in insample.items():
            ds = [M.discriminative_score(future, x, steps=o.disc_steps, seed=seed + k) for k in range(o.disc_repeats)]
            entry = metrics.setdefault(name, {})
            entry["discriminative_score"] = float(np.mean(ds))
            entry.update(M.copy_check(x, all_windows, o.horizon))
        metrics["block_vol_ramp"] = {
            "ganapps": M.block_vol_ramp(fake, o.horizon),
            "real": M.block_vol_ramp(future, o.horizon),
        }
        profiles = {
            "generated (in sample)": M.block_profile(fake, o.horizon),
            "real (in sample)": M.block_profile(future, o.horizon),
        }
        if gen.shape[1] >= o.horizon:
            scaled = self._scale(gen)
            metrics["block_vol_ramp"]["scenarios"] = M.block_vol_ramp(scaled, o.horizon)
            profiles["scenarios"] = M.block_profile(scaled, o.horizon)
        figures["volatility by day of a generated block"] = block_figure(profiles)
        if o.regime == "vol" and length >= 2:
            metrics["regime_vol"] = self._regime_check(min(len(gen), 200))
        return Evaluation(metrics=metrics, figures=figures, notes=notes)

    def _regime_check(self, n: int) -> dict[str, float]:
        """Realised daily volatility of the portfolio in one generated block, per regime asked for."""
        prices = self.tensors["prices"].numpy()
        r = np.diff(np.log(prices), axis=0)
        past = np.repeat(r[None, -self.options.window :], n, 0)
        user = np.repeat(self._user_conds(self.tensors["conds"].numpy()[-1])[None], n, 0)
        out = {}
        for i, name in enumerate(REGIMES):
            rets, _ = self.rollout(past, self.options.horizon, i, user)
            out[name] = float(realised_vol(rets).mean())
        return out
