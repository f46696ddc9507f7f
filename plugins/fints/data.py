"""Price tables → aligned price matrices → log returns, windows and volatility regimes.

Two layouts are read:

- **wide**: an optional date column and one price column per ticker (``date,AAPL,GOOG``), or a
  single asset's OHLCV table (``Open,High,Low,Close,Adj_Close,Volume``), where the price column
  (``--price-col``, default ``Adj_Close``/``Close``/``Price`` if present) is the one series;
- **long**: ``date, symbol, price`` rows (``--symbol-col``, ``--price-col``), pivoted to wide.

Rows are trading days in time order; weekends and holidays are not invented, so a return spans
whatever calendar gap separates two rows. A ticker missing on a date (another exchange's
holiday, a later listing) is handled by ``--missing drop`` (drop the date for all tickers, so
the next return covers the gap) or ``ffill`` (carry the last price: a zero return that day).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ganapps.core.errors import ConfigError, DataError
from ganapps.plugins.fints import volscale as V

DATE_NAMES = ("date", "datetime", "timestamp", "time", "day")
SYMBOL_NAMES = ("symbol", "ticker", "asset", "name")
PRICE_NAMES = ("adj_close", "adj close", "adj.close", "adjclose", "adjusted", "close", "price")
INDEX_NAMES = ("rownames", "", "index", "unnamed: 0")
REGIMES = ("low", "mid", "high")


@dataclass
class Prices:
    """Aligned prices of ``len(tickers)`` assets on ``len(self)`` trading days, oldest first."""

    prices: np.ndarray  # (T, A) float64, all > 0
    tickers: list[str]
    dates: list[str] | None  # ISO dates, or None when the file has no date column
    conds: np.ndarray  # (T, C) float64 user condition columns (C may be 0)
    cond_names: list[str]
    where: str = "data"

    def __len__(self) -> int:
        return int(self.prices.shape[0])

    def rows(self, a: int, b: int) -> Prices:
        return Prices(
            self.prices[a:b],
            self.tickers,
            self.dates[a:b] if self.dates is not None else None,
            self.conds[a:b],
            self.cond_names,
            self.where,
        )

    def returns(self) -> np.ndarray:
        """Log returns ``log(p_t / p_{t-1})``, shape (T-1, A)."""
        return np.diff(np.log(self.prices), axis=0)


def _split_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


def _find(columns: list[str], given: str, names: tuple[str, ...], option: str, where: str) -> str | None:
    if given:
        if given not in columns:
            raise DataError(f"{where}: option {option} names column {given!r}, which is not in {columns}")
        return given
    lower = {c.lower().strip(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _parse_dates(df: Any, col: str, where: str) -> list[str]:
    import polars as pl

    s = df.get_column(col)
    if s.null_count():
        row = int(s.is_null().arg_max())
        raise DataError(f"{where}: column {col!r} has an empty date at row {row + 1}")
    if s.dtype == pl.Utf8:
        parsed = s.str.strip_chars().str.to_date(strict=False)
        if parsed.null_count():
            parsed2 = s.str.strip_chars().str.to_datetime(strict=False)
            if parsed2.null_count():
                row = int(parsed2.is_null().arg_max())
                raise DataError(f"{where}: column {col!r} has {s[row]!r} at row {row + 1}, which is not a date")
            parsed = parsed2.dt.date()
        s = parsed
    elif s.dtype == pl.Datetime:
        s = s.dt.date()
    elif s.dtype != pl.Date:
        raise DataError(f"{where}: column {col!r} holds {s.dtype}, not dates (name the date column with --date-col)")
    return [d.isoformat() for d in s.to_list()]


def _check_increasing(dates: list[str], where: str, col: str, label: str = "") -> None:
    for i in range(1, len(dates)):
        if dates[i] <= dates[i - 1]:
            what = "repeats" if dates[i] == dates[i - 1] else "goes back in time"
            raise DataError(
                f"{where}: dates in column {col!r}{label} are not increasing: {dates[i]} after {dates[i - 1]} "
                f"(row {i + 1}) {what}; sort the file by date"
            )


def _numeric(df: Any, col: str, where: str) -> np.ndarray:
    import polars as pl

    s = df.get_column(col)
    if s.dtype == pl.Utf8:
        cast = s.str.strip_chars().cast(pl.Float64, strict=False)
        bad = cast.is_null() & s.is_not_null() & (s.str.strip_chars() != "")
        if bad.any():
            row = int(bad.arg_max())
            raise DataError(f"{where}: column {col!r} has {s[row]!r} at row {row + 1}, which is not a number")
        s = cast
    elif not s.dtype.is_numeric():
        raise DataError(f"{where}: column {col!r} holds {s.dtype}, not numbers")
    return s.cast(pl.Float64).to_numpy().astype(np.float64)


def load_prices(
    source: Any,
    *,
    price_col: str = "",
    date_col: str = "",
    symbol_col: str = "",
    tickers: str = "",
    condition_cols: str = "",
    missing: str = "drop",
    where: str | None = None,
) -> Prices:
    """Read a wide or long price table (CSV/Parquet path or DataFrame) into aligned :class:`Prices`;
    messages name it ``where`` (default: its path, or "data")."""
    from ganapps.core.io import read_table, table_name

    where = where or table_name(source)
    df = read_table(source, where)
    if missing not in ("drop", "ffill"):
        raise ConfigError(f"option --missing must be drop or ffill, not {missing!r}")
    columns = df.columns
    dcol = _find(columns, date_col, DATE_NAMES, "--date-col", where)
    scol = _find(columns, symbol_col, SYMBOL_NAMES, "--symbol-col", where)
    conds = _split_list(condition_cols)
    for c in conds:
        if c not in columns:
            raise DataError(f"{where}: option --condition-cols names column {c!r}, which is not in {columns}")
    wanted = _split_list(tickers)
    if scol is not None:
        mat, cmat, names, date_list = _read_long(df, where, dcol, scol, price_col, conds, wanted)
    else:
        mat, cmat, names, date_list = _read_wide(df, where, dcol, price_col, conds, wanted)
    return _aligned(mat, cmat, names, date_list, conds, missing, where)


Table = tuple[np.ndarray, np.ndarray, list[str], list[str] | None]  # prices, conditions, tickers, dates


def _read_long(
    df: Any, where: str, dcol: str | None, scol: str, price_col: str, conds: list[str], wanted: list[str]
) -> Table:
    """Long form: date, symbol, price rows, pivoted to one price column per ticker."""
    import polars as pl

    columns = df.columns
    if dcol is None:
        raise DataError(f"{where}: long-form prices (column {scol!r}) need a date column (--date-col)")
    pcol = _find(columns, price_col, PRICE_NAMES, "--price-col", where)
    if pcol is None:
        raise DataError(f"{where}: no price column found among {columns}; name it with --price-col")
    sym = df.get_column(scol).cast(pl.Utf8)
    if sym.null_count():
        raise DataError(f"{where}: column {scol!r} has an empty symbol at row {int(sym.is_null().arg_max()) + 1}")
    dates = _parse_dates(df, dcol, where)
    values = _numeric(df, pcol, where)
    cond_values = {c: _numeric(df, c, where) for c in conds}
    symbols = sym.to_list()
    present = list(dict.fromkeys(symbols))
    for t in wanted:
        if t not in present:
            raise DataError(f"{where}: option --tickers: unknown ticker {t!r} (column {scol!r} has {present})")
    chosen = wanted or present
    by_sym: dict[str, dict[str, float]] = {t: {} for t in chosen}
    order: dict[str, list[str]] = {t: [] for t in chosen}
    cond_by_date: dict[str, list[float]] = {}
    for i, (d, s) in enumerate(zip(dates, symbols, strict=True)):
        if s not in by_sym:
            continue
        if d in by_sym[s]:
            raise DataError(f"{where}: ticker {s!r} has two rows for date {d} (row {i + 1})")
        by_sym[s][d] = values[i]
        order[s].append(d)
        if conds:
            cond_by_date.setdefault(d, [cond_values[c][i] for c in conds])
    for s in chosen:
        _check_increasing(order[s], where, dcol, f" for ticker {s!r}")
    all_dates = sorted({d for s in chosen for d in by_sym[s]})
    mat = np.array([[by_sym[s].get(d, np.nan) for s in chosen] for d in all_dates], dtype=np.float64)
    cmat = np.array([cond_by_date.get(d, [np.nan] * len(conds)) for d in all_dates], dtype=np.float64)
    cmat = cmat.reshape(len(all_dates), len(conds))
    return mat, cmat, chosen, all_dates


def _read_wide(df: Any, where: str, dcol: str | None, price_col: str, conds: list[str], wanted: list[str]) -> Table:
    """Wide form: a price column per ticker, or one asset's OHLCV table (its price column)."""
    columns = df.columns
    date_list = _parse_dates(df, dcol, where) if dcol is not None else None
    if date_list is not None:
        _check_increasing(date_list, where, dcol)  # type: ignore[arg-type]
    skip = {dcol, *conds}
    # every other column is a ticker: a text cell in one is an error naming it
    numeric = [c for c in columns if c not in skip and c.lower().strip() not in INDEX_NAMES]
    if price_col:
        if price_col not in columns:
            raise DataError(f"{where}: option --price-col names column {price_col!r}, which is not in {columns}")
        names = [price_col]
    elif wanted:
        for t in wanted:
            if t not in columns:
                raise DataError(f"{where}: option --tickers: unknown ticker {t!r} (columns: {columns})")
        names = wanted
    else:
        single = _find([c for c in columns if c not in skip], "", PRICE_NAMES, "--price-col", where)
        names = [single] if single is not None else numeric
    if not names:
        raise DataError(f"{where}: no numeric price column found among {columns}")
    mat = np.stack([_numeric(df, c, where) for c in names], axis=1)
    cmat = np.stack([_numeric(df, c, where) for c in conds], axis=1) if conds else np.zeros((len(mat), 0))
    return mat, cmat, names, date_list


