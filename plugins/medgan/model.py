"""medGAN networks (Choi et al., 2017, "Generating Multi-label Discrete Patient Records using
Generative Adversarial Networks"), sized as in the paper's reference code.

- autoencoder: encoder ``Linear(d → 128) + tanh``, decoder ``Linear(128 → d)`` with a sigmoid
  (binary codes) or ReLU (counts) output;
- generator: noise z (128) through residual blocks ``h + act(BN(W h))`` (ReLU, the last one tanh
  for binary data to match the encoder's range, ReLU for counts), i.e. batch norm and shortcut
  connections; its output is a code embedding that the *decoder* turns into a patient;
- discriminator: minibatch averaging (each record is shown beside the batch mean), then
  ``Linear(2d → 256) → ReLU → Linear(256 → 128) → ReLU → Linear(128 → 1)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ganapps.core.nn import MinibatchAverage, ResidualLinear, mlp


class Encoder(nn.Module):
    """Patient code vector → embedding in (−1, 1)."""

    def __init__(self, n_codes: int, embed_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_codes, embed_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).tanh()


class Decoder(nn.Module):
    """Embedding → code logits (binary) or pre-ReLU counts; the app applies the output activation."""

    def __init__(self, embed_dim: int, n_codes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(embed_dim, n_codes)

    def forward(self, h: Tensor) -> Tensor:
        return self.linear(h)


class Generator(nn.Module):
    """z → code embedding through residual (shortcut) blocks with batch norm."""

    def __init__(self, embed_dim: int, layers: int, mode: str) -> None:
        super().__init__()
        last = "tanh" if mode == "binary" else "relu"
        acts = ["relu"] * (layers - 1) + [last]
        self.blocks = nn.Sequential(*(ResidualLinear(embed_dim, a, norm="batch") for a in acts))

    def forward(self, z: Tensor) -> Tensor:
        return self.blocks(z)


class Discriminator(nn.Module):
    """Patient code vector → one logit; minibatch averaging lets D see batch-level statistics."""

    def __init__(self, n_codes: int, hidden: Sequence[int], minibatch_average: bool = True) -> None:
        super().__init__()
        self.average = MinibatchAverage() if minibatch_average else nn.Identity()
        width = 2 * n_codes if minibatch_average else n_codes
        self.net = mlp([width, *hidden, 1], activation="relu")

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.average(x)).reshape(-1)
