"""Tabular data plumbing shared by tabular apps (tabular GAN, fraud, e-commerce, medGAN).

The layer above the engine: it imports ``ganapps.core``, never the other way round. A table is
read with ``ganapps.core.io.read_table`` (a path or a polars/pandas frame → a polars frame) and
written with ``write_table``; ``ganapps.core.frames`` converts pandas ↔ polars without pyarrow.

- :func:`detect_columns` / :class:`ColumnSpec`: what each column is (continuous, categorical,
  boolean, datetime, id, constant), with user overrides and clear errors;
- :class:`TabularTransformer` / :class:`Span`: reversible table ↔ matrix encoding with per-column
  span metadata, fitted state as JSON + tensors;
- ``ganapps.tabular.evaluate``: SDMetrics reports, column-shape plots, ML efficacy, privacy;
- ``ganapps.tabular.sdv_metadata``: read and write SDV ``Metadata`` JSON;
- :class:`TableApp`: base of the apps that learn one table (the tabular GAN, SDV's synthesizers).

CTGAN's own pieces (the conditional sampler, the span activations) live with the ``tabular``
app in ``ganapps.plugins.tabular``. See docs/tabular.md ("API for app authors").
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: name → submodule; imported on first use (PEP 562) so that columns stay torch-free
_EXPORTS = {
    "TableApp": "app",
    "KINDS": "columns",
    "ColumnSpec": "columns",
    "describe_columns": "columns",
    "detect_columns": "columns",
    "primary_key_of": "columns",
    "Condition": "transformer",
    "Span": "transformer",
    "TabularTransformer": "transformer",
    "TransformerOptions": "transformer",
}

if TYPE_CHECKING:
    from ganapps.tabular.app import TableApp
    from ganapps.tabular.columns import KINDS, ColumnSpec, describe_columns, detect_columns, primary_key_of
    from ganapps.tabular.transformer import Condition, Span, TabularTransformer, TransformerOptions

__all__ = [
    "KINDS",
    "ColumnSpec",
    "Condition",
    "Span",
    "TableApp",
    "TabularTransformer",
    "TransformerOptions",
    "describe_columns",
    "detect_columns",
    "primary_key_of",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ganapps.tabular' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ganapps.tabular.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