def _aligned(
    mat: np.ndarray,
    cmat: np.ndarray,
    names: list[str],
    date_list: list[str] | None,
    conds: list[str],
    missing: str,
    where: str,
) -> Prices:
    """Check the prices, handle missing ones (--missing) and keep the days with every ticker's price."""
    # non-positive prices are errors; missing ones are handled by --missing
    bad = np.argwhere(np.nan_to_num(mat, nan=1.0) <= 0)
    if len(bad):
        r, c = bad[0]
        when = f"on {date_list[r]}" if date_list is not None else f"at row {r + 1}"
        raise DataError(
            f"{where}: ticker {names[c]!r} has a non-positive price ({mat[r, c]:g}) {when}; log returns need prices > 0"
        )
    if missing == "ffill":
        mat = _ffill(mat)
    if conds:
        cmat = _ffill(cmat)
    keep = ~np.isnan(mat).any(axis=1) & ~np.isnan(cmat).any(axis=1)
    mat, cmat = mat[keep], cmat[keep]
    if date_list is not None:
        date_list = [d for d, k in zip(date_list, keep, strict=True) if k]
    if len(mat) < 2:
        raise DataError(
            f"{where}: only {len(mat)} row(s) with a price for every ticker; at least two are needed for a return"
        )
    return Prices(mat, [str(n) for n in names], date_list, cmat, conds, where)


