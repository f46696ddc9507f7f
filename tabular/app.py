"""``TableApp``: what the apps that learn one table share (the ``tabular`` GAN, SDV's synthesizers).

Reading the table, typing its columns from ``--metadata`` / ``--column-types`` /
``--primary-key``, the fitted transformer kept in the bundle, the sample count, reading samples
back, their vectors for the diversity check, and the shared evaluation with its headline
numbers first. The app learns and generates; this base does the rest the same way for all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from torch import Tensor

from ganapps.core.app import App, Evaluation
from ganapps.core.errors import ConfigError
from ganapps.core.io import read_table
from ganapps.tabular.evaluate import evaluate_table, table_meanings
from ganapps.tabular.sdv_metadata import read_sdv_metadata
from ganapps.tabular.transformer import TabularTransformer

#: the most rows a run generates and evaluates by default (what the SDMetrics reports use)
MAX_DEFAULT_SAMPLES = 20_000


class TableApp(App):
    """Base of one-table apps; their ``Options`` have ``metadata`` and ``target`` (and may have
    ``column_types`` and ``primary_key``). ``fit`` sets ``self._tt``, a fitted transformer."""

    kind = "tabular"
    default_dataset = "mimic-admissions"
    output_suffix = ".csv"
    metric_meanings = table_meanings()

    # ------------------------------------------------------------------ data
    def load_data(self, source: Any) -> pl.DataFrame:
        return read_table(source, self.data_name(source), require_rows=True)

    def column_typing(self, train: pl.DataFrame) -> tuple[dict[str, Any] | None, str | None]:
        """(column-type overrides, primary key) from ``--metadata``, then ``--column-types`` and
        ``--primary-key`` on top; a column these options or ``--target`` name must exist."""
        o = self.options
        column_types: dict[str, str] = getattr(o, "column_types", None) or {}
        overrides: dict[str, Any] = {}
        primary_key = getattr(o, "primary_key", None)
        if o.metadata:
            table = read_sdv_metadata(o.metadata)
            table.check(train.columns)
            overrides.update(table.overrides)
            primary_key = primary_key or table.primary_key
        overrides.update(column_types)
        named = [*((c, "--column-types") for c in column_types), (primary_key, "--primary-key"), (o.target, "--target")]
        for col, option in named:
            if col and col not in train.columns:
                raise ConfigError(
                    f"{self.data_name()}: no column {col!r} for {option} (columns: {', '.join(train.columns)})"
                )
        return overrides or None, primary_key

    @property
    def tt(self) -> TabularTransformer:
        """The fitted transformer, rebuilt from the bundle's schema/tensors when loaded."""
        if getattr(self, "_tt", None) is None:
            self._tt = TabularTransformer.load_from(self.schema, self.tensors)
        return self._tt

    # --------------------------------------------------------------- outputs
    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        """As many rows as the training split, at most 20,000 (what the SDMetrics reports use)."""
        return max(1, min(n_train, MAX_DEFAULT_SAMPLES))

    def load_samples(self, path: Path) -> pl.DataFrame:
        return read_table(path)

    def sample_vectors(self, samples: Any) -> Tensor:
        return self.tt.encode_for_distance(samples)

    # ------------------------------------------------------------ evaluation
    def headline(self) -> dict[str, Any]:
        """Numbers the metrics start with after ``quality_score`` (for the CLI summary)."""
        return {}

    def evaluate(self, real: Any, synthetic: Any, train: Any = None) -> Evaluation:
        """The shared table evaluation (``evaluate_table``), headline numbers first: the CLI
        summary shows them and early stopping can watch ``quality_score``."""
        ev = evaluate_table(real, synthetic, self.tt, train=train, target=self.options.target)
        quality = ev.metrics.get("quality", {})
        head = {"quality_score": quality["quality_score"]} if "quality_score" in quality else {}
        ev.metrics = {**head, **self.headline(), **ev.metrics}
        return ev
