"""Exponential moving average of generator weights (a cheap, reliable quality boost for GANs)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


class EMA:
    """Shadow copies of some networks' parameters, updated after each generator step.

    The decay warms up as ``min(decay, (1 + t) / (10 + t))`` so short runs are not dominated by
    the random initial weights. Buffers (batch-norm statistics) are copied, not averaged.
    """

    def __init__(self, modules: dict[str, nn.Module], decay: float) -> None:
        self.decay = decay
        self.modules = modules
        self.updates = 0
        self.shadow = {name: [p.detach().clone() for p in m.parameters()] for name, m in modules.items()}

    def _live(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        live, shadow = [], []
        for name, m in self.modules.items():
            live.extend(p.detach() for p in m.parameters())
            shadow.extend(self.shadow[name])
        return live, shadow

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        live, shadow = self._live()
        if live:
            torch._foreach_lerp_(shadow, live, 1.0 - d)

    @torch.no_grad()
    def _swap(self) -> None:
        live, shadow = self._live()
        for a, b in zip(live, shadow, strict=True):
            tmp = a.clone()
            a.copy_(b)
            b.copy_(tmp)

    @contextlib.contextmanager
    def swapped(self) -> Iterator[None]:
        """Use the averaged weights inside the block, the training weights after it."""
        self._swap()
        try:
            yield
        finally:
            self._swap()

    @torch.no_grad()
    def copy_to_live(self) -> None:
        """Overwrite the live weights with the averages (for the final bundle)."""
        live, shadow = self._live()
        for a, b in zip(live, shadow, strict=True):
            a.copy_(b)

    def state_dict(self) -> dict:
        return {"updates": self.updates, "shadow": {k: list(v) for k, v in self.shadow.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.updates = int(state["updates"])
        for name, tensors in state["shadow"].items():
            for dst, src in zip(self.shadow[name], tensors, strict=True):
                dst.copy_(src)