def _ffill(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    for j in range(out.shape[1]):
        col = out[:, j]
        idx = np.where(~np.isnan(col), np.arange(len(col)), 0)
        np.maximum.accumulate(idx, out=idx)
        filled = col[idx]
        filled[np.isnan(col) & (np.cumsum(~np.isnan(col)) == 0)] = np.nan  # nothing to carry yet
        out[:, j] = filled
    return out


def realised_vol(returns: np.ndarray) -> np.ndarray:
    """Realised volatility of the equal-weight portfolio over the second-to-last axis: √mean(r_p²)."""
    port = returns.mean(axis=-1)
    return np.sqrt((port**2).mean(axis=-1))


def regime_of(vol: np.ndarray, thresholds: list[float]) -> np.ndarray:
    """0 (low), 1 (mid) or 2 (high) from the training terciles of realised volatility."""
    return np.searchsorted(np.asarray(thresholds), vol, side="right")


# ----------------------------------------------------- the model's view of the prices
def split_by_time(data: Prices, holdout: float) -> tuple[Prices, Prices, int]:
    """By time: the first days train, the last ``holdout`` share of returns is the realised future.

    The holdout keeps the last training price as its base, so its returns follow on directly.
    Returns (train, holdout, the holdout's number of returns).
    """
    n_ret = len(data) - 1
    k = int(round(n_ret * holdout))
    if holdout > 0:
        k = min(max(k, 1), n_ret - 1) if n_ret >= 2 else 0
    cut = len(data) - k
    return data.rows(0, cut), data.rows(cut - 1, len(data)), k


def windows(r: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (past, future, trailing) windows of the return history ``r`` (T, A), stride 1."""
    w, h = window, horizon
    n = len(r) - w - h + 1
    idx = np.arange(n)[:, None]
    past = r[idx + np.arange(w)]
    future = r[idx + w + np.arange(h)]
    tail = min(w, h)
    return past, future, past[:, w - tail :]


def training_schema(train: Prices, window: int, horizon: int, vol_scaling: str = "none") -> dict[str, Any]:
    """What a model keeps of its training period: tickers, dates and condition names, the returns'
    mean and sd (standardisation), the regimes' volatility terciles and their transition matrix
    (trailing regime → next block's; with ``vol_scaling`` ewma, of the window-scaled returns:
    :mod:`.volscale`), and the condition columns' mean and sd."""
    r = train.returns()
    need = window + horizon + 8
    if len(r) < need:
        raise DataError(
            f"--data {train.where}: {len(r)} returns in the training period, but --window {window} + "
            f"--horizon {horizon} need at least {need}; use a longer history or smaller --window/--horizon"
        )
    mu, sd = r.mean(0), r.std(0)
    if (sd <= 0).any():
        raise DataError(f"--data {train.where}: ticker {train.tickers[int(np.argmin(sd))]!r} never moves")
    past, future, trail = windows(r, window, horizon)
    scale = V.window_scale(past, {"vol_scaling": vol_scaling, "sd": sd})
    future, trail = V.regime_returns(future, scale), V.regime_returns(trail, scale)
    thresholds = np.quantile(realised_vol(future), [1 / 3, 2 / 3]).tolist()
    counts = np.ones((3, 3))
    np.add.at(counts, (regime_of(realised_vol(trail), thresholds), regime_of(realised_vol(future), thresholds)), 1)
    cm = train.conds.mean(0) if train.conds.shape[1] else np.zeros(0)
    cs = train.conds.std(0) + 1e-12 if train.conds.shape[1] else np.zeros(0)
    return {
        "tickers": train.tickers,
        "dates": train.dates,
        "cond_names": train.cond_names,
        "mu": mu.tolist(),
        "sd": sd.tolist(),
        "vol_thresholds": thresholds,
        "regime_transitions": (counts / counts.sum(1, keepdims=True)).tolist(),
        "cond_mean": cm.tolist(),
        "cond_sd": cs.tolist(),
        "vol_scaling": vol_scaling,
    }


def standardise(r: np.ndarray, schema: dict[str, Any]) -> np.ndarray:
    """Log returns → the model's standardised returns (training mean and sd per asset)."""
    return (r - np.asarray(schema["mu"])) / np.asarray(schema["sd"])


def unstandardise(x: np.ndarray, schema: dict[str, Any]) -> np.ndarray:
    """The model's standardised returns → log returns."""
    return x * np.asarray(schema["sd"]) + np.asarray(schema["mu"])


def standardise_conds(values: np.ndarray, schema: dict[str, Any]) -> np.ndarray:
    """User condition values → standardised (training mean and sd per column)."""
    return (values - np.asarray(schema["cond_mean"])) / np.asarray(schema["cond_sd"])


def condition_matrix(regimes: np.ndarray | None, user: np.ndarray, regime_on: bool) -> np.ndarray:
    """The model's condition vectors: the regime one-hot (with ``--regime vol``), then the user's."""
    parts = []
    if regime_on:
        assert regimes is not None
        parts.append(np.eye(3)[regimes])
    parts.append(user.reshape(len(user), -1))
    return np.concatenate(parts, 1)


def training_windows(
    prices: np.ndarray, conds: np.ndarray, schema: dict[str, Any], window: int, horizon: int, regime_on: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(past, future) windows of the training ``prices`` in the model's units (:mod:`.volscale`) and their conditions."""
    r = np.diff(np.log(prices), axis=0)
    past, future, _ = windows(r, window, horizon)
    scale = V.window_scale(past, schema)
    regimes = regime_of(realised_vol(V.regime_returns(future, scale)), schema["vol_thresholds"])
    user = standardise_conds(conds[window : window + len(past)], schema)  # at each window's last day
    cond = condition_matrix(regimes, user, regime_on)
    return V.to_model(past, scale, schema), V.to_model(future, scale, schema), cond
