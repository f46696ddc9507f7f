"""Scenario paths from a trained fints model, and the tables they are written to.

Scenarios longer than ``--horizon`` are rolled out block by block, each block's window being the
end of the path so far. The ``regime`` condition is the tercile (low/mid/high, thresholds from the
training period) of the realised volatility of the equal-weight portfolio over the generated
block. Asked for (``--condition regime=high``) it gives stress scenarios; left free, each block's
regime is drawn from the training period's regime transitions given the trailing realised
volatility (a Markov chain over regimes), so unconditional scenarios follow the market's current
state. User condition columns are held at their starting-day value (or the one given) throughout.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganapps.core.errors import ConfigError, DataError
from ganapps.plugins.fints.data import (
    REGIMES,
    Prices,
    condition_matrix,
    realised_vol,
    regime_of,
    standardise,
    standardise_conds,
)
from ganapps.plugins.fints.volscale import from_model, regime_returns, to_model, window_scale

if TYPE_CHECKING:
    from ganapps.plugins.fints.app import FinTS


def rollout(
    app: FinTS, past: np.ndarray, steps: int, regime: int | None, user: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scenario returns (B, steps, A) after raw-return windows ``past`` (B, W, A), block by block.

    ``regime`` fixes every block's regime; None draws it from the training transitions given the
    trailing realised volatility. Each block is generated in the units of its window (the training
    span's, or with ``--vol-scaling ewma`` the window's own volatility: :mod:`.volscale`).
    Returns the log returns and the regime of each step.
    """
    o, schema = app.options, app.schema
    n = len(past)
    hist = past.copy()
    blocks, regimes = [], []
    trans = torch.tensor(schema["regime_transitions"], dtype=torch.float64)
    done = 0
    while done < steps:
        win = hist[:, -o.window :]
        scale = window_scale(win, schema)
        reg = None
        if o.regime == "vol":
            if regime is not None:
                reg = np.full(n, regime)
            else:
                tail = regime_returns(hist[:, -min(o.window, o.horizon) :], scale)
                now = regime_of(realised_vol(tail), schema["vol_thresholds"])
                reg = torch.multinomial(trans[torch.as_tensor(now)], 1).squeeze(1).numpy()
        x = app._continue(to_model(win, scale, schema), condition_matrix(reg, user, o.regime == "vol"))
        block = from_model(x, scale, schema)
        hist = np.concatenate([hist[:, -o.window :], block], 1)
        blocks.append(block)
        regimes.append(np.repeat((reg if reg is not None else np.full(n, -1))[:, None], o.horizon, 1))
        done += o.horizon
    return np.concatenate(blocks, 1)[:, :steps], np.concatenate(regimes, 1)[:, :steps]


def start_index(start_window: str, dates: list[str] | None, n_prices: int, window: int) -> int:
    """Index (into the ``n_prices`` training prices) of the last day before the scenarios start."""
    last = n_prices - 1
    if start_window in ("", "last"):
        return last
    if not dates:
        raise ConfigError("option --start-window DATE needs dates, and the training data had no date column")
    idx = int(np.searchsorted(np.asarray(dates), start_window, side="right")) - 1
    if idx < window:
        raise ConfigError(
            f"option --start-window {start_window}: needs {window} trading days before it; "
            f"the training data start on {dates[0]}"
        )
    if start_window > dates[-1]:
        raise ConfigError(
            f"option --start-window {start_window} is after the training period ({dates[0]} … {dates[-1]}); "
            "use last or a date inside it"
        )
    return idx


def parse_condition(
    condition: Mapping[str, Any] | None, regime_on: bool, names: list[str], app_name: str
) -> tuple[int | None, dict[str, float]]:
    """``--condition`` → (the regime asked for or None, the user condition values given)."""
    regime, user_given = None, {}
    for key, value in (condition or {}).items():
        if key == "regime" and regime_on:
            if str(value) not in REGIMES:
                raise ConfigError(f"--condition regime={value}: use one of {', '.join(REGIMES)}")
            regime = REGIMES.index(str(value))
        elif key in names:
            try:
                user_given[key] = float(value)
            except ValueError:
                raise ConfigError(f"--condition {key}={value}: {key} is a number") from None
        else:
            known = (["regime"] if regime_on else []) + list(names)
            raise ConfigError(f"--condition {key}: {app_name} knows {known or 'no conditions'}")
    return regime, user_given


