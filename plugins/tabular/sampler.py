"""Training-by-sampling (CTGAN): conditional vectors and the real rows that match them.

The conditional vector concatenates one block per discrete (``category``) span of the encoded
matrix, in span order. For each training example CTGAN picks a discrete column uniformly, a
category of it with probability ∝ log(1 + count), sets that one slot of the vector, and draws
a real row holding that category, so the discriminator compares like with like and rare
categories get trained. Everything here is vectorised (no per-row Python) and seeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ganapps.core.errors import ConfigError, DataError
from ganapps.tabular.transformer import Span, TabularTransformer


@dataclass
class CondBatch:
    """One batch of conditions.

    ``cond`` ``(n, width)`` one-hot conditional vectors; ``mask`` ``(n, n_columns)`` one-hot of
    the chosen discrete column; ``column``/``category`` the chosen column (index among the
    discrete spans) and its slot; ``rows`` indices of real rows holding that category (None when
    the sampler has no rows, e.g. when generating).
    """

    cond: Tensor
    mask: Tensor
    column: Tensor
    category: Tensor
    rows: Tensor | None = None


class ConditionalSampler:
    """Conditional vectors over the ``category`` spans of a transformer's layout.

    Build it from the encoded training matrix (:meth:`from_encoded`, for training-by-sampling:
    it knows which rows hold which category) or from a fitted transformer alone
    (:meth:`from_transformer`, for generation: category frequencies only). It draws on the CPU
    and returns CPU tensors, unless moved with :meth:`to`: then its tables live on that device
    and every draw happens there, so a training step on a GPU copies nothing from the host.
    """

    def __init__(self, spans: Sequence[Span], counts: Sequence[Tensor], codes: Tensor | None = None) -> None:
        self.spans = [s for s in spans if s.discrete]
        if len(counts) != len(self.spans):
            raise ValueError("one count vector per discrete span is needed")
        self.columns = [s.column for s in self.spans]
        self.widths = torch.tensor([s.width for s in self.spans], dtype=torch.long)
        self.offsets = torch.cumsum(self.widths, 0) - self.widths
        self.width = int(self.widths.sum()) if self.spans else 0
        self.n_columns = len(self.spans)
        self.counts = torch.cat([torch.as_tensor(c, dtype=torch.float64) for c in counts]) if counts else torch.zeros(0)
        self._log_p = self._probabilities(torch.log1p(self.counts))
        self._p = self._probabilities(self.counts)
        self._rows: Tensor | None = None
        self.device = torch.device("cpu")
        if codes is not None:
            self._index_rows(codes)

    _TABLES = ("widths", "offsets", "counts", "_log_p", "_p", "_rows", "_row_counts", "_row_starts")

    def to(self, device: torch.device | str) -> ConditionalSampler:
        """Keep the tables on ``device`` and draw there (float64 draws: CPU or CUDA, not MPS)."""
        self.device = torch.device(device)
        for name in self._TABLES:
            value = getattr(self, name, None)
            if value is not None:
                setattr(self, name, value.to(self.device))
        return self

    @classmethod
    def from_encoded(cls, x: Tensor, spans: Sequence[Span]) -> ConditionalSampler:
        """From the encoded training matrix: category of each row per discrete span (its argmax)."""
        discrete = [s for s in spans if s.discrete]
        if not discrete:
            return cls(spans, [], None)
        codes = torch.stack([x[:, s.start : s.stop].argmax(1) for s in discrete], 1).cpu()  # (n, n_columns)
        counts = [torch.bincount(codes[:, j], minlength=s.width) for j, s in enumerate(discrete)]
        return cls(spans, counts, codes)

    @classmethod
    def from_transformer(cls, transformer: TabularTransformer) -> ConditionalSampler:
        """From a fitted transformer's training frequencies (no rows: for generation)."""
        discrete = transformer.discrete_spans
        return cls(transformer.spans, [transformer.category_counts(s.column) for s in discrete], None)

    # ------------------------------------------------------------------ internals
    def _probabilities(self, weights: Tensor) -> Tensor:
        """Per column, cumulative category probabilities padded to the widest column ``(n_columns, max_width)``."""
        if not self.n_columns:
            return torch.zeros(0, 0, dtype=torch.float64)
        w_max = int(self.widths.max())
        table = torch.zeros(self.n_columns, w_max, dtype=torch.float64)
        col = torch.repeat_interleave(torch.arange(self.n_columns), self.widths)
        slot = torch.arange(self.width) - self.offsets[col]
        table[col, slot] = weights
        total = table.sum(1, keepdim=True)
        # a column whose categories never occur gets uniform probabilities over its slots
        uniform = (torch.arange(w_max)[None, :] < self.widths[:, None]).to(torch.float64)
        table = torch.where(total > 0, table, uniform)
        cdf = torch.cumsum(table / table.sum(1, keepdim=True), 1)
        cdf[torch.arange(self.n_columns), self.widths - 1] = 1.0  # exact end despite rounding
        return cdf

    def _index_rows(self, codes: Tensor) -> None:
        """Rows sorted by (column, category): the rows of slot g are ``rows[start[g] : start[g] + count[g]]``."""
        n = codes.shape[0]
        keys = (codes.long() + self.offsets[None, :]).T.reshape(-1)  # column-major: each column contiguous
        order = torch.argsort(keys, stable=True)
        self._rows = (order % n).to(torch.int64)
        self._row_counts = torch.bincount(keys, minlength=self.width)
        self._row_starts = torch.cumsum(self._row_counts, 0) - self._row_counts
        self.n_rows = n

    def _draw(self, cdf: Tensor, column: Tensor, g: torch.Generator | None) -> Tensor:
        u = torch.rand(len(column), 1, generator=g, dtype=torch.float64, device=self.device)
        slot = torch.searchsorted(cdf[column], u).squeeze(1)
        return torch.minimum(slot, self.widths[column] - 1)

    def _batch(self, column: Tensor, category: Tensor) -> CondBatch:
        n, rows = len(column), torch.arange(len(column), device=self.device)
        cond = torch.zeros(n, self.width, device=self.device)
        cond[rows, self.offsets[column] + category] = 1.0
        mask = torch.zeros(n, self.n_columns, device=self.device)
        mask[rows, column] = 1.0
        return CondBatch(cond, mask, column, category)

    def _require(self) -> None:
        if not self.n_columns:
            raise ConfigError("the table has no categorical or boolean column to condition on")

    # --------------------------------------------------------------------- public
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        *,
        log_frequency: bool = True,
        column_p: Tensor | None = None,
    ) -> CondBatch:
        """Training conditions: a column uniformly (or ∝ ``column_p``), a category ∝ log(1 + count)
        (or ∝ count), matching rows."""
        self._require()
        if column_p is None:
            column = torch.randint(self.n_columns, (n,), generator=generator, device=self.device)
        else:
            p = column_p.to(self.device, torch.float64)
            column = torch.multinomial(p, n, replacement=True, generator=generator)
        category = self._draw(self._log_p if log_frequency else self._p, column, generator)
        batch = self._batch(column, category)
        if self._rows is not None:  # a drawn slot always has rows: its probability is 0 otherwise
            batch.rows = self._pick_rows(self.offsets[column] + category, generator)
        return batch

    def sample_original(
        self, n: int, generator: torch.Generator | None = None, *, column_p: Tensor | None = None
    ) -> CondBatch:
        """Generation conditions: a column uniformly (or ∝ ``column_p``), a category by its training frequency."""
        return self.sample(n, generator, log_frequency=False, column_p=column_p)

    def rows_for(self, column: Tensor, category: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A random real row holding ``category`` of discrete ``column``, for each pair."""
        if self._rows is None:
            raise DataError("this sampler was built without rows (use ConditionalSampler.from_encoded)")
        slot = self.offsets[column] + category
        count = self._row_counts[slot]
        if bool((count == 0).any()):
            bad = int(torch.nonzero(count == 0)[0])
            raise DataError(
                f"no training row has slot {int(category[bad])} of column {self.columns[int(column[bad])]!r}"
            )
        return self._pick_rows(slot, generator)

    def _pick_rows(self, slot: Tensor, generator: torch.Generator | None) -> Tensor:
        """One random row of each slot (every slot has rows)."""
        assert self._rows is not None
        count = self._row_counts[slot]
        u = torch.rand(len(slot), generator=generator, dtype=torch.float64, device=self.device)
        pick = self._row_starts[slot] + (u * count).long().clamp_max(count - 1)
        return self._rows[pick]

    def fixed(self, n: int, index: int, category: int) -> CondBatch:
        """``n`` identical conditions: slot ``category`` of discrete column ``index`` (see ``TabularTransformer.condition``)."""
        self._require()
        if not 0 <= index < self.n_columns or not 0 <= category < int(self.widths[index]):
            raise ConfigError(f"no slot {category} in discrete column {index}")
        full = {"dtype": torch.long, "device": self.device}
        return self._batch(torch.full((n,), index, **full), torch.full((n,), category, **full))
