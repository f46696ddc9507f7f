"""The ``fints`` app: a conditional GAN for multivariate financial return series (market scenarios).

The generator sees the last ``--window`` daily log returns of every asset and a condition (a
volatility regime and/or user columns such as a VIX level) and produces the next ``--horizon``
returns of all assets jointly, from one noise vector per step. The critic reads the whole path
(past then future) with the condition and tells real continuations from generated ones.

Where to read what: the networks are in :mod:`.model`, the objective (WGAN-GP with a regime and a
moment-matching term) in :mod:`.losses`, the price tables and the windows the model sees in
:mod:`.data`, the block-by-block scenario rollout and the regime chain in :mod:`.scenarios`, the
evaluation in :mod:`.metrics`, the options in :mod:`.options`. This module is the glue.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganapps.core.app import App, Evaluation, OptimizerSpec
from ganapps.core.data import TensorData, batched
from ganapps.core.devices import eval_mode
from ganapps.core.errors import ConfigError
from ganapps.plugins.fints import data as D
from ganapps.plugins.fints import evaluation as E
from ganapps.plugins.fints import metrics as M
from ganapps.plugins.fints import scenarios as S
from ganapps.plugins.fints.data import Prices, load_prices
from ganapps.plugins.fints.losses import critic_loss, generator_loss, parse_moment_facts
from ganapps.plugins.fints.meanings import meanings
from ganapps.plugins.fints.model import build_networks
from ganapps.plugins.fints.options import FinTSGenerateOptions, FinTSOptions
from ganapps.plugins.fints.volscale import window_scale

__all__ = ["FinTS", "FinTSGenerateOptions", "FinTSOptions"]


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
    metric_meanings = meanings()

    def next_commands(self, run: str, data: str | None) -> list[tuple[str, str]]:
        out = [
            (
                f"ganapps generate {run} --scenarios 1000 --horizon 20",
                f"1,000 scenario paths of 20 trading days after the last training day, into {run}/generated-1000.parquet",
            )
        ]
        if self.options.regime == "vol":
            out.append(
                (
                    f"ganapps generate {run} --scenarios 1000 --horizon 20 --condition regime=high --out stress.parquet",
                    "the same in the high-volatility regime (a stress scenario set)",
                )
            )
        return out

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
            where=self.data_name(source),
        )

    def split(self, data: Prices, holdout: float, seed: int) -> tuple[Prices, Prices]:
        """By time: the first days train, the last ``holdout`` share of returns is the realised future."""
        train, held, self._eval_steps = D.split_by_time(data, holdout)
        return train, held

    def fit(self, train: Prices) -> None:
        o = self.options
        if o.window < 2 or o.horizon < 1:
            raise ConfigError("options --window must be at least 2 and --horizon at least 1")
        parse_moment_facts(o.moment_facts)
        E.check_options(o)  # the backtest's options, checked before training rather than after
        self.schema = {
            **D.training_schema(train, o.window, o.horizon, o.vol_scaling),
            "eval_steps": int(getattr(self, "_eval_steps", 0)),
            "critic_ends": bool(o.critic_ends),  # bundles from before the option: a pooled-only critic
        }
        self.tensors = {
            "prices": torch.tensor(train.prices, dtype=torch.float64),
            "conds": torch.tensor(train.conds, dtype=torch.float64),
        }

    @property
    def assets(self) -> int:
        return len(self.schema["tickers"])

    @property
    def cond_width(self) -> int:
        return (3 if self.options.regime == "vol" else 0) + len(self.schema["cond_names"])

    def _windows(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return D.windows(r, self.options.window, self.options.horizon)

    def _scale(self, r: np.ndarray) -> np.ndarray:
        return D.standardise(r, self.schema)

    def _user_conds(self, values: np.ndarray) -> np.ndarray:
        return D.standardise_conds(values, self.schema)

    def _training_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Standardised (past, future) windows of the training period and their conditions."""
        o, t = self.options, self.tensors
        return D.training_windows(
            t["prices"].numpy(), t["conds"].numpy(), self.schema, o.window, o.horizon, o.regime == "vol"
        )

    def _training_scales(self) -> np.ndarray | None:
        """Each training window's scale (N, A) under ``--vol-scaling ewma``, else None (:mod:`.volscale`)."""
        r = np.diff(np.log(self.tensors["prices"].numpy()), axis=0)
        return window_scale(self._windows(r)[0], self.schema)

    def dataset(self, train: Prices) -> TensorData:
        past, future, cond = self._training_arrays()
        f = torch.float32
        return TensorData(torch.tensor(past, dtype=f), torch.tensor(future, dtype=f), torch.tensor(cond, dtype=f))

    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        return 200

    # ------------------------------------------------------------ networks
    def build(self) -> dict[str, torch.nn.Module]:
        o = self.options
        ends = bool(self.schema.get("critic_ends", False))
        return build_networks(o.arch, self.assets, self.cond_width, o.nz, o.hidden, ends)

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
        return critic_loss(self.critic, past, future, fake, cond, self.options.loss, self.options.gp_weight)

    def generator_step(self, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
        past, future, cond = batch
        fake = self.nets.generator(past, cond, self.noise(len(past), future.shape[1]))
        return generator_loss(self.critic(past, fake, cond), fake, future, cond, self.options, self.schema)

    # ------------------------------------------------------------- outputs
    def _continue(self, past: np.ndarray, cond: np.ndarray) -> np.ndarray:
        """One generated block (B, H, A) after standardised windows ``past`` with conditions ``cond``."""
        G = self.nets.generator
        out = []
        with eval_mode(G):
            for a, b in batched(len(past), 1000):
                p = torch.tensor(past[a:b], dtype=torch.float32, device=self.device)
                c = torch.tensor(cond[a:b], dtype=torch.float32, device=self.device)
                out.append(G(p, c, self.noise(b - a, self.options.horizon)).float().cpu().numpy())
        return np.concatenate(out).astype(np.float64)

    def rollout(
        self, past: np.ndarray, steps: int, regime: int | None, user: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scenario returns and regimes after raw-return windows ``past``, block by block (:func:`.scenarios.rollout`)."""
        return S.rollout(self, past, steps, regime, user)

    def generate(
        self,
        n: int,
        condition: Mapping[str, Any] | None = None,
        scenarios: int | None = None,
        horizon: int | None = None,
        start_window: str = "last",
        data: str = "",
        **_: Any,
    ) -> Any:
        """``n`` (or ``scenarios``) price/return paths of ``horizon`` steps as a table with scenario and step."""
        n = int(scenarios or n)
        steps = int(horizon or self.schema.get("eval_steps") or self.options.horizon)
        if n < 1 or steps < 1:
            raise ConfigError("options --scenarios and --horizon must be at least 1")
        return S.generate(self, n, condition, steps, start_window, data)

    def load_samples(self, path: Path) -> Any:
        return S.read_scenarios(path, self.schema["tickers"])

    def paths(self, samples: Any) -> np.ndarray:
        """Scenario returns (n, L, A) from a generated table."""
        return S.scenario_returns(samples, self.schema["tickers"])

    def sample_vectors(self, samples: Any) -> Tensor | None:
        return S.block_vectors(samples, self.schema, self.options.horizon)

    # ---------------------------------------------------------- evaluation
    def evaluate(self, real: Prices, synthetic: Any, train: Prices | None = None) -> Evaluation:
        ev = M.evaluate(self, real, synthetic)
        E.add_intervals(self, real, synthetic, ev)
        E.add_backtest(self, real, ev)
        return ev
