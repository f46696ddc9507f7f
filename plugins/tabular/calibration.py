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

**Within each target class** (``--calibrate-by-target``, on by default with a categorical
``--target``): the same three corrections are fitted again for each class of the target with at
least ``MIN_CLASS_ROWS`` training rows, on the generated rows of that class against the training
rows of that class; a value span is then mapped onto the class's own distribution of encoded
training values (its 257 quantiles). A row decodes with the maps of its class (its condition;
generated rows are all conditioned on the target), smaller classes with the pooled ones. The
GAN still decides how the columns move together inside a class; the calibration gives each
class its training marginals, which is what a model trained on the synthetic rows reads off.

The pooled corrections are fitted on *generated* rows against statistics of the training table
the bundle already stores (quantile grid, category counts, missing shares). The class maps add
per-class statistics of the same kind (category shares, missing shares and 257 quantiles of each
number within each class of ≥ 100 rows), so a bundle is as sensitive as a table of summary
statistics: share samples, not bundles, where that matters. Measured in bench/RESULTS.md
(issue 16, round 8).
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
#: with ``--calibrate-by-target``, a target class gets maps of its own from this many training
#: rows (and GRID generated ones) up; smaller classes use the pooled maps
MIN_CLASS_ROWS = 100
#: what a class is calibrated against: the share of ones of each encoded column, and the GRID
#: quantiles of each value span (its encoded values)
ClassTarget = tuple[Tensor, Tensor]


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
        #: per target class (``--calibrate-by-target``): the discrete index of the target and
        #: each class's maps; None when calibration is pooled over the whole table
        self.by = int(t["calibration.by"]) if "calibration.by" in t else None
        self.classes = {k[len("calibration.class_") :]: v for k, v in t.items() if k.startswith("calibration.class_")}

    @property
    def calibrated(self) -> bool:
        return self.grid is not None or bool(self.bias.abs().sum() > 0)

    def tensors(self) -> dict[str, Tensor]:
        out = {"calibration.bias": self.bias, "calibration.threshold": self.threshold}
        if self.grid is not None:
            out["calibration.value_grid"] = self.grid
        if self.by is not None:
            out["calibration.by"] = torch.tensor([self.by])
            out.update({f"calibration.class_{k}": v for k, v in self.classes.items()})
        return out

    def __call__(self, raw: Tensor, cond: Tensor, mask: Tensor) -> Tensor:
        """Rows in the encoded layout, ready for ``TabularTransformer.inverse_transform``."""
        if self.by is None:
            return self._decode(raw, cond, mask, self.bias, self.threshold, self.grid)
        target = [s for s in self.spans if s.discrete][self.by]
        cls = self._target_class(raw, cond, mask)
        use = self.classes["use"].to(raw.device)[cls]
        x = torch.empty(raw.shape, device=raw.device)
        for k in torch.unique(torch.where(use, cls, -1)).tolist():
            rows = torch.nonzero(use & (cls == k) if k >= 0 else ~use).squeeze(1)
            if k < 0:
                x[rows] = self._decode(raw[rows], cond[rows], mask[rows], self.bias, self.threshold, self.grid)
                continue
            c = {name: t[k] for name, t in self.classes.items() if name != "use"}
            part = self._decode(raw[rows], cond[rows], mask[rows], c["bias"], c["threshold"], c["grid"], c["target"])
            part[:, target.start : target.stop] = 0.0
            part[:, target.start + k] = 1.0  # the class these maps were fitted for
            x[rows] = part
        return x

    def _decode(
        self,
        raw: Tensor,
        cond: Tensor,
        mask: Tensor,
        bias: Tensor,
        threshold: Tensor,
        grid: Tensor | None,
        target: Tensor | None = None,
    ) -> Tensor:
        """Sample discrete spans (logits + ``bias``), threshold flags, map values through ``grid`` (and
        onto the real class distribution ``target``), force the conditioned categories."""
        dev = raw.device
        x = self.act.to(dev).encoded(raw + bias.to(dev), tau=1.0, hard=True).detach()
        if len(self.flags):
            idx = torch.tensor([s.start for s in self.flags], device=dev)
            p = torch.sigmoid(raw[:, idx])
            x[:, idx] = (p > threshold.to(dev)).to(x.dtype)
        if grid is not None and len(self.values):
            idx = torch.tensor([s.start for s in self.values], device=dev)
            x[:, idx] = quantile_map(x[:, idx], grid.to(dev))
            if target is not None:
                x[:, idx] = inverse_map(x[:, idx], target.to(dev))
        if cond.shape[1]:  # the conditioned column holds exactly the asked category
            forced = mask[:, self.col.to(dev)] > 0
            x[:, self.pos.to(dev)] = torch.where(forced, cond, x[:, self.pos.to(dev)])
        return x

    def _target_class(self, raw: Tensor, cond: Tensor, mask: Tensor) -> Tensor:
        """Each row's target class: its condition, or a pooled decoding's sample where it has none."""
        assert self.by is not None
        discrete = [s for s in self.spans if s.discrete]
        s, block = discrete[self.by], sum(d.width for d in discrete[: self.by])
        known = mask[:, self.by] > 0
        cls = cond[:, block : block + s.width].argmax(1).to(raw.device)
        if not bool(known.all()):
            free = ~known.to(raw.device)
            pooled = self._decode(raw[free], cond[free], mask[free], self.bias, self.threshold, self.grid)
            cls[free] = pooled[:, s.start : s.stop].argmax(1)
        return cls

    # -------------------------------------------------------------- fitting
    def fit(
        self,
        raw: Tensor,
        cond: Tensor,
        mask: Tensor,
        real: Tensor | None,
        values: bool,
        by: int | None = None,
        shares: Tensor | None = None,
        class_targets: Sequence[ClassTarget | None] | None = None,
    ) -> None:
        """Fit the corrections on generated ``raw`` output against the encoded training rows ``real``
        (their share of ones per encoded column), or against given ``shares`` (noisy ones under DP,
        ``real`` None); with ``by`` (a discrete column's index), also within each of its classes,
        against the real rows of each class or the given ``class_targets`` (noisy ones under DP)."""
        raw, cond, mask = raw.double(), cond.double(), mask.double()
        if shares is None:
            assert real is not None
            real = real.double()
            shares = real.mean(0)
        self.bias, self.threshold, self.grid = self._fit_maps(raw, cond, mask, shares.double(), values)
        self.by, self.classes = None, {}
        if by is None or not values or not self.values:
            return
        if class_targets is None and real is not None:
            class_targets = self.class_targets(real, by)
        if class_targets is not None:
            self._fit_classes(raw, cond, mask, by, class_targets)

    def class_targets(self, real: Tensor, by: int) -> list[ClassTarget | None]:
        """Each class of discrete column ``by`` with at least ``MIN_CLASS_ROWS`` real rows: the share of
        ones of each encoded column and the quantiles of each value span within it (else None)."""
        target = [s for s in self.spans if s.discrete][by]
        real_cls = real[:, target.start : target.stop].argmax(1)
        out: list[ClassTarget | None] = []
        for k in range(target.width):
            r = real_cls == k
            out.append(None if int(r.sum()) < MIN_CLASS_ROWS else (real[r].mean(0), self._real_grid(real[r])))
        return out

    def _fit_maps(
        self, raw: Tensor, cond: Tensor, mask: Tensor, share: Tensor, values: bool
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """(logit biases, flag thresholds, value grids) of generated rows against the real share of
        ones of each encoded column."""
        bias = self._fit_bias(raw, cond, mask, share).float()
        biased = raw + bias.double()
        threshold = self.threshold
        shares = torch.stack([share[s.start] for s in self.flags]) if self.flags else None
        if shares is not None:
            idx = [s.start for s in self.flags]
            p = torch.sigmoid(biased[:, idx])
            levels = (1 - shares).clamp(0, 1)
            thr = torch.stack([torch.quantile(p[:, i], levels[i]) for i in range(len(idx))])
            # none real: nothing passes; all real: everything passes
            thr = torch.where(shares <= 0, torch.full_like(thr, 2.0), torch.where(shares >= 1, -1.0, thr))
            threshold = thr.float()
        grid = self._fit_grid(biased, threshold) if values and self.values else None
        return bias, threshold, grid

    def _fit_classes(
        self, raw: Tensor, cond: Tensor, mask: Tensor, by: int, targets: Sequence[ClassTarget | None]
    ) -> None:
        """Maps of their own for the classes of discrete column ``by`` that have ``targets``: generated
        rows of a class calibrated against that class's shares and value quantiles."""
        target = [s for s in self.spans if s.discrete][by]
        self.by, self.classes = by, {"use": torch.zeros(target.width, dtype=torch.bool)}
        gen_cls = self._target_class(raw.float(), cond.float(), mask.float())
        pooled = (self.bias, self.threshold, self.grid, torch.linspace(-1, 1, GRID).expand(len(self.values), GRID))
        parts: list[tuple[Tensor, ...]] = []
        for k in range(target.width):
            g, want = gen_cls == k, targets[k]
            if want is None or int(g.sum()) < GRID:
                parts.append(pooled)
                continue
            bias, threshold, grid = self._fit_maps(raw[g], cond[g], mask[g], want[0].double(), values=True)
            assert grid is not None
            parts.append((bias, threshold, grid, want[1]))
            self.classes["use"][k] = True
        for i, name in enumerate(("bias", "threshold", "grid", "target")):
            self.classes[name] = torch.stack([p[i] for p in parts]).float().contiguous()

    def _fit_bias(self, raw: Tensor, cond: Tensor, mask: Tensor, share: Tensor) -> Tensor:
        """Per-category logit biases by iterative proportional fitting of the expected shares."""
        bias = torch.zeros(raw.shape[1], dtype=torch.float64)
        disc_index = {s.start: j for j, s in enumerate(s for s in self.spans if s.discrete)}
        block = 0
        for s in self.discrete:
            sl = slice(s.start, s.stop)
            target = share[sl]
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

    def _real_grid(self, real: Tensor) -> Tensor:
        """Quantiles of each value span of encoded real rows (rows whose value is present)."""
        missing = {s.column: s for s in self.flags if s.kind == "missing"}
        levels = torch.linspace(0, 1, GRID, dtype=torch.float64)
        grids = []
        for s in self.values:
            v = real[:, s.start]
            m = missing.get(s.column)
            if m is not None:
                keep = real[:, m.start] < 0.5
                v = v[keep] if keep.sum() > 1 else v
            grids.append(torch.quantile(v, levels))
        return torch.stack(grids)

    def _fit_grid(self, raw: Tensor, threshold: Tensor) -> Tensor:
        """Quantiles of each generated value span (rows whose value is present), strictly increasing."""
        missing = {s.column: s for s in self.flags if s.kind == "missing"}
        levels = torch.linspace(0, 1, GRID, dtype=torch.float64)
        grids = []
        for s in self.values:
            v = torch.tanh(raw[:, s.start])
            m = missing.get(s.column)
            if m is not None:
                keep = torch.sigmoid(raw[:, m.start]) <= threshold[self.flags.index(m)].double()
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


def inverse_map(q: Tensor, target: Tensor) -> Tensor:
    """Levels ``q`` ``(rows, C)`` in [-1, 1] (from :func:`quantile_map`) → values of the distribution
    whose quantiles are ``target`` ``(C, GRID)``, by linear interpolation."""
    n = target.shape[1]
    pos = ((q.T + 1) / 2).clamp(0, 1) * (n - 1)
    lo = pos.floor().long().clamp(0, n - 2)
    frac = pos - lo.to(pos.dtype)
    t0, t1 = target.gather(1, lo), target.gather(1, lo + 1)
    return (t0 + frac * (t1 - t0)).T.to(q.dtype)
