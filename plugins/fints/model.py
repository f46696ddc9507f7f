"""Generators and critics over return windows: recurrent (GRU) or temporal-convolution (TCN).

A conditional GAN for return paths (Mirza & Osindero 2014, with the window conditioning of
Koshiyama et al. 2019 and SigCWGAN): the generator continues the past W days with H new ones,
``G(past, c, z)``; the critic scores a whole path, ``D(past, future, c)``. :func:`build_networks`
pairs them by ``--arch``; the objective they are trained with is in :mod:`.losses`.

Shapes: ``past`` (B, W, A) standardised log returns, ``future`` (B, H, A), ``cond`` (B, C),
``noise`` (B, W + H, nz) — one noise vector per day, so shocks arrive day by day.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ConditionScale(nn.Module):
    """Scale each asset's output by exp(linear(condition)): a regime sets the volatility level directly.

    Starts as the identity (zero weights), so an unconditional model is unchanged.
    """

    def __init__(self, cond: int, assets: int) -> None:
        super().__init__()
        self.linear = nn.Linear(cond, assets)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        return x * torch.exp(self.linear(cond))[:, None, :]


class GRUGenerator(nn.Module):
    """Encode the past window with a GRU; decode H steps from per-step noise and the condition."""

    def __init__(self, assets: int, cond: int, nz: int, hidden: int, layers: int = 2) -> None:
        super().__init__()
        self.encoder = nn.GRU(assets, hidden, num_layers=layers, batch_first=True)
        self.decoder = nn.GRU(nz + cond, hidden, num_layers=layers, batch_first=True)
        self.mix = nn.Linear(hidden + cond, hidden * layers)
        self.out = nn.Linear(hidden, assets)
        self.scale = ConditionScale(cond, assets)
        self.layers, self.hidden = layers, hidden

    def forward(self, past: Tensor, cond: Tensor, noise: Tensor) -> Tensor:
        _, h = self.encoder(past)  # (layers, B, hidden)
        h0 = torch.tanh(self.mix(torch.cat([h[-1], cond], 1)))
        h0 = h0.reshape(-1, self.layers, self.hidden).transpose(0, 1).contiguous()
        noise = noise[:, past.shape[1] :]  # the decoder draws on the generated days' noise
        c = cond[:, None, :].expand(-1, noise.shape[1], -1)
        y, _ = self.decoder(torch.cat([noise, c], 2), h0)
        return self.scale(self.out(y), cond)


class VolGenerator(nn.Module):
    """Neural GARCH: a GRU state carries the volatility; each day r_t = σ_t · ε_t with σ_t from the state and
    ε_t a learned (heavy-tailed, state-dependent) transform of that day's noise; r_t is fed back into the
    state, so volatility clustering and the leverage effect come from the recursion itself.
    """

    def __init__(self, assets: int, cond: int, nz: int, hidden: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(assets + cond, hidden, batch_first=True)
        self.sigma = nn.Linear(hidden, assets)
        self.shock = nn.Sequential(nn.Linear(nz + hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, assets))
        self.scale = ConditionScale(cond, assets)

    def forward(self, past: Tensor, cond: Tensor, noise: Tensor) -> Tensor:
        w = past.shape[1]
        _, state = self.rnn(torch.cat([past, cond[:, None].expand(-1, w, -1)], 2))
        out = []
        for t in range(noise.shape[1] - w):
            h = state[0]
            sigma = nn.functional.softplus(self.sigma(h) + 0.5413)  # softplus(0.5413) = 1 at init
            r = self.scale((sigma * self.shock(torch.cat([noise[:, w + t], h], 1)))[:, None], cond)
            out.append(r)
            _, state = self.rnn(torch.cat([r, cond[:, None]], 2), state)
        return torch.cat(out, 1)


class GRUCritic(nn.Module):
    """Read the whole path (past then future) with the condition on every step; score it."""

    def __init__(self, assets: int, cond: int, hidden: int, layers: int = 2) -> None:
        super().__init__()
        self.rnn = nn.GRU(assets + cond + 1, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(2 * hidden, 1)

    def forward(self, past: Tensor, future: Tensor, cond: Tensor) -> Tensor:
        x = torch.cat([past, future], 1)
        flag = torch.zeros(x.shape[0], x.shape[1], 1, device=x.device, dtype=x.dtype)
        flag[:, past.shape[1] :] = 1.0  # which steps are to be judged
        c = cond[:, None, :].expand(-1, x.shape[1], -1)
        y, _ = self.rnn(torch.cat([x, c, flag], 2))
        return self.head(torch.cat([y[:, -1], y[:, past.shape[1] :].mean(1)], 1))


class TemporalBlock(nn.Module):
    """Residual dilated 1-D convolution; causal (left-padded) when ``causal``."""

    def __init__(self, channels: int, dilation: int, causal: bool, kernel: int = 3) -> None:
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.causal, self.dilation, self.kernel = causal, dilation, kernel
        self.conv1 = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, 1)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor) -> Tensor:
        if self.causal:
            h = nn.functional.pad(x, (self.pad, 0))
        else:
            h = nn.functional.pad(x, (self.pad // 2, self.pad - self.pad // 2))
        return x + self.conv2(self.act(self.conv1(h)))

    def step(self, taps: list[Tensor]) -> Tensor:
        """A causal block's output at one day from its inputs (B, C) at t − (k−1)·d, …, t − d, t."""
        u = torch.einsum("bck,ock->bo", torch.stack(taps, 2), self.conv1.weight) + self.conv1.bias
        return taps[-1] + nn.functional.linear(self.act(u), self.conv2.weight[:, :, 0], self.conv2.bias)


