"""A reversible table ↔ tensor transformer with explicit per-column span metadata.

``transform`` turns a polars/pandas frame into one float32 matrix; ``spans`` say which columns
of that matrix belong to which table column and which output activation a generator must use
there (CTGAN's idea, Xu et al. 2019):

=============  =====================================  =============================================
table column   spans (in this order)                  notes
=============  =====================================  =============================================
continuous     ``value`` (tanh, 1) + ``mode``         mode-specific normalisation (batched GMM); or
               (softmax, modes) + ``missing``         one ``value`` span with ``continuous="quantile"``
datetime       as continuous, on seconds since 1970   rounds back to the column's resolution/format
categorical    ``category`` (softmax, levels)         top levels + an "other" bucket (+ a missing slot)
boolean        ``category`` (softmax, 2)              or ``binary`` (sigmoid, 1) + ``missing``
id, constant   none                                   regenerated / repeated on the way back
=============  =====================================  =============================================

``inverse_transform`` takes the generator's activated output (softmax/one-hot for categories,
probabilities for sigmoid spans) and returns a frame with the input's columns, order and dtypes.
The fitted state is JSON plus tensors (:meth:`TabularTransformer.state_dict`): no pickle.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
import torch
from torch import Tensor

from ganapps.core.errors import ConfigError, DataError
from ganapps.core.frames import is_pandas, polars_to_pandas
from ganapps.core.io import read_table
from ganapps.tabular.columns import ColumnSpec, Override, clean_series, detect_columns, parse_datetime_text
from ganapps.tabular.normalize import (
    OFFSET_CLIP,
    OFFSET_SCALE,
    assign_modes,
    fit_gmm,
    fit_quantiles,
    quantile_forward,
    quantile_inverse,
    quantile_points,
)

FORMAT = "ganapps-tabular/1"
SpanKind = Literal["value", "mode", "category", "binary", "missing"]
ACTIVATIONS = {"value": "tanh", "mode": "softmax", "category": "softmax", "binary": "sigmoid", "missing": "sigmoid"}


@dataclass(frozen=True)
class Span:
    """Columns ``start:start+width`` of the encoded matrix, for one part of one table column.

    ``kind``: ``value`` (a scalar in [-1, 1]), ``mode`` (which Gaussian mode), ``category``
    (one-hot of a categorical/boolean column: the spans the conditional vector covers),
    ``binary`` (a 0/1 boolean), ``missing`` (1 where the value is missing).
    ``activation``: ``tanh``, ``softmax`` or ``sigmoid`` — what the generator's output needs.
    """

    column: str
    kind: str
    start: int
    width: int
    activation: str

    @property
    def stop(self) -> int:
        return self.start + self.width

    @property
    def discrete(self) -> bool:
        """True for the one-hot spans of categorical/boolean columns (conditionable)."""
        return self.kind == "category"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Span:
        return cls(d["column"], d["kind"], int(d["start"]), int(d["width"]), d["activation"])


@dataclass
class TransformerOptions:
    """How columns are encoded (all JSON values)."""

    #: continuous columns: ``gmm`` (mode-specific normalisation, CTGAN) or ``quantile`` (one scalar)
    continuous: Literal["gmm", "quantile"] = "gmm"
    #: most Gaussian modes per continuous column; modes under ``weight_threshold`` are dropped
    max_modes: int = 10
    weight_threshold: float = 0.005
    #: quantile points the GMM is fitted on / grid size of the quantile scheme
    n_quantiles: int = 1000
    #: ``sample`` a value's mode from its posterior (CTGAN) or take the ``argmax``
    mode_assignment: Literal["sample", "argmax"] = "sample"
    #: one-hot width cap of a categorical: the rarest levels share an "other" bucket
    max_categories: int = 100
    #: booleans as a 2-wide ``onehot`` (conditionable) or one ``sigmoid`` output
    boolean: Literal["onehot", "sigmoid"] = "onehot"
    #: clip continuous and datetime values to the training min/max on the way back
    clip: bool = True

    def validate(self) -> TransformerOptions:
        if self.continuous not in ("gmm", "quantile"):
            raise ConfigError(f"transformer option continuous must be 'gmm' or 'quantile', not {self.continuous!r}")
        if self.mode_assignment not in ("sample", "argmax"):
            raise ConfigError("transformer option mode_assignment must be 'sample' or 'argmax'")
        if self.boolean not in ("onehot", "sigmoid"):
            raise ConfigError("transformer option boolean must be 'onehot' or 'sigmoid'")
        if self.max_modes < 1 or self.n_quantiles < 2:
            raise ConfigError("transformer options need max_modes >= 1 and n_quantiles >= 2")
        if self.max_categories < 2:
            raise ConfigError("transformer option max_categories must be at least 2")
        return self


@dataclass
class Condition:
    """A ``column=value`` condition resolved against the fitted categories.

    ``index`` is the column's position among the discrete spans (the conditional vector's
    blocks), ``category`` the slot inside it; ``other`` is True when the value lives in the
    "other" bucket (the slot is shared, so pass ``fixed={column: value}`` to
    :meth:`TabularTransformer.inverse_transform` to pin the value).
    """

    column: str
    value: Any
    index: int
    category: int
    other: bool


def _generator(seed: int | torch.Generator | None) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(0 if seed is None else int(seed))


class TabularTransformer:
    """Fit on a table, then ``transform`` ↔ ``inverse_transform`` (see the module docstring)."""

    #: rows encoded at a time (bounds the memory of the continuous columns' float64 work)
    chunk_rows = 32_768

    def __init__(self, options: TransformerOptions | None = None, **kwargs: Any) -> None:
        if options is not None and kwargs:
            raise TypeError("give TransformerOptions or keyword options, not both")
        self.options = (options or TransformerOptions(**kwargs)).validate()
        self.specs: list[ColumnSpec] = []
        self.spans: list[Span] = []
        self.frame_kind = "polars"
        self.n_rows = 0
        self._cont: list[str] = []  # continuous + datetime columns, in table order
        self._modes: list[list[int]] = []  # per continuous column: mode slots kept (gmm)
        self._cat: dict[str, dict[str, Any]] = {}  # categorical/boolean state
        self._id_start: dict[str, int] = {}
        self._constants: dict[str, Any] = {}
        self.tensors: dict[str, Tensor] = {}

    # --------------------------------------------------------------------- info
    @property
    def fitted(self) -> bool:
        return bool(self.specs)

    @property
    def width(self) -> int:
        """Columns of the encoded matrix."""
        return self.spans[-1].stop if self.spans else 0

    @property
    def columns(self) -> list[str]:
        return [s.name for s in self.specs]

    @property
    def discrete_spans(self) -> list[Span]:
        """The ``category`` spans, in order: the blocks of the conditional vector."""
        return [s for s in self.spans if s.discrete]

    def spec(self, column: str) -> ColumnSpec:
        for s in self.specs:
            if s.name == column:
                return s
        raise ConfigError(f"no column {column!r} (columns: {', '.join(self.columns)})")

    def categories(self, column: str) -> list[Any]:
        """Values of a categorical/boolean column's one-hot slots (``"<other>"``/None for the extra slots)."""
        st = self._cat_state(column)
        return list(st["categories"]) + (["<other>"] if st["other"] else []) + ([None] if st["null"] else [])

    def category_counts(self, column: str) -> Tensor:
        """Training rows per one-hot slot of a categorical/boolean column."""
        return self.tensors[f"categorical.{self._cat_state(column)['index']}.counts"]

    def _cat_state(self, column: str) -> dict[str, Any]:
        if column not in self._cat:
            kind = self.spec(column).kind
            raise ConfigError(f"column {column!r} is {kind}, not categorical or boolean")
        return self._cat[column]

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError("the transformer is not fitted; call fit() first")

    # ---------------------------------------------------------------------- fit
    def fit(
        self,
        data: Any,
        specs: Sequence[ColumnSpec] | None = None,
        *,
        overrides: Mapping[str, Override] | None = None,
        primary_key: str | None = None,
        where: str = "data",
    ) -> TabularTransformer:
        """Detect column kinds (unless ``specs`` are given) and fit every encoder on ``data``."""
        if specs is None:
            specs = detect_columns(data, overrides, primary_key=primary_key, where=where)
        elif overrides or primary_key:
            raise ConfigError("give either specs or overrides/primary_key, not both")
        self.frame_kind = "pandas" if is_pandas(data) else "polars"
        frame = read_table(data, where)
        if frame.height == 0:
            raise DataError(f"{where}: the table has no rows")
        self.specs = [ColumnSpec.from_dict(s.to_dict()) for s in specs]
        missing = [s.name for s in self.specs if s.name not in frame.columns]
        if missing:
            raise DataError(f"{where}: column {missing[0]!r} is missing")
        o = self.options
        self.n_rows = frame.height
        self.tensors = {}
        self._cat, self._id_start, self._constants = {}, {}, {}

        # continuous and datetime columns: one batched fit
        self._cont = [s.name for s in self.specs if s.kind in ("continuous", "datetime")]
        if self._cont:
            # one sort of every column gives counts, min, max and all quantiles
            xt = torch.from_numpy(np.stack([self._numbers(frame[c], self.spec(c), where) for c in self._cont]))
            srt = torch.sort(xt, dim=1).values  # (C, n), NaN last
            counts = (~torch.isnan(srt)).sum(1)
            if bool((counts == 0).any()):
                empty = self._cont[int(torch.nonzero(counts == 0)[0])]
                raise DataError(f"{where}: column {empty!r} has no usable value")
            center = torch.nansum(xt, 1) / counts
            scale = torch.sqrt(torch.nansum((xt - center[:, None]).square(), 1) / counts)
            scale = torch.where(scale > 0, scale, torch.ones_like(scale))
            self.tensors["continuous.center"] = center
            self.tensors["continuous.scale"] = scale
            self.tensors["continuous.min"] = srt[:, 0].clone()
            self.tensors["continuous.max"] = srt.gather(1, (counts - 1)[:, None]).squeeze(1)
            if o.continuous == "gmm":
                points = (quantile_points(xt.T, o.n_quantiles, presorted=srt) - center[:, None]) / scale[:, None]
                w, m, s = fit_gmm(points.T, o.max_modes, weight_threshold=o.weight_threshold)
                self._modes = [torch.nonzero(w[i] > 0).flatten().tolist() for i in range(len(self._cont))]
                self.tensors.update({"gmm.weights": w, "gmm.means": m, "gmm.stds": s})
            else:
                self.tensors["quantile.grid"] = fit_quantiles(xt.T, o.n_quantiles, presorted=srt)
                self._modes = []
            del xt, srt

        # categorical and boolean columns
        for spec in self.specs:
            s = clean_series(frame[spec.name], where)
            if spec.kind in ("categorical", "boolean"):
                self._fit_categorical(spec, s)
            elif spec.kind == "id":
                self._id_start[spec.name] = int(s.min()) if spec.polars_dtype.is_integer() else 0  # type: ignore[arg-type]
            elif spec.kind == "constant":
                self._constants[spec.name] = _json_scalar(s.drop_nulls()[0] if s.drop_nulls().len() else None)
        self.spans = self._make_spans()
        return self

    def _numbers(self, s: pl.Series, spec: ColumnSpec, where: str) -> np.ndarray:
        """A continuous/datetime column as float64 (datetimes in seconds since 1970), NaN = missing."""
        s = clean_series(s, where)
        if spec.kind == "datetime":
            if s.dtype == pl.String or isinstance(s.dtype, pl.Categorical | pl.Enum):
                s = parse_datetime_text(s.cast(pl.String), spec.format or "%Y-%m-%d")
            elif s.dtype in (pl.Date, pl.Datetime) or isinstance(s.dtype, pl.Datetime):
                s = s.cast(pl.Datetime("us", s.dtype.time_zone if isinstance(s.dtype, pl.Datetime) else None))
            else:
                raise DataError(f"{where}: column {spec.name!r} should hold dates, not {s.dtype}")
            us = s.dt.epoch("us").cast(pl.Float64)
            return (us / 1e6).fill_null(math.nan).to_numpy().astype(np.float64, copy=False)
        if s.dtype == pl.Boolean:
            s = s.cast(pl.Float64)
        return s.cast(pl.Float64, strict=False).fill_null(math.nan).to_numpy().astype(np.float64, copy=False)

    def _category_values(self, s: pl.Series) -> pl.Series:
        """A categorical column's values in the dtype its categories are stored in."""
        if isinstance(s.dtype, pl.Categorical | pl.Enum):
            return s.cast(pl.String)
        if s.dtype.is_float():
            return s.fill_nan(None)
        return s

    def _fit_categorical(self, spec: ColumnSpec, s: pl.Series) -> None:
        values = self._category_values(s)
        vc = values.drop_nulls().value_counts(name="__count")
        vc = vc.sort(["__count", values.name], descending=[True, False])
        levels, counts = vc[values.name].to_list(), vc["__count"].to_list()
        if spec.kind == "boolean":
            fixed = [False, True] if values.dtype == pl.Boolean else [0, 1] if values.dtype.is_integer() else None
            if fixed is None:
                fixed = sorted(levels)
            if len(fixed) != 2:
                raise DataError(f"column {spec.name!r}: a boolean column needs two values, found {fixed}")
            by = dict(zip(levels, counts, strict=True))
            levels, counts = fixed, [by.get(v, 0) for v in fixed]
            cap = 3
        else:
            cap = spec.max_categories or self.options.max_categories
        other = len(levels) > cap
        keep = cap - 1 if other else len(levels)
        nulls = values.null_count()
        slot_counts = counts[:keep] + ([sum(counts[keep:])] if other else []) + ([nulls] if spec.nullable else [])
        idx = len(self._cat)
        self._cat[spec.name] = {
            "index": idx,
            "categories": [_json_scalar(v) for v in levels[:keep]],
            "other": other,
            "other_values": [_json_scalar(v) for v in levels[keep:]],
            "null": bool(spec.nullable),
        }
        self.tensors[f"categorical.{idx}.counts"] = torch.tensor(slot_counts, dtype=torch.float64)
        if other:
            self.tensors[f"categorical.{idx}.other_counts"] = torch.tensor(counts[keep:], dtype=torch.float64)

    def _make_spans(self) -> list[Span]:
        spans: list[Span] = []
        pos = 0

        def add(column: str, kind: str, width: int) -> None:
            nonlocal pos
            spans.append(Span(column, kind, pos, width, ACTIVATIONS[kind]))
            pos += width

        for spec in self.specs:
            if spec.kind in ("continuous", "datetime"):
                add(spec.name, "value", 1)
                if self.options.continuous == "gmm":
                    add(spec.name, "mode", len(self._modes[self._cont.index(spec.name)]))
                if spec.nullable:
                    add(spec.name, "missing", 1)
            elif spec.kind == "boolean" and self.options.boolean == "sigmoid":
                add(spec.name, "binary", 1)
                if spec.nullable:
                    add(spec.name, "missing", 1)
            elif spec.kind in ("categorical", "boolean"):
                add(spec.name, "category", len(self.categories(spec.name)))
        if not spans:
            raise DataError("no column to learn (all are ids or constants)")
        return spans

    # ---------------------------------------------------------------- transform
    def transform(self, data: Any, *, seed: int | torch.Generator | None = 0, where: str = "data") -> Tensor:
        """Encode a frame as a float32 matrix ``(rows, width)`` laid out by :attr:`spans`.

        Missing columns are a DataError; unseen categories go to the "other" bucket (or an
        all-zero one-hot when the column has none). Seeded: the same call gives the same matrix.
        """
        self._check_fitted()
        g = _generator(seed)
        frame = read_table(data, where)
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError(f"{where}: column {missing[0]!r} is missing")
        n = frame.height
        out = torch.zeros(n, self.width, dtype=torch.float32)
        by_column: dict[str, list[Span]] = {}
        for span in self.spans:
            by_column.setdefault(span.column, []).append(span)
        rows = torch.arange(n)
        if self._cont:
            x = torch.from_numpy(np.stack([self._numbers(frame[c], self.spec(c), where) for c in self._cont], axis=1))
            for a in range(0, n, self.chunk_rows):  # row chunks bound the float64 temporaries
                self._encode_continuous(x[a : a + self.chunk_rows], out[a : a + self.chunk_rows], by_column, g)
        for col, st in self._cat.items():
            codes = self._codes(frame[col], st, where)
            for span in by_column.get(col, []):
                if span.kind == "category":
                    ok = codes >= 0
                    out[rows[ok], span.start + codes[ok]] = 1.0
                elif span.kind == "binary":
                    out[:, span.start] = (codes == 1).float()
                elif span.kind == "missing":
                    out[:, span.start] = (codes == len(st["categories"])).float()
        return out

    def _encode_continuous(self, x: Tensor, out: Tensor, by_column: dict[str, list[Span]], g: torch.Generator) -> None:
        """Write the value/mode/missing spans of the continuous columns ``x`` ``(rows, C)`` into ``out``."""
        rows = torch.arange(x.shape[0])
        nan = torch.isnan(x)
        modes = None
        if self.options.continuous == "gmm":
            center, scale = self.tensors["continuous.center"], self.tensors["continuous.scale"]
            z = torch.where(nan, torch.zeros((), dtype=x.dtype), (x - center) / scale)
            w, m, sd = (self.tensors[k].to(torch.float64) for k in ("gmm.weights", "gmm.means", "gmm.stds"))
            modes = assign_modes(z, w, m, sd, sample=self.options.mode_assignment == "sample", generator=g)
            mu = m.gather(1, modes.T).T  # (rows, C)
            sigma = sd.gather(1, modes.T).T
            value = ((z - mu) / (OFFSET_SCALE * sigma)).clamp(-OFFSET_CLIP, OFFSET_CLIP)
        else:
            value = torch.nan_to_num(quantile_forward(x, self.tensors["quantile.grid"], generator=g), nan=0.0)
        for i, col in enumerate(self._cont):
            for span in by_column[col]:
                if span.kind == "value":
                    out[:, span.start] = value[:, i].float()
                elif span.kind == "mode" and modes is not None:
                    slot = torch.full((self.options.max_modes,), -1, dtype=torch.long)
                    slot[self._modes[i]] = torch.arange(len(self._modes[i]))
                    out[rows, span.start + slot[modes[:, i]]] = 1.0
                elif span.kind == "missing":
                    out[:, span.start] = nan[:, i].float()

    def fit_transform(self, data: Any, *args: Any, seed: int | torch.Generator | None = 0, **kwargs: Any) -> Tensor:
        return self.fit(data, *args, **kwargs).transform(data, seed=seed, where=kwargs.get("where", "data"))

    def _codes(self, s: pl.Series, st: dict[str, Any], where: str) -> Tensor:
        """One-hot slot per row (-1: unseen and no "other" bucket)."""
        values = self._category_values(clean_series(s, where))
        cats, others = st["categories"], st["other_values"]
        k = len(cats)
        old = cats + others
        new = list(range(k)) + [k] * len(others)
        proto = pl.Series(old)
        if proto.dtype != values.dtype and len(old):
            values = values.cast(proto.dtype, strict=False)
        unseen = k if st["other"] else -1
        codes = values.replace_strict(proto, pl.Series(new, dtype=pl.Int64), default=unseen, return_dtype=pl.Int64)
        if st["null"]:
            codes = codes.set(values.is_null(), k + int(st["other"]))
        else:
            codes = codes.set(values.is_null(), unseen)
        return torch.from_numpy(codes.to_numpy().astype(np.int64))

    # --------------------------------------------------------- inverse transform
    def inverse_transform(
        self,
        x: Tensor,
        *,
        seed: int | torch.Generator | None = 0,
        fixed: Mapping[str, Any] | None = None,
        id_start: int = 0,
        frame: Literal["polars", "pandas"] | None = None,
    ) -> Any:
        """Decode a matrix (the generator's activated output) into a frame like the training table.

        Softmax spans are read by argmax, sigmoid spans by ``> 0.5``; rows in a category's
        "other" bucket draw a real level by its training frequency (seeded). ``fixed`` pins
        columns to one value (a conditioned column); ids count from ``id_start`` (use it when
        decoding in batches). Returns the fitting frame's kind unless ``frame`` says otherwise.
        """
        self._check_fitted()
        x = torch.as_tensor(x).detach().cpu()
        if x.ndim != 2 or x.shape[1] != self.width:
            raise DataError(f"expected a matrix with {self.width} columns, got shape {tuple(x.shape)}")
        g = _generator(seed)
        n = x.shape[0]
        by_column: dict[str, list[Span]] = {}
        for span in self.spans:
            by_column.setdefault(span.column, []).append(span)
        series: dict[str, pl.Series] = {}
        if self._cont:
            series.update(self._inverse_continuous(x, by_column))
        for col, st in self._cat.items():
            series[col] = self._inverse_categorical(x, col, st, by_column[col], g)
        for spec in self.specs:
            if spec.kind == "id":
                series[spec.name] = self._make_ids(spec, n, id_start)
            elif spec.kind == "constant":
                series[spec.name] = self._constant(spec, n)
        for col, value in (fixed or {}).items():
            spec = self.spec(col)
            if spec.kind not in ("categorical", "boolean"):
                raise ConfigError(f"column {col!r} is {spec.kind}; only categorical and boolean columns can be fixed")
            cond = self.condition(col, value)
            series[col] = pl.Series(col, [cond.value] * n).cast(series[col].dtype, strict=False)
        out = pl.DataFrame([series[c].alias(c) for c in self.columns])
        if (frame or self.frame_kind) == "pandas":
            return polars_to_pandas(out, {s.name: s.pandas_dtype for s in self.specs if s.pandas_dtype})
        return out

    def _inverse_continuous(self, x: Tensor, by_column: dict[str, list[Span]]) -> dict[str, pl.Series]:
        n = x.shape[0]
        raw = torch.empty(len(self._cont), n, dtype=torch.float64)  # (C, n): one contiguous row per column
        for a in range(0, n, self.chunk_rows):
            raw[:, a : a + self.chunk_rows] = self._decode_continuous(x[a : a + self.chunk_rows], by_column).T
        return {col: self._restore_numbers(self.spec(col), raw[i].numpy()) for i, col in enumerate(self._cont)}

    def _decode_continuous(self, x: Tensor, by_column: dict[str, list[Span]]) -> Tensor:
        """Raw values ``(rows, C)`` (seconds for datetimes, NaN = missing) from a chunk of the matrix."""
        n, c = x.shape[0], len(self._cont)
        value = torch.zeros(n, c, dtype=torch.float64)
        nan = torch.zeros(n, c, dtype=torch.bool)
        modes = torch.zeros(n, c, dtype=torch.long)
        for i, col in enumerate(self._cont):
            for span in by_column[col]:
                part = x[:, span.start : span.stop]
                if span.kind == "value":
                    value[:, i] = part[:, 0].to(torch.float64).clamp(-1, 1)
                elif span.kind == "mode":
                    modes[:, i] = torch.tensor(self._modes[i], dtype=torch.long)[part.argmax(1)]
                elif span.kind == "missing":
                    nan[:, i] = part[:, 0] > 0.5
        if self.options.continuous == "gmm":
            m, sd = self.tensors["gmm.means"].to(torch.float64), self.tensors["gmm.stds"].to(torch.float64)
            z = value * OFFSET_SCALE * sd.gather(1, modes.T).T + m.gather(1, modes.T).T
            raw = z * self.tensors["continuous.scale"] + self.tensors["continuous.center"]
        else:
            raw = quantile_inverse(value, self.tensors["quantile.grid"])
        if self.options.clip:
            raw = torch.maximum(torch.minimum(raw, self.tensors["continuous.max"]), self.tensors["continuous.min"])
        return torch.where(nan, torch.full_like(raw, math.nan), raw)

    def _restore_numbers(self, spec: ColumnSpec, v: np.ndarray) -> pl.Series:
        """Float64 values (seconds for datetimes) → the column's original dtype, rounded as it was."""
        dtype = spec.polars_dtype
        if spec.kind == "datetime":
            res = spec.resolution or 0
            us = np.round(v / res) * res * 1e6 if res else np.round(v * 1e6)
            s = pl.Series(spec.name, us, nan_to_null=True).cast(pl.Int64).cast(pl.Datetime("us"))
            if spec.format is not None:
                return s.dt.strftime(spec.format).cast(dtype, strict=False)
            if isinstance(dtype, pl.Datetime):
                if dtype.time_zone:
                    s = s.dt.replace_time_zone("UTC").dt.convert_time_zone(dtype.time_zone)
                return s.cast(pl.Datetime(dtype.time_unit, dtype.time_zone))
            return s.cast(dtype)
        if spec.decimals is not None:
            v = np.round(v, spec.decimals)
        if spec.integer:
            v = np.round(v)
        s = pl.Series(spec.name, v, nan_to_null=True)
        if dtype.is_integer():
            return s.cast(dtype, strict=False)
        if dtype == pl.Boolean:
            return s > 0.5
        if dtype == pl.String:
            return (s.cast(pl.Int64) if spec.integer else s).cast(pl.String)
        return s.cast(dtype, strict=False)

    def _inverse_categorical(
        self, x: Tensor, col: str, st: dict[str, Any], spans: list[Span], g: torch.Generator
    ) -> pl.Series:
        spec = self.spec(col)
        k = len(st["categories"])
        span = spans[0]
        part = x[:, span.start : span.stop]
        if span.kind == "binary":
            codes = (part[:, 0] > 0.5).long()
            if len(spans) > 1:
                codes = torch.where(x[:, spans[1].start] > 0.5, torch.full_like(codes, k), codes)
        else:
            codes = part.argmax(1)
        # vocabulary: kept levels, then the "other" levels, then missing
        vocab_values = st["categories"] + st["other_values"] + [None]
        idx = codes.clone()
        null_slot = k + int(st["other"])
        if st["other"] and not st["other_values"]:  # a DP fit keeps no rare values: they decode to missing
            idx[codes == k] = len(vocab_values) - 1
        elif st["other"]:
            in_other = codes == k
            counts = self.tensors[f"categorical.{st['index']}.other_counts"]
            draws = (
                torch.multinomial(counts, int(in_other.sum()), replacement=True, generator=g)
                if in_other.any()
                else None
            )
            if draws is not None:
                idx[in_other] = k + draws
        idx[codes == null_slot] = len(vocab_values) - 1
        vocab = pl.Series(col, vocab_values, dtype=self._vocab_dtype(spec, vocab_values))
        values = vocab.gather(pl.Series(idx.numpy()))
        return values.cast(spec.polars_dtype, strict=False)

    @staticmethod
    def _vocab_dtype(spec: ColumnSpec, values: list[Any]) -> pl.DataType:
        dtype = spec.polars_dtype
        if isinstance(dtype, pl.Categorical | pl.Enum):
            return pl.String
        return dtype

    def _make_ids(self, spec: ColumnSpec, n: int, id_start: int) -> pl.Series:
        numbers = np.arange(id_start, id_start + n, dtype=np.int64)
        dtype = spec.polars_dtype
        if dtype.is_integer():
            return pl.Series(spec.name, numbers + self._id_start.get(spec.name, 0)).cast(dtype, strict=False)
        prefix = spec.id_prefix if spec.id_prefix is not None else "ID"
        width = spec.id_width or max(6, len(str(id_start + n)))
        s = pl.Series(spec.name, numbers).cast(pl.String).str.zfill(width)
        return (prefix + s).cast(dtype, strict=False) if prefix else s.cast(dtype, strict=False)

    def _constant(self, spec: ColumnSpec, n: int) -> pl.Series:
        value = self._constants.get(spec.name)
        dtype = spec.polars_dtype
        if isinstance(value, dict) and "epoch_us" in value:
            s = pl.Series(spec.name, [value["epoch_us"]] * n).cast(pl.Datetime("us"))
            if isinstance(dtype, pl.Datetime) and dtype.time_zone:
                s = s.dt.replace_time_zone("UTC").dt.convert_time_zone(dtype.time_zone)
            return s.cast(dtype)
        base = pl.String if isinstance(dtype, pl.Categorical | pl.Enum) else None
        s = pl.Series(spec.name, [value] * n, dtype=base)
        return s.cast(dtype, strict=False)

    # --------------------------------------------------------------- conditions
    def condition(self, column: str, value: Any) -> Condition:
        """Resolve ``column=value`` (a value or its text, as from ``--condition``) to a one-hot slot.

        ConfigError for an unknown column, a column that is not categorical/boolean (or is a
        sigmoid boolean), or a value the training data never held.
        """
        self._check_fitted()
        if column not in self.columns:
            names = ", ".join(s.column for s in self.discrete_spans) or "none"
            raise ConfigError(f"--condition: unknown column {column!r} (conditionable columns: {names})")
        spans = [i for i, s in enumerate(self.discrete_spans) if s.column == column]
        if not spans:
            raise ConfigError(
                f"--condition: column {column!r} is {self.spec(column).kind}; only categorical and "
                f"boolean columns can be conditioned on (conditionable: {', '.join(s.column for s in self.discrete_spans)})"
            )
        st = self._cat[column]
        k = len(st["categories"])
        pos = _match(st["categories"], value)
        if pos is not None:
            return Condition(column, st["categories"][pos], spans[0], pos, False)
        pos = _match(st["other_values"], value)
        if pos is not None:
            return Condition(column, st["other_values"][pos], spans[0], k, True)
        if st["null"] and (value is None or str(value).strip().lower() in ("", "null", "none", "nan", "na")):
            return Condition(column, None, spans[0], k + int(st["other"]), False)
        shown = ", ".join(repr(v) for v in st["categories"][:8])
        more = " ..." if len(st["categories"]) + len(st["other_values"]) > 8 else ""
        raise ConfigError(f"--condition: value {value!r} never occurs in column {column!r} (values: {shown}{more})")

    # ----------------------------------------------------------------- distances
    def encode_for_distance(self, data: Any, where: str = "data") -> Tensor:
        """Rows as vectors for distance metrics (DCR, membership inference): deterministic.

        Continuous and datetime values standardised by the training mean and spread (missing → 0
        plus a 0/1 missing flag); categorical/boolean one-hot over the capped slots scaled by
        1/√2, so two rows that differ in one category are at distance 1. Ids and constants are left out.
        """
        self._check_fitted()
        frame = read_table(data, where)
        parts: list[Tensor] = []
        if self._cont:
            x = torch.from_numpy(np.stack([self._numbers(frame[c], self.spec(c), where) for c in self._cont], axis=1))
            nan = torch.isnan(x)
            z = (x - self.tensors["continuous.center"]) / self.tensors["continuous.scale"]
            parts.append(torch.nan_to_num(z, nan=0.0).float())
            flagged = [i for i, c in enumerate(self._cont) if self.spec(c).nullable]
            if flagged:
                parts.append(nan[:, flagged].float())
        for col, st in self._cat.items():
            codes = self._codes(frame[col], st, where)
            width = len(self.categories(col))
            onehot = torch.zeros(len(codes), width)
            ok = codes >= 0
            onehot[torch.nonzero(ok).flatten(), codes[ok]] = 1.0 / math.sqrt(2.0)
            parts.append(onehot)
        return torch.cat(parts, 1) if parts else torch.zeros(frame.height, 0)

    # -------------------------------------------------------------------- state
    def state_dict(self) -> tuple[dict[str, Any], dict[str, Tensor]]:
        """Fitted state as (JSON-serialisable dict, tensors): what bundles store."""
        self._check_fitted()
        schema = {
            "format": FORMAT,
            "options": dataclasses.asdict(self.options),
            "frame": self.frame_kind,
            "n_rows": self.n_rows,
            "columns": [s.to_dict() for s in self.specs],
            "spans": [s.to_dict() for s in self.spans],
            "continuous": {"columns": self._cont, "modes": self._modes},
            "categorical": self._cat,
            "id_start": self._id_start,
            "constants": self._constants,
        }
        return schema, {k: v.detach().cpu().contiguous() for k, v in self.tensors.items()}

    @classmethod
    def from_state(cls, schema: Mapping[str, Any], tensors: Mapping[str, Tensor]) -> TabularTransformer:
        """Rebuild a fitted transformer from :meth:`state_dict` output (e.g. read back from JSON)."""
        if schema.get("format") != FORMAT:
            raise DataError(f"not a ganapps tabular transformer state (format {schema.get('format')!r})")
        t = cls(TransformerOptions(**schema["options"]))
        t.frame_kind = schema.get("frame", "polars")
        t.n_rows = int(schema.get("n_rows", 0))
        t.specs = [ColumnSpec.from_dict(d) for d in schema["columns"]]
        t.spans = [Span.from_dict(d) for d in schema["spans"]]
        t._cont = list(schema["continuous"]["columns"])
        t._modes = [list(m) for m in schema["continuous"]["modes"]]
        t._cat = {k: dict(v) for k, v in schema["categorical"].items()}
        t._id_start = {k: int(v) for k, v in schema["id_start"].items()}
        t._constants = dict(schema["constants"])
        t.tensors = {k: torch.as_tensor(v) for k, v in tensors.items()}
        return t

    def save_to(self, schema: dict[str, Any], tensors: dict[str, Tensor], key: str = "transformer") -> None:
        """Put the state into an app's ``self.schema``/``self.tensors`` under ``key``."""
        s, t = self.state_dict()
        schema[key] = s
        tensors.update({f"{key}.{name}": value for name, value in t.items()})

    @classmethod
    def load_from(
        cls, schema: Mapping[str, Any], tensors: Mapping[str, Tensor], key: str = "transformer"
    ) -> TabularTransformer:
        """Inverse of :meth:`save_to`."""
        if key not in schema:
            raise DataError(f"the model's schema has no {key!r} entry")
        prefix = f"{key}."
        return cls.from_state(
            schema[key], {name[len(prefix) :]: v for name, v in tensors.items() if name.startswith(prefix)}
        )


def _json_scalar(v: Any) -> Any:
    """A category/constant value as JSON (temporal values as epoch microseconds)."""
    import datetime as dt

    if isinstance(v, dt.datetime | dt.date):
        s = pl.Series([v])
        return {"epoch_us": int(s.cast(pl.Datetime("us")).dt.epoch("us")[0])}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _match(values: list[Any], wanted: Any) -> int | None:
    """Position of ``wanted`` in ``values``, comparing values, then text (``"3"`` matches 3, ``"true"`` True)."""
    for i, v in enumerate(values):
        if v == wanted and type(v) is type(wanted):
            return i
    text = str(wanted).strip()
    truth = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    for i, v in enumerate(values):
        if isinstance(v, bool):
            if truth.get(text.lower()) is v:
                return i
        elif isinstance(v, float):
            try:
                if float(text) == v:
                    return i
            except ValueError:
                pass
        elif str(v) == text:
            return i
    return None
