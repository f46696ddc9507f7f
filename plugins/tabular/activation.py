"""Output activations and the conditional loss, driven by span metadata, in a grouped layout.

The generator does not emit its columns in the transformer's encoded order but in a *grouped
layout* (a fixed permutation of it, :attr:`SpanActivation.order`): first every ``tanh`` column,
then every ``sigmoid`` column, then the softmax spans grouped by width, the conditionable
(category) spans of a group before its GMM mode spans. Real rows are permuted into the same
layout once (:meth:`SpanActivation.to_layout`), so in training every activation is applied to
a *slice* of the output: no gather, no scatter, no final permutation, and the backward pass
copies nothing back. Each width group is one ``(batch, width, spans)`` or ``(batch, spans,
width)`` view and one softmax, however many columns a table has (CTGAN loops over spans: 528
calls per step on an EHR matrix, see shared/ANCHORS.md). Decoding goes back to the encoded
order with :meth:`SpanActivation.from_layout` (or :meth:`SpanActivation.encoded`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganapps.tabular.transformer import Span

#: spans at most this wide are laid out ``(batch, width, spans)`` so the softmax runs over dim 1:
#: torch's CPU softmax over a last dimension of 2 is ~20x slower than over a leading one
NARROW = 8


def _gumbel(logits: Tensor) -> Tensor:
    """Gumbel(0, 1) noise like ``logits`` (through ``rand``: ~2x faster than ``exponential_`` on CPU)."""
    u = torch.rand_like(logits).clamp_(1e-10, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


@dataclass(frozen=True)
class Group:
    """Softmax spans of one width: layout columns ``start : start + width·spans``, the first
    ``discrete`` spans conditionable. Narrow groups are ``(width, spans)``-major, wide ones
    ``(spans, width)``-major, so :meth:`view` is a reshape."""

    width: int
    spans: int
    discrete: int
    start: int

    @property
    def narrow(self) -> bool:
        return self.width <= NARROW

    @property
    def dim(self) -> int:
        """The category dimension of :meth:`view`."""
        return 1 if self.narrow else 2

    @property
    def stop(self) -> int:
        return self.start + self.width * self.spans

    def view(self, x: Tensor, offset: int = 0) -> Tensor:
        """This group's columns of ``x`` (layout order, starting at layout column ``offset``) as a 3-d view."""
        block = x[:, self.start - offset : self.stop - offset]
        shape = (self.width, self.spans) if self.narrow else (self.spans, self.width)
        return block.reshape(x.shape[0], *shape)

    def cells(self, spans: Sequence[Span]) -> list[int]:
        """The encoded column of each layout column of the group, in order."""
        if self.narrow:
            return [s.start + j for j in range(self.width) for s in spans]
        return [s.start + j for s in spans for j in range(self.width)]


