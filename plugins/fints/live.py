"""Train once, generate every day: scenarios from a price file the model never saw.

A risk desk trains a model, then each morning asks it for scenarios from today's window:
``ganapps generate RUN --data prices.csv --start-window DATE|last``. The file is read with the
run's own reading options (price, date, symbol and condition columns, ``--missing``) and must hold
exactly the training tickers; the window is standardised with the *training* statistics stored in
the bundle (mean, sd, regime thresholds, condition scaling), never the new data's, so the model
sees the same scale it was trained on; a model trained with ``--vol-scaling ewma`` divides the
window by the window's own EWMA volatility instead (:mod:`.volscale`), which nothing after the start
day changes. Checks, each a one-line error: a ticker missing or unknown,
fewer than ``--window`` returns before the start day, a start day outside the file, and a gap of
more than :data:`MAX_GAP_DAYS` calendar days inside the window (a missing stretch of prices would
turn into one huge return the model never saw).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from ganapps.core.errors import ConfigError, DataError
from ganapps.plugins.fints.data import Prices

if TYPE_CHECKING:
    from ganapps.plugins.fints.app import FinTS

#: the longest calendar gap between two rows of a window (a long holiday weekend is 4–5 days)
MAX_GAP_DAYS = 10


def load_new_prices(app: FinTS, path: str) -> Prices:
    """Prices of the training tickers (in the training order) from ``path``, read with the run's options."""
    where = f"--data {path}"
    data = app.load_data(path)
    data.where = where
    known = list(app.schema["tickers"])
    unknown = [t for t in data.tickers if t not in known]
    if unknown:
        raise DataError(f"{where}: unknown ticker {unknown[0]!r}: the model was trained on {known}")
    missing = [t for t in known if t not in data.tickers]
    if missing:
        raise DataError(f"{where}: ticker {missing[0]!r} of the training data is missing (the file has {data.tickers})")
    order = [data.tickers.index(t) for t in known]
    return Prices(data.prices[:, order], known, data.dates, data.conds, data.cond_names, where)


def origin_index(start_window: str, prices: Prices, window: int) -> int:
    """Index of the last day before the scenarios (``last``, or the last day on or before DATE), checked."""
    where, dates = prices.where, prices.dates
    if start_window in ("", "last"):
        t0 = len(prices) - 1
    else:
        if not dates:
            raise ConfigError(f"option --start-window {start_window}: {where} has no date column; use last")
        if start_window < dates[0] or start_window > dates[-1]:
            raise ConfigError(f"option --start-window {start_window} is outside {where} ({dates[0]} … {dates[-1]})")
        t0 = int(np.searchsorted(np.asarray(dates), start_window, side="right")) - 1
    if t0 < window:
        when = f"up to {dates[t0]}" if dates else "in it"
        raise DataError(
            f"{where}: {t0} returns {when}, but the model's --window {window} needs {window}; give a longer history"
        )
    if dates:
        check_gaps(dates[t0 - window : t0 + 1], where)
    return t0


def check_gaps(dates: list[str], where: str) -> None:
    """A DataError naming the first gap of more than :data:`MAX_GAP_DAYS` calendar days in ``dates``."""
    days = np.array([date.fromisoformat(d).toordinal() for d in dates])
    gaps = np.diff(days)
    if len(gaps) and gaps.max() > MAX_GAP_DAYS:
        i = int(np.argmax(gaps > MAX_GAP_DAYS))
        raise DataError(
            f"{where}: a gap of {int(gaps[i])} days between {dates[i]} and {dates[i + 1]} inside the window before "
            f"the start; the window needs consecutive trading days (at most {MAX_GAP_DAYS} calendar days apart)"
        )