def _tcn(channels: int, depth: int, causal: bool) -> nn.Sequential:
    return nn.Sequential(*[TemporalBlock(channels, 2**i, causal) for i in range(depth)])


class TCNGenerator(nn.Module):
    """Quant-GAN-style causal TCN over [past returns | noise] with the condition on every step."""

    def __init__(self, assets: int, cond: int, nz: int, hidden: int, depth: int = 5) -> None:
        super().__init__()
        self.inp = nn.Conv1d(assets + nz + cond + 1, hidden, 1)
        self.body = _tcn(hidden, depth, causal=True)
        self.out = nn.Conv1d(hidden, assets, 1)
        self.scale = ConditionScale(cond, assets)

    def forward(self, past: Tensor, cond: Tensor, noise: Tensor) -> Tensor:
        b, w, _ = past.shape
        h = noise.shape[1] - w  # noise on every day, past ones too: each generated day sees as much
        x = torch.cat([past, torch.zeros(b, h, past.shape[2], device=past.device, dtype=past.dtype)], 1)
        z = noise
        flag = torch.zeros(b, w + h, 1, device=past.device, dtype=past.dtype)
        flag[:, w:] = 1.0
        c = cond[:, None, :].expand(-1, w + h, -1)
        y = self.body(self.inp(torch.cat([x, z, c, flag], 2).transpose(1, 2)))
        return self.scale(self.out(y[:, :, w:]).transpose(1, 2), cond)


def _squash(x: Tensor, bound: float = 5.0) -> Tensor:
    """``bound``·tanh(x / ``bound``): returns as fed back to the generator stay bounded, so a large
    generated day cannot blow up the next ones (≈ x for standardised returns within ±2)."""
    return bound * torch.tanh(x / bound)


