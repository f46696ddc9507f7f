"""A differentially private fit of :class:`TabularTransformer`: every statistic it keeps is a noisy
count, or comes from public metadata the user supplies, never from the rows themselves.

One Gaussian mechanism releases every histogram at once. A row adds 1 to one bin of each of the
``H`` histograms (one per categorical column; one or two per number), so the vector of all
counts has L2 sensitivity √H; each count gets N(0, (σ√H)²) noise, σ the mechanism's noise
multiplier (set by the caller from its share of the budget, composed with DP-SGD in RDP:
``core/accounting.py``). What the transformer keeps is then post-processing of these counts:

- **column kinds** come from the public metadata, else from the file's storage types (text →
  categorical, integer/float → continuous, bool → boolean, date → datetime): nothing is detected
  from the values (no id, constant, 0/1-boolean or decimals detection);
- **categories**: the metadata's list, else the levels whose noisy count passes a threshold τ set so
  that a level held by one row is released with probability ≤ δ_select / (columns discovered)
  (stability-based partition selection); the rest share one ``<other>`` slot that decodes to missing
  (its values are not stored);
- **numbers**: bounds from the metadata, else a noisy histogram over fixed log-scale bins
  (``±1e-6·2^k``; its kept bins give the range); then a noisy histogram of ≤ 200 equal bins
  over the range gives the quantile grid (one bin per integer when the range needs no more bins; a bin of
  width 0 for exact zeros of non-integer columns);
- **missing values**: a null bin in each histogram; a column is nullable when its noisy null count
  passes 3 noise standard deviations;
- **by class** (``by``, a categorical column such as the target): one more histogram per other
  column, its slots split by ``by``'s released levels (:func:`class_split`), for the caller's
  per-class calibration; a number's slots are ``CLASS_BINS`` bins of equal mass under its released
  histogram (:func:`class_edges`), so they sit where the rows are;
- ids count from 0, and string ids read ``ID000000``, whatever the data held.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor

from ganapps.core.errors import ConfigError, DataError
from ganapps.core.frames import dtype_to_json
from ganapps.core.io import read_json
from ganapps.tabular.columns import ColumnSpec, clean_series
from ganapps.tabular.sdv_metadata import read_sdv_metadata
from ganapps.tabular.transformer import TabularTransformer, _json_scalar

#: geometric bins of the bound-finding histogram: |x| < FLOOR is one bin, then ratio RATIO up to CEIL
FLOOR, RATIO, CEIL = 1e-6, 2.0, 1e15
LOG_BINS = math.ceil(math.log(CEIL / FLOOR) / math.log(RATIO))
#: most and fewest equal bins of a number's quantile histogram; in between rows / (BIN_NOISE_RATIO ·
#: count-noise std). The ratio was validated at stop 33 (bench/dp_resolution.py, six tables, two seeds,
#: ε = 3, a perfect generator's ML): 1 / 2 / 4 / 10 / 20 → 0.648 / 0.654 / 0.663 / 0.670 / 0.673 over
#: 3,000- and 5,000-row spans: flat from 4 up, so 10 stays (bench/RESULTS.md)
MAX_BINS, MIN_BINS = 200, 10
BIN_NOISE_RATIO = 10.0
#: bins of a number's class-split histogram, of equal mass under its released histogram (0: the
#: released histogram's own equal bins, as before stop 31). Chosen with bench/dp_resolution.py (a
#: perfect generator calibrated to the release, validation rows of six tables, two seeds, ε = 3): mean
#: ML 0.600 with the equal bins, 0.648 / 0.663 / 0.658 / 0.606 with 8 / 12 / 16 / 24 (3,000-row spans);
#: 0.619 and 0.677 / 0.677 / 0.675 / 0.664 (5,000); training the GAN (bench/dp_tabular_select.py, two
#: seeds) mean utility 1.496 with the equal-width bins → 1.514 (bench/RESULTS.md, stop 31)
CLASS_BINS = 12


@dataclass
class PublicColumn:
    """What the user says about a column in public (``--dp-metadata``)."""

    categories: list[Any] | None = None
    lower: float | None = None
    upper: float | None = None


def read_public_metadata(path: str | Path) -> tuple[dict[str, dict[str, Any]], str | None, dict[str, PublicColumn]]:
    """(kind overrides, primary key, per-column categories/bounds) of a ``--dp-metadata`` file.

    SDV Metadata JSON (V1/V2, or SINGLE_TABLE_V1), each column optionally with ganapps' keys
    ``"categories": [...]`` (categorical) and ``"min"``/``"max"`` (numerical, datetime in seconds since 1970).
    """
    where = f"--dp-metadata {path}"
    table = read_sdv_metadata(path, option="--dp-metadata")
    meta = read_json(path)
    body = next(iter(meta["tables"].values())) if "tables" in meta else meta
    public: dict[str, PublicColumn] = {}
    for name, col in body["columns"].items():
        cats, lo, hi = col.get("categories"), col.get("min"), col.get("max")
        if cats is not None and (not isinstance(cats, list) or not cats):
            raise ConfigError(f"{where}: column {name!r}: 'categories' must be a non-empty list")
        for key, v in (("min", lo), ("max", hi)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise ConfigError(f"{where}: column {name!r}: {key!r} must be a number")
        if (lo is None) != (hi is None) or (lo is not None and lo >= hi):
            raise ConfigError(f"{where}: column {name!r} needs both 'min' and 'max', with min < max")
        public[str(name)] = PublicColumn(cats, None if lo is None else float(lo), None if hi is None else float(hi))
    return table.overrides, table.primary_key, public


def _kind_of(dtype: pl.DataType) -> str:
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_numeric():
        return "continuous"
    if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
        return "datetime"
    return "categorical"


def private_specs(
    frame: pl.DataFrame, overrides: Mapping[str, Any] | None, primary_key: str | None, where: str
) -> list[ColumnSpec]:
    """Column specs from public information alone: the overrides (metadata, ``--column-types``), else
    the storage type; never from the values."""
    specs = []
    for name, dtype in frame.schema.items():
        hint = dict((overrides or {}).get(name) or {})
        if isinstance((overrides or {}).get(name), str):
            hint = {"kind": overrides[name]}  # type: ignore[index]
        kind = "id" if name == primary_key else hint.get("kind") or _kind_of(dtype)
        if kind == "boolean" and dtype != pl.Boolean and not dtype.is_integer():
            kind = "categorical"  # its two values would be read off the data
        if kind == "datetime" and dtype == pl.String and not hint.get("format"):
            raise ConfigError(
                f"{where}: column {name!r} is a datetime stored as text; under --dp-epsilon give its "
                "'datetime_format' in --metadata/--dp-metadata (it is not detected from the values)"
            )
        if kind == "constant":
            kind = "categorical"
        spec = ColumnSpec(name, kind, dtype_to_json(dtype), reason="public metadata or storage type (--dp-epsilon)")
        spec.integer = bool(hint.get("integer", dtype.is_integer()))
        spec.decimals = hint.get("decimals")
        spec.format = hint.get("format")
        if kind == "id" and dtype == pl.String:
            spec.id_prefix, spec.id_width = "ID", 6
        specs.append(spec)
    return specs


class Noise:
    """Gaussian noise of std ``std`` on counts, from a seeded generator (as opacus' default, not a CSPRNG)."""

    def __init__(self, std: float, seed: int) -> None:
        self.std = std
        self.g = torch.Generator().manual_seed(seed * 7919 + 17)

    def __call__(self, counts: Tensor) -> Tensor:
        return counts.double() + self.std * torch.randn(counts.shape, generator=self.g, dtype=torch.float64)


def histograms(specs: Sequence[ColumnSpec], public: Mapping[str, PublicColumn], by: str | None = None) -> int:
    """H: how many histograms the release holds (each row adds 1 to one bin of each); with ``by``,
    one more per other column: its bins split by the classes of column ``by``."""
    h = 0
    for s in specs:
        if s.kind in ("categorical", "boolean"):
            h += 1
        elif s.kind in ("continuous", "datetime"):
            p = public.get(s.name)
            h += 1 if p is not None and p.lower is not None else 2
        else:
            continue
        h += int(by is not None and s.name != by)
    return h


def fit_private(
    frame: pl.DataFrame,
    specs: list[ColumnSpec],
    public: Mapping[str, PublicColumn],
    *,
    noise_multiplier: float,
    select_delta: float,
    max_categories: int,
    seed: int,
    where: str,
    by: str | None = None,
) -> tuple[TabularTransformer, dict[str, tuple[Tensor, Tensor | None]]]:
    """A quantile transformer fitted on noisy histograms only (the module docstring), and with ``by``
    (a categorical column) the class-split histograms of :func:`class_split` (else empty)."""
    h = max(1, histograms(specs, public, by))
    noise = Noise(noise_multiplier * math.sqrt(h), seed)
    discovered = sum(
        1 for s in specs if s.kind == "categorical" and public.get(s.name, PublicColumn()).categories is None
    )
    # a level one row holds passes τ with probability ≤ select_delta / discovered columns
    tau = 1.0 + noise.std * NormalDist().inv_cdf(1.0 - select_delta / max(1, discovered)) if discovered else 0.0
    t = TabularTransformer(continuous="quantile", max_categories=max_categories)
    t.frame_kind, t.n_rows, t.specs = "polars", frame.height, specs
    t._cont = [s.name for s in specs if s.kind in ("continuous", "datetime")]
    grids, nulls, edges = [], [], {}
    for s in specs:
        if s.kind in ("categorical", "boolean"):
            _categorical(t, s, clean_series(frame[s.name], where), public.get(s.name), noise, tau, where)
        elif s.kind in ("continuous", "datetime"):
            x = torch.from_numpy(t._numbers(frame[s.name], s, where).copy())
            grid, null, edges[s.name] = _numeric(x, s, public.get(s.name), noise, t.options.n_quantiles)
            grids.append(grid)
            nulls.append(null)
            s.nullable = null > 3 * noise.std
        elif s.kind == "id":
            t._id_start[s.name] = 0
    if grids:
        g = torch.stack(grids)
        t.tensors["quantile.grid"] = g
        t.tensors["continuous.min"], t.tensors["continuous.max"] = g[:, 0].clone(), g[:, -1].clone()
        t.tensors["continuous.center"] = g.mean(1)
        spread = g.std(1)
        t.tensors["continuous.scale"] = torch.where(spread > 1e-9, spread, torch.ones_like(spread))
        t.tensors["continuous.nulls"] = torch.tensor(nulls, dtype=torch.float64)
    t._modes = []
    t.spans = t._make_spans()
    return t, (class_split(t, frame, by, edges, noise, where) if by in t._cat else {})


def class_split(
    t: TabularTransformer, frame: pl.DataFrame, by: str, edges: Mapping[str, Tensor], noise: Noise, where: str
) -> dict[str, tuple[Tensor, Tensor | None]]:
    """Noisy counts ``(classes, slots)`` of every other column within each one-hot slot of column ``by``,
    with a number's bin edges (None for a categorical column).

    The slots are the released ones: a categorical column's (levels, ``<other>``, null), a number's
    :func:`class_edges` bins and a last one for nulls. Each row adds 1 to one cell of
    each (rows whose class or value has no slot add nothing), so these are ``H`` histograms more in
    the same release (:func:`histograms`).
    """
    cls = t._codes(frame[by], t._cat[by], where)
    classes = len(t.categories(by))
    out = {}
    for s in t.specs:
        if s.name == by:
            continue
        if s.name in t._cat:
            slot, width = t._codes(frame[s.name], t._cat[s.name], where), len(t.categories(s.name))
        elif s.name in edges:
            x = torch.from_numpy(t._numbers(frame[s.name], s, where).copy())
            width = len(edges[s.name])  # its bins, and one for nulls
            slot = torch.full(x.shape, width - 1, dtype=torch.long)
            present = ~torch.isnan(x)
            slot[present] = _bin_index(x[present], edges[s.name])
        else:
            continue
        ok = (cls >= 0) & (slot >= 0)
        counts = torch.bincount(cls[ok] * width + slot[ok], minlength=classes * width).view(classes, width)
        out[s.name] = (noise(counts.double()), edges.get(s.name))
    return out


def _categorical(
    t: TabularTransformer,
    spec: ColumnSpec,
    s: pl.Series,
    pub: PublicColumn | None,
    noise: Noise,
    tau: float,
    where: str,
) -> None:
    values = t._category_values(s)
    present = values.drop_nulls()
    vc = present.value_counts(name="__n").sort(values.name)  # sorted by value: the order leaks nothing
    by = dict(zip(vc[values.name].to_list(), vc["__n"].to_list(), strict=True))
    null = float(noise(torch.tensor([float(values.null_count())]))[0])
    fixed = pub.categories if pub is not None and pub.categories is not None else None
    if spec.kind == "boolean":
        fixed = [False, True] if values.dtype == pl.Boolean else [0, 1]
    if fixed is not None:
        outside = [v for v in by if v not in fixed and str(v) not in {str(f) for f in fixed}]
        if outside:
            raise DataError(
                f"{where}: column {spec.name!r} holds {outside[0]!r}, which --dp-metadata's categories lack"
            )
        text = {str(k): c for k, c in by.items()}
        counts = noise(torch.tensor([float(by.get(v, text.get(str(v), 0))) for v in fixed]))
        levels, other = list(fixed), False
    else:
        noisy = noise(torch.tensor([float(c) for c in by.values()]))
        keep = [(float(c), v) for c, v in zip(noisy.tolist(), by, strict=True) if c > tau]
        keep.sort(key=lambda cv: -cv[0])
        cap = (spec.max_categories or t.options.max_categories) - 1
        levels, counts, other = [v for _, v in keep[:cap]], torch.tensor([c for c, _ in keep[:cap]]), True
    counts = counts.clamp_min(0)
    spec.nullable = null > 3 * noise.std
    slots = [counts]
    if other:  # rows of levels not released: the public n less what was released (post-processing)
        slots.append(torch.tensor([max(0.0, t.n_rows - float(counts.sum()) - max(null, 0.0))]))
    if spec.nullable:
        slots.append(torch.tensor([null]))
    idx = len(t._cat)
    t._cat[spec.name] = {
        "index": idx,
        "categories": [_json_scalar(v) for v in levels],
        "other": other,
        "other_values": [],
        "null": bool(spec.nullable),
    }
    t.tensors[f"categorical.{idx}.counts"] = torch.cat(slots).double()


def _log_bin(x: Tensor) -> Tensor:
    """Fixed log-scale bin of each value: 0 … 2·LOG_BINS (LOG_BINS holds |x| < FLOOR)."""
    k = torch.floor(torch.log(x.abs().clamp_min(FLOOR) / FLOOR) / math.log(RATIO)) + 1
    k = torch.where(x.abs() < FLOOR, torch.zeros_like(k), k.clamp(1, LOG_BINS))
    return (torch.sign(x) * k + LOG_BINS).long()


def _log_edges(b: int) -> tuple[float, float]:
    k = b - LOG_BINS
    if k == 0:
        return 0.0, 0.0
    lo, hi = FLOOR * RATIO ** (abs(k) - 1), FLOOR * RATIO ** abs(k)
    return (lo, hi) if k > 0 else (-hi, -lo)


def _bounds(x: Tensor, noise: Noise) -> tuple[float, float]:
    """The range of the log-scale bins whose noisy count passes 4 noise standard deviations."""
    counts = torch.bincount(_log_bin(x), minlength=2 * LOG_BINS + 1)
    noisy = noise(counts.double())
    kept = torch.nonzero(noisy > 4 * noise.std).flatten()
    if len(kept) == 0:
        kept = noisy.argmax().reshape(1)
    return _log_edges(int(kept.min()))[0], _log_edges(int(kept.max()))[1]


def _numeric(
    x: Tensor, spec: ColumnSpec, pub: PublicColumn | None, noise: Noise, n_quantiles: int
) -> tuple[Tensor, float, Tensor]:
    """(quantile grid from a noisy equal-bin histogram, noisy null count, the histogram's bin edges)
    of one number column."""
    present = x[~torch.isnan(x)]
    null = float(noise(torch.tensor([float(len(x) - len(present))]))[0])
    if pub is not None and pub.lower is not None and pub.upper is not None:
        lo, hi = pub.lower, pub.upper
    else:
        lo, hi = _bounds(present, noise)
    rows = max(1, len(x))
    bins = int(min(MAX_BINS, max(MIN_BINS, rows / (BIN_NOISE_RATIO * noise.std))))
    if spec.integer and math.ceil(hi) - math.floor(lo) + 1 <= bins:
        lo, hi = math.floor(lo) - 0.5, math.ceil(hi) + 0.5  # one bin per integer
        bins = int(round(hi - lo))
    hi = max(hi, lo + 1e-9)
    edges = _edges(lo, hi, bins, atom=not spec.integer and lo <= 0 <= hi)
    width = len(edges) - 1
    noisy = noise(torch.bincount(_bin_index(present, edges), minlength=width).double())
    # the range is already the bound histogram's; no further threshold
    levels = torch.linspace(0, 1, n_quantiles, dtype=torch.float64).numpy()
    grid = torch.from_numpy(histogram_quantiles(noisy, edges, levels))
    # keep the grid non-decreasing and inside the kept mass
    kept = noisy.clamp_min(0)
    mass = kept if float(kept.sum()) > 0 else torch.ones(width, dtype=torch.float64)
    first, last = int(torch.nonzero(mass).min()), int(torch.nonzero(mass).max())
    grid = grid.clamp(float(edges[first]), float(edges[last + 1]))
    return torch.cummax(grid, 0).values, null, class_edges(noisy, edges, spec.integer)


def class_edges(counts: Tensor, edges: Tensor, integer: bool) -> Tensor:
    """Edges of ``CLASS_BINS`` bins of equal mass under the released histogram ``counts`` over ``edges``
    (post-processing): the class-split counts then resolve a number where its rows are, not where the
    range is (a column's range can be ten times its bulk). An integer column's edges fall on
    half-integers, and a bin of width 0 for exact zeros is kept."""
    if not CLASS_BINS:
        return edges
    q = histogram_quantiles(counts, edges, np.linspace(0.0, 1.0, CLASS_BINS + 1))
    lo, hi = float(edges[0]), float(edges[-1])
    if integer:
        q = np.round(q - 0.5) + 0.5
    q = np.clip(q, lo, hi)
    q[0], q[-1] = lo, hi
    atom = bool((edges[1:] == edges[:-1]).any())
    q = np.unique(np.append(q, 0.0) if atom else q)
    if atom:
        q = np.insert(q, int(np.searchsorted(q, 0.0)), 0.0)
    return torch.from_numpy(q)


def _bin_index(x: Tensor, edges: Tensor) -> Tensor:
    """The bin of each (present) value, clamped into the range; exact zeros into the bin of width 0
    that :func:`_edges` makes for them (a spike of many number columns) when it has one."""
    v = x.clamp(float(edges[0]), float(edges[-1]))
    idx = torch.bucketize(v, edges[1:-1], right=True)
    if bool((edges[1:] == edges[:-1]).any()):
        idx = torch.where(v == 0, torch.bucketize(torch.zeros(()), edges[1:-1], right=False), idx)
    return idx


def histogram_quantiles(counts: Tensor, edges: Tensor, levels: np.ndarray) -> np.ndarray:
    """Quantiles at ``levels`` of the piecewise-uniform distribution a noisy histogram over ``edges``
    describes (negative counts read as 0; uniform when nothing is left)."""
    mass = counts.double().clamp_min(0)
    if float(mass.sum()) <= 0:
        mass = torch.ones(len(counts), dtype=torch.float64)
    cdf = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(mass, 0) / mass.sum()])
    return _interp(levels, cdf.numpy(), edges.double().numpy())


def _edges(lo: float, hi: float, bins: int, atom: bool) -> Tensor:
    """``bins`` equal bins over [lo, hi]; with ``atom``, 0 is an edge twice (a bin of width 0 for exact zeros)."""
    if not atom:
        return torch.linspace(lo, hi, bins + 1, dtype=torch.float64)
    below = min(bins - 1, max(0, round(bins * -lo / (hi - lo))))
    neg = torch.linspace(lo, 0.0, below + 1, dtype=torch.float64) if below else torch.zeros(1, dtype=torch.float64)
    pos = torch.linspace(0.0, hi, bins - below + 1, dtype=torch.float64)
    return torch.cat([neg, pos])


def _interp(levels: np.ndarray, cdf: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The inverse of the piecewise-linear CDF through (edges, cdf): the first edge at each level
    (a zero-width bin's jump maps every level inside it to its value)."""
    pos = np.searchsorted(cdf, levels, side="left").clip(1, len(cdf) - 1)
    c0, c1 = cdf[pos - 1], cdf[pos]
    frac = np.where(c1 > c0, (levels - c0) / np.where(c1 > c0, c1 - c0, 1.0), 0.0)
    return edges[pos - 1] + frac.clip(0, 1) * (edges[pos] - edges[pos - 1])
