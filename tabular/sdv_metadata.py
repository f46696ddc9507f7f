"""SDV ``Metadata`` JSON ↔ ganapps column specs. Plain JSON: SDV is never imported.

Reads the formats SDV 1.x and 2.x write:

- ``Metadata`` (SDV ≥ 1.15, 2.x): ``{"METADATA_SPEC_VERSION": "V1" | "V2", "tables": {name:
  {"columns": {...}, "primary_key": ...}}, "relationships": [...]}``;
- legacy ``SingleTableMetadata``: ``{"METADATA_SPEC_VERSION": "SINGLE_TABLE_V1", "columns": {...},
  "primary_key": ...}``.

Column sdtypes map to kinds: ``numerical`` → continuous (``decimal_places``,
``computer_representation`` Int* → integer), ``categorical``/``ordinal`` → categorical,
``boolean``, ``datetime`` (``datetime_format`` kept), ``id`` → id; PII sdtypes (``email``,
``phone_number``, ``address``...) and ``unknown`` → id, i.e. regenerated, never learned.

Writes ``METADATA_SPEC_VERSION: "V1"`` with only ``sdtype``, ``datetime_format`` and
``regex_format`` keys — the subset SDV 1.x and 2.x both load without warnings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganapps.core.errors import DataError
from ganapps.core.io import read_json, write_json
from ganapps.tabular.columns import ColumnSpec

_KIND_TO_SDTYPE = {
    "continuous": "numerical",
    "categorical": "categorical",
    "boolean": "boolean",
    "datetime": "datetime",
    "id": "id",
    "constant": "categorical",
}
_SDTYPE_TO_KIND = {
    "numerical": "continuous",
    "categorical": "categorical",
    "ordinal": "categorical",
    "boolean": "boolean",
    "datetime": "datetime",
    "id": "id",
}


def sdtype_of(spec: ColumnSpec) -> str:
    """The SDV/SDMetrics sdtype of a column spec.

    SDV's ``boolean`` accepts only true/false values, so a 0/1 integer (or text) flag is written
    as ``categorical``, which SDV validates and reproduces exactly.
    """
    if spec.kind == "boolean" and spec.dtype.get("name") != "Boolean":
        return "categorical"
    return _KIND_TO_SDTYPE[spec.kind]


@dataclass
class SDVTable:
    """One table of an SDV metadata file, as ganapps column overrides.

    Pass ``overrides`` and ``primary_key`` to :func:`ganapps.tabular.detect_columns` (or
    ``TabularTransformer.fit``); columns the metadata leaves out are detected from the data.
    """

    name: str
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    primary_key: str | None = None
    notes: list[str] = field(default_factory=list)

    def check(self, columns: Sequence[str], where: str = "--metadata") -> None:
        """DataError when the metadata names a column the data lack."""
        missing = [c for c in self.overrides if c not in columns]
        if missing:
            raise DataError(
                f"{where}: column {missing[0]!r} of table {self.name!r} is not in the data "
                f"(data columns: {', '.join(list(columns)[:20])})"
            )


def read_sdv_metadata(
    source: str | Path | Mapping[str, Any], table: str | None = None, option: str = "--metadata"
) -> SDVTable:
    """Read an SDV metadata JSON file (or dict) into an :class:`SDVTable` of one table.

    ``table`` picks a table of a multi-table file; a file of one table needs none; ``option``: the
    command-line option that named the file, for messages.
    """
    where = f"{option} {source}" if isinstance(source, str | Path) else "metadata"
    try:
        meta = read_json(source) if isinstance(source, str | Path) else dict(source)
    except DataError as exc:
        raise DataError(f"option {option}: {exc}") from None
    if not isinstance(meta, dict):
        raise DataError(f"{where}: expected a JSON object")
    if "tables" in meta:
        tables = meta["tables"]
        if not isinstance(tables, dict) or not tables:
            raise DataError(f"{where}: 'tables' must map table names to their metadata")
        if table is None:
            if len(tables) > 1:
                raise DataError(f"{where}: several tables ({', '.join(tables)}); name the one to use")
            table = next(iter(tables))
        if table not in tables:
            raise DataError(f"{where}: no table {table!r} (tables: {', '.join(tables)})")
        body = tables[table]
    elif "columns" in meta:
        body, table = meta, table or "table"
    else:
        raise DataError(f"{where}: not SDV metadata (no 'tables' or 'columns' key)")
    columns = body.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise DataError(f"{where}: table {table!r} has no 'columns'")
    out = SDVTable(name=table)
    for name, col in columns.items():
        if not isinstance(col, dict) or "sdtype" not in col:
            raise DataError(f"{where}: column {name!r} has no 'sdtype'")
        sdtype = col["sdtype"]
        kind = _SDTYPE_TO_KIND.get(sdtype)
        hint: dict[str, Any] = {}
        if kind is None:
            kind = "id"
            out.notes.append(f"column {name!r} (sdtype {sdtype}) is regenerated, not learned")
        hint["kind"] = kind
        if kind == "continuous":
            if isinstance(col.get("decimal_places"), int):
                hint["decimals"] = col["decimal_places"]
            rep = str(col.get("computer_representation", ""))
            if rep.startswith(("Int", "UInt")) or col.get("decimal_places") == 0:
                hint["integer"] = True
        if kind == "datetime" and col.get("datetime_format"):
            hint["format"] = col["datetime_format"]
        out.overrides[str(name)] = hint
    pk = body.get("primary_key")
    if isinstance(pk, list):
        if len(pk) > 1:
            raise DataError(f"{where}: composite primary keys ({', '.join(pk)}) are not supported")
        pk = pk[0] if pk else None
    if pk is not None:
        if pk not in out.overrides:
            raise DataError(f"{where}: primary key {pk!r} is not among the columns")
        out.primary_key = str(pk)
    for alt in body.get("alternate_keys") or []:
        if isinstance(alt, str) and alt in out.overrides:
            out.overrides[alt] = {"kind": "id"}
    return out


def to_sdv_metadata(specs: Sequence[ColumnSpec], table: str = "table") -> dict[str, Any]:
    """SDV ``Metadata`` dict (spec version V1) for a table described by ``specs``."""
    columns: dict[str, Any] = {}
    primary = None
    for s in specs:
        col: dict[str, Any] = {"sdtype": sdtype_of(s)}
        if s.kind == "datetime" and s.format:
            col["datetime_format"] = s.format
        if s.kind == "id":
            primary = primary or s.name
            if s.id_prefix is not None and s.id_width:
                col["regex_format"] = f"{re.escape(s.id_prefix)}[0-9]{{{s.id_width}}}"
        columns[s.name] = col
    body: dict[str, Any] = {"columns": columns}
    if primary is not None:
        body["primary_key"] = primary
    return {"METADATA_SPEC_VERSION": "V1", "tables": {table: body}, "relationships": []}


def write_sdv_metadata(specs: Sequence[ColumnSpec], path: str | Path, table: str = "table") -> Path:
    """Write :func:`to_sdv_metadata` to ``path`` atomically."""
    return write_json(path, to_sdv_metadata(specs, table))
