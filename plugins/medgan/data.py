"""EHR code data for medGAN: long or wide tables ↔ a patient × code matrix.

- **long**: one row per (patient, code) occurrence, e.g. MIMIC-III ``DIAGNOSES_ICD.csv``
  (``subject_id``, ``icd9_code``) or Synthea ``conditions.csv`` (``PATIENT``, ``CODE``); rows
  are aggregated per patient (or per visit with a visit column) into code counts;
- **wide**: one row per patient, an optional id column, one 0/1 or count column per code.

Synthetic patients are written back in the input's format with fresh ids (``S000001``...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor

from ganapps.core.errors import ConfigError, DataError
from ganapps.core.io import read_table, table_format

#: column names recognised automatically (case-insensitive), in order of preference
PATIENT_NAMES = (
    "subject_id",
    "patient_id",
    "patient",
    "person_id",
    "member_id",
    "patient_nbr",
    "patientid",
    "mrn",
    "pid",
)
CODE_NAMES = (
    "icd9_code",
    "icd10_code",
    "icd_code",
    "icd9",
    "icd10",
    "code",
    "diagnosis_code",
    "dx_code",
    "concept_code",
    "condition_code",
    "snomed_code",
    "dx",
    "diagnosis",
)
ID_NAMES = ("id", "row_id", "index")

GROUPINGS = ("none", "icd9-3digit")


@dataclass
class CodeMatrix:
    """Patients (or visits) × codes: the matrix medGAN learns, with who each row is.

    ``x`` holds code counts (float32); ``groups`` gives each row's patient number, so a split by
    patient keeps all visits of a patient on one side.
    """

    x: Tensor
    codes: list[str]
    ids: list[str]
    groups: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def take(self, idx: np.ndarray) -> CodeMatrix:
        t = torch.as_tensor(idx, dtype=torch.long)
        return CodeMatrix(self.x[t], self.codes, [self.ids[i] for i in idx.tolist()], self.groups[idx])

    def align(self, codes: Sequence[str]) -> Tensor:
        """The matrix with columns ``codes`` (codes it lacks are all-zero columns)."""
        if list(codes) == self.codes:
            return self.x
        where = {c: i for i, c in enumerate(self.codes)}
        out = torch.zeros(len(self), len(codes), dtype=self.x.dtype)
        pairs = [(j, where[c]) for j, c in enumerate(codes) if c in where]
        if pairs:
            dst, src = (torch.as_tensor(v) for v in zip(*pairs, strict=True))
            out[:, dst] = self.x[:, src]
        return out


def split_by_patient(data: CodeMatrix, holdout: float, seed: int) -> tuple[CodeMatrix, CodeMatrix]:
    """Random train/holdout split of the *patients* (all rows of a patient stay together)."""
    patients = np.unique(data.groups)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(patients)
    k = int(round(len(patients) * holdout))
    if holdout > 0 and len(patients) >= 2:
        k = min(max(k, 1), len(patients) - 1)
    held = np.isin(data.groups, perm[:k])
    return data.take(np.where(~held)[0]), data.take(np.where(held)[0])


def group_code(code: str, grouping: str) -> str:
    """ICD-9 diagnosis code → its 3-digit category (``4019`` → ``401``, ``E8782`` → ``E878``)."""
    if grouping == "none":
        return code
    c = code.replace(".", "").strip().upper()
    return c[:4] if c.startswith("E") else c[:3]


def _find(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _check_column(frame: pl.DataFrame, name: str | None, option: str, where: str) -> None:
    if name is not None and name not in frame.columns:
        raise DataError(
            f"{where}: option --{option} names column {name!r}, which is not in the file "
            f"(columns: {', '.join(frame.columns)})"
        )


@dataclass
class Layout:
    """How a table holds its codes (stored in the bundle so output mirrors input)."""

    format: str  # long | wide
    patient_col: str | None
    code_col: str | None = None
    visit_col: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "patient_col": self.patient_col,
            "code_col": self.code_col,
            "visit_col": self.visit_col,
        }


def read_codes_table(source: Any) -> tuple[pl.DataFrame, str]:
    """A CSV/Parquet path (CSV read as text, so codes keep leading zeros) or a DataFrame."""
    if isinstance(source, str | Path):
        path = Path(source)
        if table_format(path) == "parquet":
            return read_table(path), str(path)
        return read_table(path, infer_schema_length=0), str(path)
    if isinstance(source, pl.DataFrame):
        frame = source
    elif type(source).__module__.startswith("pandas"):
        frame = read_table(source)
    else:
        raise DataError(f"medgan reads a CSV/Parquet path or a DataFrame, not {type(source).__name__}")
    if frame.height == 0:
        raise DataError("data: the table has no rows")
    return frame, "data"


def detect_layout(
    frame: pl.DataFrame,
    where: str,
    fmt: str = "auto",
    patient_col: str | None = None,
    code_col: str | None = None,
    visit_col: str | None = None,
) -> Layout:
    """Long or wide, and which columns are the patient, code and visit (flags win over detection)."""
    if fmt not in ("auto", "long", "wide"):
        raise ConfigError(f"option --format must be auto, long or wide, not {fmt!r}")
    for name, opt in ((patient_col, "patient-col"), (code_col, "code-col"), (visit_col, "visit-col")):
        _check_column(frame, name, opt, where)
    patient = patient_col or _find(frame.columns, PATIENT_NAMES)
    code = code_col or _find(frame.columns, CODE_NAMES)
    if fmt == "auto":
        repeated = patient is not None and frame[patient].n_unique() < frame.height
        fmt = "long" if code is not None or visit_col is not None or repeated else "wide"
    if fmt == "wide":
        if code_col is not None or visit_col is not None:
            raise ConfigError("options --code-col and --visit-col are for long format data, not --format wide")
        return Layout("wide", patient or _find(frame.columns, ID_NAMES))
    if patient is None:
        raise DataError(
            f"{where}: no patient column (looked for {', '.join(PATIENT_NAMES[:5])}...); name it with --patient-col"
        )
    if code is None:
        raise DataError(f"{where}: no code column (looked for {', '.join(CODE_NAMES[:6])}...); name it with --code-col")
    if code == patient:
        raise ConfigError(f"{where}: the patient and code columns must differ (both are {code!r})")
    return Layout("long", patient, code, visit_col)


def load_codes(
    source: Any,
    fmt: str = "auto",
    patient_col: str | None = None,
    code_col: str | None = None,
    visit_col: str | None = None,
    grouping: str = "none",
    where: str | None = None,
) -> tuple[CodeMatrix, Layout, list[str]]:
    """Read EHR codes into a :class:`CodeMatrix`; returns (matrix, layout, notes). Messages name the
    table ``where`` (default: its path, or "data")."""
    if grouping not in GROUPINGS:
        raise ConfigError(f"option --group-codes must be one of {', '.join(GROUPINGS)}, not {grouping!r}")
    frame, path = read_codes_table(source)
    where = where or path
    layout = detect_layout(frame, where, fmt, patient_col, code_col, visit_col)
    if layout.format == "long":
        matrix, notes = _from_long(frame, layout, where, grouping)
    else:
        matrix, notes = _from_wide(frame, layout, where, grouping)
    n_patients = len(np.unique(matrix.groups))
    if n_patients < 4:
        who = f" ({matrix.ids[0]})" if n_patients == 1 else ""
        raise DataError(f"{where}: only {n_patients} patient(s){who}; medGAN needs at least 4 (and really hundreds)")
    if matrix.x.shape[1] < 2:
        found = f"only code {matrix.codes[0]!r}" if matrix.codes else "no codes"
        raise DataError(f"{where}: {found} found; medGAN learns how codes occur together and needs at least 2")
    return matrix, layout, notes


def _text(col: pl.Series) -> pl.Series:
    return col.cast(pl.Utf8).str.strip_chars()


def _from_long(frame: pl.DataFrame, layout: Layout, where: str, grouping: str) -> tuple[CodeMatrix, list[str]]:
    p, c, v = layout.patient_col, layout.code_col, layout.visit_col
    assert p is not None and c is not None
    cols = {"patient": _text(frame[p]), "code": _text(frame[c])}
    if v is not None:
        cols["visit"] = _text(frame[v])
    df = pl.DataFrame(cols)
    notes = []
    keep = pl.col("patient").is_not_null() & (pl.col("patient") != "") & pl.col("code").is_not_null()
    keep = keep & (pl.col("code") != "")
    if v is not None:
        keep = keep & pl.col("visit").is_not_null() & (pl.col("visit") != "")
    dropped = df.height - df.filter(keep).height
    df = df.filter(keep)
    if dropped:
        notes.append(f"{dropped} row(s) of {where} without a patient, code or visit were skipped.")
    if df.height == 0:
        raise DataError(f"{where}: column {c!r} holds no codes")
    if grouping != "none":
        df = df.with_columns(pl.col("code").map_elements(lambda s: group_code(s, grouping), return_dtype=pl.Utf8))
    unit = ["patient", "visit"] if v is not None else ["patient"]
    counts = df.group_by([*unit, "code"]).len()
    codes = sorted(counts["code"].unique().to_list())
    units = df.select(unit).unique(maintain_order=True)
    units = units.with_row_index("row")
    patients = units.select("patient").unique(maintain_order=True).with_row_index("group")
    units = units.join(patients, on="patient", how="left", maintain_order="left")
    counts = counts.join(units, on=unit, how="left").join(
        pl.DataFrame({"code": codes, "col": np.arange(len(codes))}), on="code", how="left"
    )
    x = torch.zeros(units.height, len(codes), dtype=torch.float32)
    rows = torch.as_tensor(counts["row"].to_numpy().astype(np.int64))
    cols = torch.as_tensor(counts["col"].to_numpy().astype(np.int64))
    x[rows, cols] = torch.as_tensor(counts["len"].to_numpy().astype(np.float32))
    if v is not None:
        ids = [f"{a}/{b}" for a, b in zip(units["patient"].to_list(), units["visit"].to_list(), strict=True)]
    else:
        ids = units["patient"].to_list()
    return CodeMatrix(x, codes, ids, units["group"].to_numpy().astype(np.int64)), notes


def looks_like_id(name: str) -> bool:
    """Whether a column name reads as an identifier (``hadm_id``, ``visit_id``, ``id``...), not a code."""
    low = name.strip().lower()
    return low in PATIENT_NAMES or low in ID_NAMES or low.endswith("_id") or low.startswith("id_")


def _wide_code_columns(frame: pl.DataFrame, id_col: str | None, where: str) -> list[str]:
    """The code columns of a wide table: every column but the patient id; an id-like one is an error."""
    code_cols = [c for c in frame.columns if c != id_col]
    if not code_cols:
        raise DataError(f"{where}: wide format needs one column per code; only {id_col!r} found")
    for col in code_cols:
        if looks_like_id(col):
            raise DataError(
                f"{where}: column {col!r} looks like an id, not a code; in wide format every column"
                f"{f' but the patient id ({id_col!r})' if id_col else ''} holds one code's 0/1 or counts: "
                f"drop {col!r}, or give long data (one row per patient and code) with --code-col"
            )
    return code_cols


def _from_wide(frame: pl.DataFrame, layout: Layout, where: str, grouping: str) -> tuple[CodeMatrix, list[str]]:
    id_col = layout.patient_col
    code_cols = _wide_code_columns(frame, id_col, where)
    values = []
    for col in code_cols:
        s = frame[col]
        if s.dtype == pl.Boolean or s.dtype.is_numeric():
            s = s.cast(pl.Float32)
        else:
            text = _text(s)
            s = text.cast(pl.Float32, strict=False)
            bad = text.is_not_null() & (text != "") & s.is_null()
            if bad.any():
                example = text.filter(bad)[0]
                raise DataError(
                    f"{where}: column {col!r} holds {example!r}; in wide format every column but the "
                    "patient id must hold 0/1 or counts (use --patient-col for the id column, "
                    "or give long data with --code-col)"
                )
        arr = s.fill_null(0).fill_nan(0).to_numpy()
        if not np.isfinite(arr).all() or (arr < 0).any():
            bad_value = arr[~np.isfinite(arr) | (arr < 0)][0]
            raise DataError(f"{where}: column {col!r} holds {bad_value}; code counts must be finite and ≥ 0")
        values.append(arr)
    x = torch.as_tensor(np.stack(values, 1), dtype=torch.float32)
    codes = [str(c) for c in code_cols]
    if grouping != "none":
        grouped = [group_code(c, grouping) for c in codes]
        uniq = sorted(set(grouped))
        pos = {g: i for i, g in enumerate(uniq)}
        out = torch.zeros(x.shape[0], len(uniq))
        out.index_add_(1, torch.as_tensor([pos[g] for g in grouped]), x)
        x, codes = out, uniq
    if id_col is not None:
        ids = _text(frame[id_col]).fill_null("").to_list()
        if len(set(ids)) < len(ids):
            raise DataError(
                f"{where}: wide format has one row per patient, but {id_col!r} repeats "
                "(for one row per code, use long format: --format long --code-col NAME)"
            )
    else:
        ids = [str(i) for i in range(frame.height)]
    return CodeMatrix(x, codes, ids, np.arange(frame.height, dtype=np.int64)), []


def synthetic_ids(n: int) -> list[str]:
    """Fresh ids for synthetic patients: ``S000001``, ``S000002``..."""
    width = max(6, len(str(n)))
    return [f"S{i:0{width}d}" for i in range(1, n + 1)]


def to_frame(samples: CodeMatrix, layout: dict[str, Any], mode: str) -> pl.DataFrame:
    """Synthetic patients in the input's format (long: one row per code occurrence; wide: a column per code)."""
    x = samples.x.round().clamp_min(0).to(torch.int64)
    if mode == "binary":
        x = x.clamp_max(1)
    if layout["format"] == "wide":
        cols: dict[str, Any] = {}
        if layout["patient_col"] is not None:
            cols[layout["patient_col"]] = samples.ids
        for j, code in enumerate(samples.codes):
            cols[code] = x[:, j].numpy()
        return pl.DataFrame(cols)
    rows, cols_idx = torch.nonzero(x, as_tuple=True)
    reps = x[rows, cols_idx]
    rows = rows.repeat_interleave(reps).numpy()
    cols_idx = cols_idx.repeat_interleave(reps).numpy()
    ids = np.asarray(samples.ids, dtype=object)
    codes = np.asarray(samples.codes, dtype=object)
    out: dict[str, Any] = {layout["patient_col"]: ids[rows].tolist()}
    if layout.get("visit_col"):
        out[layout["visit_col"]] = [1] * len(rows)
    out[layout["code_col"]] = codes[cols_idx].tolist()
    schema = {k: pl.Utf8 for k in out}
    if layout.get("visit_col"):
        schema[layout["visit_col"]] = pl.Int64
    return pl.DataFrame(out, schema=schema)