def generate(
    app: FinTS, n: int, condition: Mapping[str, Any] | None, steps: int, start_window: str, data: str = ""
) -> Any:
    """``n`` scenario paths of ``steps`` days after ``start_window``, as a scenario table.

    Without ``data`` the window is taken from the training prices; with it (a price file with the
    training tickers, e.g. one extending past the training period) from that file's prices, which
    the model may never have seen: see :mod:`.live`.
    """
    from ganapps.plugins.fints import live

    o, schema = app.options, app.schema
    regime, user_given = parse_condition(condition, o.regime == "vol", schema["cond_names"], app.name)
    if data:
        prices = live.load_new_prices(app, data)
        t0 = live.origin_index(start_window, prices, o.window)
    else:
        prices = Prices(app.tensors["prices"].numpy(), schema["tickers"], schema.get("dates"),
                        app.tensors["conds"].numpy(), schema["cond_names"])  # fmt: skip
        t0 = start_index(start_window, schema.get("dates"), len(prices), o.window)
    rets, regs = scenarios_after(app, prices, t0, n, steps, regime, user_given)
    return scenario_table(prices.prices[t0], rets, regs if o.regime == "vol" else None, schema["tickers"])


def scenarios_after(
    app: FinTS,
    prices: Prices,
    t0: int,
    n: int,
    steps: int,
    regime: int | None = None,
    user_given: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scenario log returns (n, steps, A) and regimes after day ``t0`` of ``prices`` (the training
    tickers, in order): the window is the ``--window`` returns up to ``t0``, in the model's units
    (training statistics, or the window's own EWMA σ: :mod:`.volscale`); the user conditions are
    their values on ``t0`` unless given."""
    o, schema = app.options, app.schema
    r = np.diff(np.log(prices.prices[t0 - o.window : t0 + 1]), axis=0)
    past = np.repeat(r[None], n, 0)
    conds_now = np.asarray(prices.conds[t0], dtype=np.float64).copy()
    for i, c in enumerate(schema["cond_names"]):
        conds_now[i] = (user_given or {}).get(c, conds_now[i])
    user = np.repeat(standardise_conds(conds_now, schema)[None], n, 0)
    return rollout(app, past, steps, regime, user)


def scenario_table(start_prices: np.ndarray, rets: np.ndarray, regs: np.ndarray | None, tickers: list[str]) -> Any:
    """Scenario log returns (n, L, A) from prices ``start_prices`` (A,) → a table with one row per
    scenario and step: scenario, step, regime (when ``regs`` is given), <ticker>_price, <ticker>_return."""
    import polars as pl

    n, steps = rets.shape[:2]
    paths = start_prices * np.exp(np.cumsum(rets, axis=1))
    cols: dict[str, Any] = {
        "scenario": np.repeat(np.arange(n, dtype=np.int32), steps),
        "step": np.tile(np.arange(1, steps + 1, dtype=np.int32), n),
    }
    if regs is not None:
        cols["regime"] = np.asarray(REGIMES)[regs.ravel()]
    for a, t in enumerate(tickers):
        cols[f"{t}_price"] = paths[:, :, a].ravel()
        cols[f"{t}_return"] = rets[:, :, a].ravel()
    return pl.DataFrame(cols)


def read_scenarios(path: Path, tickers: list[str]) -> Any:
    """A scenario table written by ``ganapps generate`` (CSV or Parquet)."""
    from ganapps.core.io import read_table

    df = read_table(path)
    need = ["scenario", "step"] + [f"{t}_return" for t in tickers]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"--synthetic {path}: column {missing[0]!r} is missing (write it with ganapps generate)")
    return df


def scenario_returns(table: Any, tickers: list[str]) -> np.ndarray:
    """Scenario returns (n, L, A) from a scenario table."""
    df = table.sort(["scenario", "step"])
    n = df.get_column("scenario").n_unique()
    cols = [f"{t}_return" for t in tickers]
    arr = df.select(cols).to_numpy().astype(np.float64)
    return arr.reshape(n, -1, len(cols))


def block_vectors(samples: Prices | Any, schema: dict[str, Any], horizon: int) -> Any:
    """Real prices or a scenario table as flat standardised blocks of ``horizon`` days (a float32
    tensor, one block a row; at most 1,000 scenario blocks), or None when there are too few."""
    import torch

    if isinstance(samples, Prices):
        r = standardise(samples.returns(), schema)
        k = len(r) // horizon
        return torch.tensor(r[: k * horizon].reshape(k, -1), dtype=torch.float32) if k >= 2 else None
    # like the real side: consecutive blocks of --horizon days along each scenario path
    x = standardise(scenario_returns(samples, schema["tickers"]), schema)
    k = x.shape[1] // horizon
    if k == 0:
        return None
    x = x[:, : k * horizon].reshape(len(x) * k, -1)
    pick = np.random.default_rng(0).permutation(len(x))[:1000]
    return torch.tensor(x[np.sort(pick)], dtype=torch.float32)