class SpanActivation(nn.Module):
    """Each span's activation on a generator's raw output ``(batch, width)`` in the grouped layout.

    ``tanh`` on value spans, ``sigmoid`` on binary/missing spans, softmax on mode/category
    spans — a Gumbel-softmax with temperature ``tau`` when ``tau`` is given (CTGAN uses 0.2),
    straight-through one-hot when ``hard``. Index tensors are non-persistent buffers: they
    follow ``.to(device)`` and never enter a bundle.
    """

    def __init__(self, spans: Sequence[Span]) -> None:
        super().__init__()
        self.spans = list(spans)
        self.width = self.spans[-1].stop if self.spans else 0
        for s in self.spans:
            if s.activation in ("tanh", "sigmoid") and s.width != 1:
                raise ValueError(f"span {s} must have width 1 for {s.activation}")
        tanh = [s.start for s in self.spans if s.activation == "tanh"]
        sigmoid = [s.start for s in self.spans if s.activation == "sigmoid"]
        self.n_tanh, self.soft_start = len(tanh), len(tanh) + len(sigmoid)
        discrete = [s for s in self.spans if s.discrete]
        self.cond_width = sum(s.width for s in discrete)
        order, start, self.groups = tanh + sigmoid, self.soft_start, []
        soft = [s for s in self.spans if s.activation == "softmax"]
        for w in sorted({s.width for s in soft}):
            members = sorted((s for s in soft if s.width == w), key=lambda s: not s.discrete)  # stable
            g = Group(w, len(members), sum(s.discrete for s in members), start)
            order += g.cells(members)
            start = g.stop
            self.groups.append(g)
        order_t = torch.tensor(order, dtype=torch.long)
        if len(order_t) != self.width or not torch.equal(order_t.sort().values, torch.arange(self.width)):
            raise ValueError("spans must tile the encoded width exactly")
        inverse = torch.empty_like(order_t)
        inverse[order_t] = torch.arange(len(order_t))
        self.register_buffer("order", order_t, persistent=False)
        self.register_buffer("inverse", inverse, persistent=False)
        # (cond_width, softmax width): a one-hot conditional vector @ this = its category in the layout
        to_layout = torch.zeros(self.cond_width, self.width - self.soft_start)
        slot = 0
        for s in discrete:
            for j in range(s.width):
                to_layout[slot, inverse[s.start + j] - self.soft_start] = 1.0
                slot += 1
        self.register_buffer("cond_to_layout", to_layout, persistent=False)

    # -------------------------------------------------------------- layout
    def to_layout(self, x: Tensor) -> Tensor:
        """Encoded-order rows → grouped layout (what the generator emits)."""
        return x[:, self.order]

    def from_layout(self, x: Tensor) -> Tensor:
        """Grouped layout → encoded order (what ``TabularTransformer.inverse_transform`` reads)."""
        return x[:, self.inverse]

    def encoded(self, raw: Tensor, tau: float | None = None, hard: bool = False) -> Tensor:
        """:meth:`forward` for raw output in the *encoded* order, returning the encoded order."""
        return self.from_layout(self(self.to_layout(raw), tau=tau, hard=hard))

    # ---------------------------------------------------------- activation
    def forward(self, raw: Tensor, tau: float | None = None, hard: bool = False) -> Tensor:
        """Activated rows, grouped layout in and out."""
        n, parts = raw.shape[0], []
        if self.n_tanh:
            parts.append(torch.tanh(raw[:, : self.n_tanh]))
        if self.soft_start > self.n_tanh:
            parts.append(torch.sigmoid(raw[:, self.n_tanh : self.soft_start]))
        if self.groups:
            logits = raw[:, self.soft_start :]
            if tau is not None:  # one Gumbel draw for every softmax column
                logits = (logits + _gumbel(logits)) / tau
            for g in self.groups:
                probs = torch.softmax(g.view(logits, self.soft_start), dim=g.dim)
                if hard:
                    onehot = torch.zeros_like(probs).scatter_(g.dim, probs.argmax(g.dim, keepdim=True), 1.0)
                    probs = onehot - probs.detach() + probs  # straight-through
                parts.append(probs.reshape(n, -1))
        return torch.cat(parts, 1) if len(parts) > 1 else parts[0]

    def cond_loss(self, raw: Tensor, cond: Tensor) -> Tensor:
        """CTGAN's conditional loss: cross-entropy of the chosen column's logits against the
        chosen category, for the column each row was conditioned on, summed and divided by the batch.

        ``raw``: generator output (grouped layout) before activation; ``cond``: the one-hot
        conditional vectors of :class:`~ganapps.plugins.tabular.sampler.ConditionalSampler` (one
        slot set per row, so it names both the column and the category).
        """
        target = cond @ self.cond_to_layout  # 1 at the asked category's layout cell, 0 elsewhere
        logits = raw[:, self.soft_start :]
        total = raw.new_zeros(())
        for g in self.groups:
            if g.discrete:  # log-softmax per span (mode spans too: their weights are 0)
                logp = torch.log_softmax(g.view(logits, self.soft_start), dim=g.dim)
                total = total - (logp * g.view(target, self.soft_start)).sum()
        return total / raw.shape[0]
