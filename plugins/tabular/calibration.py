"""Decoding the generator's output, and calibrating its marginals after training.

**Decoding** follows what the critic was shown during training: discrete spans are *sampled*
(Gumbel-max on the logits, the hard limit of the Gumbel-softmax the critic judged), not read by
argmax, which would collapse every category to the most likely one; the span of the column a
row was conditioned on is set to the asked category.

**Calibration** (on by default, ``--no-calibrate`` turns it off) corrects what a generator trained
for a few thousand steps still gets wrong one column at a time, leaving the joint structure —
what the adversarial game learned — alone. After training, 20,000 rows are generated with
conditions drawn at the training frequencies, and three corrections are fitted to the training
marginals the transformer already holds:

- *discrete spans*: a bias per category added to the logits, found by iterative proportional
  fitting so that the expected share of each category equals its training share;
- *missing/binary flags*: the threshold on the sigmoid that gives the training share of ones;
- *quantile-encoded values* (``--continuous quantile``): each value span's generated
  distribution is mapped monotonically onto the uniform distribution the encoder produces on
  the training rows (a per-column quantile map, 257 points), so numbers decode to the training
  marginal while keeping the generator's ranks — and so its dependence between columns.

Every correction is a fixed monotone map per column fitted on *generated* rows against
statistics of the training table the bundle already stores (quantile grid, category counts,
missing shares), so it adds no information about individual rows. Measured in bench/RESULTS.md
(issue 16).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ganapps.plugins.tabular.activation import SpanActivation
from ganapps.tabular.transformer import Span

#: rows generated to fit the calibration; points of each value span's quantile map
CALIBRATION_ROWS = 20_000
GRID = 257
_EPS = 1e-6


def cond_positions(spans: Sequence[Span]) -> tuple[Tensor, Tensor]:
    """For each slot of the conditional vector: its column in the encoded row, and its discrete-column index."""
    pos, col = [], []
    for j, s in enumerate(s for s in spans if s.discrete):
        pos += range(s.start, s.stop)
        col += [j] * s.width
    return torch.tensor(pos, dtype=torch.long), torch.tensor(col, dtype=torch.long)


class Decoder:
    """Activated, sampled and (optionally) calibrated rows from the generator's raw output."""

    def __init__(self, spans: Sequence[Span], tensors: dict[str, Tensor] | None = None) -> None:
        self.spans = list(spans)
        self.act = SpanActivation(self.spans)
        self.pos, self.col = cond_positions(self.spans)
        self.values = [s for s in self.spans if s.activation == "tanh"]
        self.flags = [s for s in self.spans if s.activation == "sigmoid"]
        self.discrete = [s for s in self.spans if s.activation == "softmax"]
        t = tensors or {}
        width = self.spans[-1].stop if self.spans else 0
        self.bias = t.get("calibration.bias", torch.zeros(width))
        self.threshold = t.get("calibration.threshold", torch.full((len(self.flags),), 0.5))
        self.grid = t.get("calibration.value_grid")  # (values, GRID) or None: values as generated

    @property
    def calibrated(self) -> bool:
        return self.grid is not None or bool(self.bias.abs().sum() > 0)

    def tensors(self) -> dict[str, Tensor]:
        out = {"calibration.bias": self.bias, "calibration.threshold": self.threshold}
        if self.grid is not None:
            out["calibration.value_grid"] = self.grid
        return out

    def __call__(self, raw: Tensor, cond: Tensor, mask: Tensor) -> Tensor:
        """Rows in the encoded layout, ready for ``TabularTransformer.inverse_transform``."""
        dev = raw.device
        x = self.act.to(dev).encoded(raw + self.bias.to(dev), tau=1.0, hard=True).detach()
        if len(self.flags):
            idx = torch.tensor([s.start for s in self.flags], device=dev)
            p = torch.sigmoid(raw[:, idx])
            x[:, idx] = (p > self.threshold.to(dev)).to(x.dtype)
        if self.grid is not None and len(self.values):
            idx = torch.tensor([s.start for s in self.values], device=dev)
            x[:, idx] = quantile_map(x[:, idx], self.grid.to(dev))
        if cond.shape[1]:  # the conditioned column holds exactly the asked category
            forced = mask[:, self.col.to(dev)] > 0
            x[:, self.pos.to(dev)] = torch.where(forced, cond, x[:, self.pos.to(dev)])
        return x

    # -------------------------------------------------------------- fitting
    def fit(self, raw: Tensor, cond: Tensor, mask: Tensor, real: Tensor, values: bool) -> None:
        """Fit the corrections on generated ``raw`` output against the encoded training rows ``real``."""
        raw, cond, mask = raw.double(), cond.double(), mask.double()
        self.bias = self._fit_bias(raw, cond, mask, real.double()).float()
        biased = raw + self.bias.double()
        shares = torch.stack([real[:, s.start].double().mean() for s in self.flags]) if self.flags else None
        if shares is not None:
            idx = [s.start for s in self.flags]
            p = torch.sigmoid(biased[:, idx])
            levels = (1 - shares).clamp(0, 1)
            thr = torch.stack([torch.quantile(p[:, i], levels[i]) for i in range(len(idx))])
            # none real: nothing passes; all real: everything passes
            thr = torch.where(shares <= 0, torch.full_like(thr, 2.0), torch.where(shares >= 1, -1.0, thr))
            self.threshold = thr.float()
        self.grid = self._fit_grid(biased, real) if values and self.values else None

    def _fit_bias(self, raw: Tensor, cond: Tensor, mask: Tensor, real: Tensor) -> Tensor:
        """Per-category logit biases by iterative proportional fitting of the expected shares."""
        bias = torch.zeros(raw.shape[1], dtype=torch.float64)
        disc_index = {s.start: j for j, s in enumerate(s for s in self.spans if s.discrete)}
        block = 0
        for s in self.discrete:
            sl = slice(s.start, s.stop)
            target = real[:, sl].mean(0)
            if s.discrete:
                j = disc_index[s.start]
                forced = mask[:, j] > 0
                fixed = cond[forced, block : block + s.width].sum(0)
                block += s.width
            else:  # a GMM mode span: never conditioned
                forced = torch.zeros(len(raw), dtype=torch.bool)
                fixed = torch.zeros(s.width, dtype=torch.float64)
            free = raw[~forced, sl]
            b = torch.zeros(s.width, dtype=torch.float64)
            for _ in range(50):
                p = (torch.softmax(free + b, 1).sum(0) + fixed) / len(raw)
                b = (b + torch.log(target + _EPS) - torch.log(p + _EPS)).clamp(-20, 20)
            bias[sl] = b - b.max()
        return bias

    def _fit_grid(self, raw: Tensor, real: Tensor) -> Tensor:
        """Quantiles of each generated value span (rows whose value is present), strictly increasing."""
        missing = {s.column: s for s in self.flags if s.kind == "missing"}
        levels = torch.linspace(0, 1, GRID, dtype=torch.float64)
        grids = []
        for s in self.values:
            v = torch.tanh(raw[:, s.start])
            m = missing.get(s.column)
            if m is not None:
                keep = torch.sigmoid(raw[:, m.start]) <= self.threshold[self.flags.index(m)].double()
                v = v[keep] if keep.sum() > GRID else v
            g = torch.quantile(v, levels)
            g = torch.cummax(g + torch.arange(GRID, dtype=torch.float64) * 1e-9, 0).values
            grids.append(g)
        return torch.stack(grids).float()


def quantile_map(v: Tensor, grid: Tensor) -> Tensor:
    """Map each column of ``v`` ``(rows, C)`` through its generated CDF ``grid`` ``(C, GRID)`` onto [-1, 1]."""
    g = grid.contiguous()
    n = g.shape[1]
    vt = v.T.contiguous()
    hi = torch.searchsorted(g, vt).clamp(1, n - 1)
    g0, g1 = g.gather(1, hi - 1), g.gather(1, hi)
    frac = ((vt - g0) / (g1 - g0).clamp_min(1e-12)).clamp(0, 1)
    u = ((hi - 1).to(v.dtype) + frac) / (n - 1)
    return (2 * u - 1).T