class ARTCNGenerator(nn.Module):
    """Autoregressive causal TCN: day t's return r_t = σ_t · ε_t is drawn from the TCN's summary of the
    returns before it — the real past, then the block's own generated days, fed back — and of the
    noise up to day t (one vector per day, past days too, as in :class:`TCNGenerator`).

    Every day of a block is made the same way, so a block chained after another continues it as if
    it were one long block. (:class:`TCNGenerator` reads a zero-filled future instead: each day of a
    block sees a different mix of real days and zeros, and volatility ramps up through the block.)
    The past is read in parallel; the generated days one at a time, each layer computing the new day.
    """

    def __init__(self, assets: int, cond: int, nz: int, hidden: int, depth: int = 5) -> None:
        super().__init__()
        self.inp = nn.Conv1d(assets + nz + cond, hidden, 1)
        self.body = _tcn(hidden, depth, causal=True)
        self.sigma = nn.Linear(hidden, assets)
        self.shock = nn.Sequential(nn.Linear(hidden + nz, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, assets))
        self.scale = ConditionScale(cond, assets)

    def head(self, h: Tensor, z: Tensor) -> Tensor:
        """Day t's return σ_t · ε_t (B, A): a volatility from the summary ``h`` of the days before, and a
        shock from the day's noise ``z`` given that summary."""
        sigma = nn.functional.softplus(self.sigma(h) + 0.5413)  # softplus(0.5413) = 1 at init
        return sigma * self.shock(torch.cat([h, z], 1))

    def summaries(self, returns: Tensor, cond: Tensor, noise: Tensor) -> Tensor:
        """Parallel form: the summary (B, C, T + 1) at each day t of the returns before it (day 0: none)
        and of the noise up to it; ``noise`` has at least T + 1 days."""
        x = _squash(torch.cat([returns.new_zeros(returns.shape[0], 1, returns.shape[2]), returns], 1))
        c = cond[:, None, :].expand(-1, x.shape[1], -1)
        return self.body(self.inp(torch.cat([x, noise[:, : x.shape[1]], c], 2).transpose(1, 2)))

    def forward(self, past: Tensor, cond: Tensor, noise: Tensor) -> Tensor:
        b, w, _ = past.shape
        x = _squash(torch.cat([past.new_zeros(b, 1, past.shape[2]), past], 1))  # day t reads day t − 1's return
        h = self.inp(torch.cat([x, noise[:, : w + 1], cond[:, None, :].expand(-1, w + 1, -1)], 2).transpose(1, 2))
        days = [list(h.unbind(2))]  # each layer's input, then the last one's output, day by day
        for block in self.body:
            h = block(h)
            days.append(list(h.unbind(2)))
        zero = h.new_zeros(b, h.shape[1])
        out = []
        for j in range(noise.shape[1] - w):
            r = self.scale(self.head(days[-1][-1], noise[:, w + j])[:, None], cond)
            out.append(r)
            if j + 1 == noise.shape[1] - w:
                break
            v = nn.functional.linear(
                torch.cat([_squash(r[:, 0]), noise[:, w + j + 1], cond], 1), self.inp.weight[:, :, 0], self.inp.bias
            )
            days[0].append(v)
            for i, block in enumerate(self.body):
                t, d = len(days[i]) - 1, block.dilation
                v = block.step([days[i][s] if s >= 0 else zero for s in range(t - (block.kernel - 1) * d, t + 1, d)])
                days[i + 1].append(v)
        return torch.cat(out, 1)


class TCNCritic(nn.Module):
    """Dilated convolutions over the whole path, pooled over the judged steps (mean and max of |h|).

    ``ends``: also the mean |h| over the first and over the last quarter of the judged steps, so
    the critic sees *where* in the block the moves are (pooled over the whole block it could not
    tell a generator whose volatility ramps up through the block from a flat one).
    """

    def __init__(self, assets: int, cond: int, hidden: int, depth: int = 5, ends: bool = False) -> None:
        super().__init__()
        self.inp = nn.Conv1d(assets + cond + 1, hidden, 1)
        self.body = _tcn(hidden, depth, causal=False)
        self.ends = ends
        self.head = nn.Linear((4 if ends else 2) * hidden, 1)

    def forward(self, past: Tensor, future: Tensor, cond: Tensor) -> Tensor:
        x = torch.cat([past, future], 1)
        flag = torch.zeros(x.shape[0], x.shape[1], 1, device=x.device, dtype=x.dtype)
        flag[:, past.shape[1] :] = 1.0
        c = cond[:, None, :].expand(-1, x.shape[1], -1)
        y = self.body(self.inp(torch.cat([x, c, flag], 2).transpose(1, 2)))[:, :, past.shape[1] :]
        feats = [y.mean(2), y.abs().amax(2)]
        if self.ends:
            e = max(1, y.shape[2] // 4)
            feats += [y[:, :, :e].abs().mean(2), y[:, :, -e:].abs().mean(2)]
        return self.head(torch.cat(feats, 1))


def build_networks(
    arch: str, assets: int, cond: int, nz: int, hidden: int, critic_ends: bool = False
) -> dict[str, nn.Module]:
    """The generator and critic of ``--arch`` (tcn, tcn-ar, gru, garch) for ``assets`` assets and a
    condition of width ``cond``; every generator but gru's is paired with the TCN critic."""
    if arch == "gru":
        return {"generator": GRUGenerator(assets, cond, nz, hidden), "discriminator": GRUCritic(assets, cond, hidden)}
    critic = TCNCritic(assets, cond, hidden, ends=critic_ends)
    if arch == "garch":
        return {"generator": VolGenerator(assets, cond, nz, hidden), "discriminator": critic}
    if arch == "tcn-ar":
        return {"generator": ARTCNGenerator(assets, cond, nz, hidden), "discriminator": critic}
    return {"generator": TCNGenerator(assets, cond, nz, hidden), "discriminator": critic}
