"""Output activations and the conditional loss, driven by span metadata, batched over spans.

CTGAN applies a Gumbel-softmax per categorical span in a Python loop, which dominated its step
time on wide tables (528 calls per step on an EHR matrix, see shared/ANCHORS.md). Here spans of
equal width are gathered into one ``(batch, spans, width)`` tensor, so a step costs one softmax
per distinct width, however many columns there are.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganapps.core.tabular.transformer import Span


def _groups(spans: Sequence[Span]) -> dict[int, list[Span]]:
    out: dict[int, list[Span]] = {}
    for s in spans:
        out.setdefault(s.width, []).append(s)
    return out


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
            idx = torch.tensor([[s.start + j for j in range(w)] for s in group], dtype=torch.long)
            self.register_buffer(f"soft_{w}", idx, persistent=False)
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
            out_idx = torch.tensor([[s.start + j for j in range(w)] for s in group], dtype=torch.long)
            cond_idx = torch.tensor([[offsets[s.start] + j for j in range(w)] for s in group], dtype=torch.long)
            col_idx = torch.tensor([index_of[s.start] for s in group], dtype=torch.long)
            self.register_buffer(f"cat_{w}", out_idx, persistent=False)
            self.register_buffer(f"cond_{w}", cond_idx, persistent=False)
            self.register_buffer(f"col_{w}", col_idx, persistent=False)

    def forward(self, raw: Tensor, tau: float | None = None, hard: bool = False) -> Tensor:
        parts = [torch.tanh(raw[:, self.tanh_idx]), torch.sigmoid(raw[:, self.sigmoid_idx])]
        for w in self.widths:
            idx = getattr(self, f"soft_{w}")
            logits = raw[:, idx]  # (batch, spans, w)
            if tau is not None:
                probs = F.gumbel_softmax(logits, tau=tau, hard=hard, dim=-1)
            else:
                probs = torch.softmax(logits, dim=-1)
                if hard:
                    onehot = F.one_hot(probs.argmax(-1), w).to(probs.dtype)
                    probs = onehot - probs.detach() + probs
            parts.append(probs.reshape(raw.shape[0], -1))
        return torch.cat(parts, 1)[:, self.inverse]

    def cond_loss(self, raw: Tensor, cond: Tensor, mask: Tensor) -> Tensor:
        """CTGAN's conditional loss: cross-entropy of the chosen column's logits against the
        chosen category, for the column each row was conditioned on, summed and divided by the batch.

        ``raw``: generator output before activation; ``cond``/``mask``: from :class:`ConditionalSampler`.
        """
        total = raw.new_zeros(())
        for w in self.cond_widths:
            logits = raw[:, getattr(self, f"cat_{w}")]  # (batch, k, w)
            target = cond[:, getattr(self, f"cond_{w}")].argmax(-1)  # (batch, k)
            nll = F.cross_entropy(logits.reshape(-1, w), target.reshape(-1), reduction="none").view(target.shape)
            total = total + (nll * mask[:, getattr(self, f"col_{w}")]).sum()
        return total / raw.shape[0]
