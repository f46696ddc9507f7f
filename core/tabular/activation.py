"""Output activations and the conditional loss, driven by span metadata, batched over spans.

CTGAN applies a Gumbel-softmax per categorical span in a Python loop, which dominated its step
time on wide tables (528 calls per step on an EHR matrix, see shared/ANCHORS.md). Here spans of
equal width are gathered into one ``(batch, spans, width)`` tensor, so a step costs one softmax
per distinct width, however many columns there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ganapps.core.tabular.transformer import Span


def _groups(spans: Sequence[Span]) -> dict[int, list[Span]]:
    out: dict[int, list[Span]] = {}
    for s in spans:
        out.setdefault(s.width, []).append(s)
    return out


#: spans at most this wide are laid out ``(batch, width, spans)`` so the softmax runs over dim 1:
#: torch's CPU softmax over a last dimension of 2 is ~20x slower than over a leading one
NARROW = 8


def _gumbel(logits: Tensor) -> Tensor:
    """Gumbel(0, 1) noise like ``logits`` (through ``rand``: ~2x faster than ``exponential_`` on CPU)."""
    u = torch.rand_like(logits).clamp_(1e-10, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


class SpanActivation(nn.Module):
    """Apply each span's activation to a generator's raw output ``(batch, width)``.

    ``tanh`` on value spans, ``sigmoid`` on binary/missing spans, softmax on mode/category
    spans — a Gumbel-softmax with temperature ``tau`` when ``tau`` is given (CTGAN uses 0.2),
    straight-through one-hot when ``hard``. Index tensors are non-persistent buffers: they
    follow ``.to(device)`` and never enter a bundle.
    """

    def __init__(self, spans: Sequence[Span]) -> None:
        super().__init__()
        self.spans = list(spans)
        self.width = self.spans[-1].stop if self.spans else 0
        tanh = [s.start for s in self.spans if s.activation == "tanh"]
        sigmoid = [s.start for s in self.spans if s.activation == "sigmoid"]
        soft = [s for s in self.spans if s.activation == "softmax"]
        for s in self.spans:
            if s.activation in ("tanh", "sigmoid") and s.width != 1:
                raise ValueError(f"span {s} must have width 1 for {s.activation}")
        self.register_buffer("tanh_idx", torch.tensor(tanh, dtype=torch.long), persistent=False)
        self.register_buffer("sigmoid_idx", torch.tensor(sigmoid, dtype=torch.long), persistent=False)
        self.widths = sorted(_groups(soft))
        for w, group in _groups(soft).items():
            self.register_buffer(f"soft_{w}", self._index(group, w, lambda s, j: s.start + j), persistent=False)
        order = torch.cat(
            [self.tanh_idx, self.sigmoid_idx] + [getattr(self, f"soft_{w}").flatten() for w in self.widths]
        )
        if len(order) != self.width or not torch.equal(order.sort().values, torch.arange(self.width)):
            raise ValueError("spans must tile the encoded width exactly")
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(len(order))
        self.register_buffer("inverse", inverse, persistent=False)
        # discrete (category) spans: blocks of the conditional vector, grouped by width too
        discrete = [s for s in self.spans if s.discrete]
        offsets, pos = {}, 0
        for s in discrete:
            offsets[s.start] = pos
            pos += s.width
        self.cond_width = pos
        self.cond_widths = sorted(_groups(discrete))
        index_of = {s.start: i for i, s in enumerate(discrete)}
        for w, group in _groups(discrete).items():
            self.register_buffer(f"cat_{w}", self._index(group, w, lambda s, j: s.start + j), persistent=False)
            self.register_buffer(
                f"cond_{w}", self._index(group, w, lambda s, j: offsets[s.start] + j), persistent=False
            )
            col_idx = torch.tensor([index_of[s.start] for s in group], dtype=torch.long)
            self.register_buffer(f"col_{w}", col_idx, persistent=False)

    @staticmethod
    def _index(group: list[Span], w: int, at: Any) -> Tensor:
        """Column indices of a width group: ``(w, spans)`` for narrow spans, ``(spans, w)`` otherwise."""
        idx = torch.tensor([[at(s, j) for j in range(w)] for s in group], dtype=torch.long)
        return idx.T.contiguous() if w <= NARROW else idx

    @staticmethod
    def _dim(w: int) -> int:
        """The category dimension of a gathered ``(batch, ...)`` block."""
        return 1 if w <= NARROW else 2

    def forward(self, raw: Tensor, tau: float | None = None, hard: bool = False) -> Tensor:
        parts = [torch.tanh(raw[:, self.tanh_idx]), torch.sigmoid(raw[:, self.sigmoid_idx])]
        for w in self.widths:
            dim = self._dim(w)
            logits = raw[:, getattr(self, f"soft_{w}")]
            if tau is not None:
                logits = (logits + _gumbel(logits)) / tau
            probs = torch.softmax(logits, dim=dim)
            if hard:
                onehot = torch.zeros_like(probs).scatter_(dim, probs.argmax(dim, keepdim=True), 1.0)
                probs = onehot - probs.detach() + probs  # straight-through
            parts.append(probs.reshape(raw.shape[0], -1))
        return torch.cat(parts, 1)[:, self.inverse]

    def cond_loss(self, raw: Tensor, cond: Tensor, mask: Tensor) -> Tensor:
        """CTGAN's conditional loss: cross-entropy of the chosen column's logits against the
        chosen category, for the column each row was conditioned on, summed and divided by the batch.

        ``raw``: generator output before activation; ``cond``/``mask``: from :class:`ConditionalSampler`.
        """
        total = raw.new_zeros(())
        for w in self.cond_widths:
            dim = self._dim(w)
            logp = torch.log_softmax(raw[:, getattr(self, f"cat_{w}")], dim=dim)
            target = cond[:, getattr(self, f"cond_{w}")].argmax(dim, keepdim=True)
            nll = -logp.gather(dim, target).squeeze(dim)  # (batch, spans)
            total = total + (nll * mask[:, getattr(self, f"col_{w}")]).sum()
        return total / raw.shape[0]
