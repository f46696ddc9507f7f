"""StyleGAN2 (Karras et al. 2020) at small widths, with progressive growing (PGGAN, Karras et al. 2018) as an option.

Generator G = g ∘ f. The mapping network f: z ~ N(0, I) → pixel norm → an MLP (learning-rate multiplier
0.01) → w ∈ W. The synthesis network g starts from a learned 4×4 constant; each resolution has two 3×3
*modulated* convolutions (the first after a ×2 upsampling), each followed by per-pixel noise times a learned
per-channel strength, a bias and a leaky ReLU (×√2), and a modulated 1×1 toRGB whose outputs are
upsampled and summed over resolutions (the "skip" generator). Every layer gets its own w (``n_latent``
of them), which is what style mixing exploits.

Modulation and demodulation (the paper's eq. 1 and 3), with s = A(w) a learned affine map of w:

    w'_ijk = s_i · w_ijk          w''_ijk = w'_ijk / √(Σ_{i,k} w'_ijk² + ε)

so each output channel's weights have unit L2 norm: unit-variance inputs give unit-variance outputs.
(Computed "non-fused": scale the input by s, convolve with the shared weights, scale the output by the
demodulation coefficients; equal to a grouped convolution with per-sample weights.)

Discriminator D: the residual architecture — fromRGB, then per resolution conv3×3 → conv3×3 →
downsample, plus a downsampled 1×1 skip, summed and divided by √2 — then minibatch standard deviation
(groups of up to 4), a conv3×3, a dense layer and a dense output logit. All layers use the equalised
learning rate (weights ~ N(0, 1), scaled by 1/√fan-in at run time).

The objective (non-saturating logistic loss, lazy regularisation):

    L_D = E_x softplus(−D(x)) + E_z softplus(D(G(z)))
          + every k_D = 16 minibatches: k_D · γ/2 · E_x ‖∇_x D(x)‖²                       (lazy R1)
    L_G = E_z softplus(−D(G(z)))
          + every k_G = 4 minibatches: k_G · w_pl · E_{w,y} (‖J_wᵀ y‖₂ − a)²,  y ~ N(0, I)/√(HW)  (path length)
          with a ← a + 0.01 · (mean ‖J_wᵀ y‖₂ − a), w_pl = 2, on half a batch

Style mixing: with probability p_mix = 0.9 a batch draws two z, and the layers from a uniform crossover
index on use w₂ instead of w₁. Truncation: w' = w̄ + ψ (w − w̄), with w̄ the moving average
(β = 0.995) of f(z) over training. Samples come from the EMA of G's weights (``--ema``).

Progressive growing (``--progressive``, PGGAN's schedule): training is split into equal stages at 4, 8, ...,
``size`` pixels; in the first half of each new stage the new resolution fades in (α: 0 → 1) — G's new
toRGB output is scaled by α and D blends its new block with the downsampled image's fromRGB by α.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

SQRT2 = math.sqrt(2.0)
#: β of w̄'s moving average
W_AVG_BETA = 0.995


# ------------------------------------------------------------------------------- equalised layers
class EqualLinear(nn.Module):
    """Dense layer with the equalised learning rate (and PGGAN's learning-rate multiplier)."""

    def __init__(self, d_in: int, d_out: int, lr_mul: float = 1.0, bias_init: float = 0.0, act: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((d_out,), float(bias_init) / lr_mul))
        self.scale, self.lr_mul, self.act = lr_mul / math.sqrt(d_in), lr_mul, act

    def forward(self, x: Tensor) -> Tensor:
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(out, 0.2) * SQRT2 if self.act else out


class EqualConv(nn.Module):
    """Conv2d (stride 1, same padding) with the equalised learning rate."""

    def __init__(self, c_in: int, c_out: int, k: int, bias: bool = True, act: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, k, k))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale, self.act = 1.0 / math.sqrt(c_in * k * k), act

    def forward(self, x: Tensor) -> Tensor:
        out = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)
        return F.leaky_relu(out, 0.2) * SQRT2 if self.act else out


# ------------------------------------------------------------------------------- modulated convolution
def modulated_weights(weight: Tensor, styles: Tensor, demodulate: bool = True, eps: float = 1e-8) -> Tensor:
    """Per-sample weights (B, O, I, k, k): w'' of eq. 1 and 3 for ``styles`` s (B, I)."""
    w = weight[None] * styles[:, None, :, None, None]
    if demodulate:
        w = w * torch.rsqrt(w.square().sum(dim=(2, 3, 4), keepdim=True) + eps)
    return w


def modulated_conv(x: Tensor, weight: Tensor, styles: Tensor, demodulate: bool = True, eps: float = 1e-8) -> Tensor:
    """Convolve x (B, I, H, W) with :func:`modulated_weights` of ``weight`` (O, I, k, k), non-fused."""
    out = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
    if demodulate:
        d = torch.rsqrt((weight[None] * styles[:, None, :, None, None]).square().sum(dim=(2, 3, 4)) + eps)
        out = out * d[:, :, None, None]
    return out


class StyledConv(nn.Module):
    """Modulated conv (optionally after a ×2 upsampling), noise × per-channel strength, bias, leaky ReLU."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, k: int = 3, up: bool = False, demodulate: bool = True):
        super().__init__()
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)  # s = A(w), biased to 1 as in the paper
        self.weight = nn.Parameter(torch.randn(c_out, c_in, k, k))
        self.scale, self.up, self.demodulate = 1.0 / math.sqrt(c_in * k * k), up, demodulate
        self.noise_strength = nn.Parameter(torch.zeros(c_out)) if demodulate else None
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: Tensor, w: Tensor, noise: Tensor | None = None) -> Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        out = modulated_conv(x, self.weight * self.scale, self.affine(w), self.demodulate)
        if self.noise_strength is None:  # toRGB: no noise, no activation
            return out + self.bias[None, :, None, None]
        if noise is None:
            noise = torch.randn(out.shape[0], 1, *out.shape[2:], device=out.device, dtype=out.dtype)
        out = out + noise * self.noise_strength[None, :, None, None] + self.bias[None, :, None, None]
        return F.leaky_relu(out, 0.2) * SQRT2


def _widths(size: int, width: int, max_width: int) -> dict[int, int]:
    """Channels per resolution: ``width`` at ``size``, doubling per halving, at most ``max_width``."""
    return {4 * 2**i: min(max_width, width * size // (4 * 2**i)) for i in range(int(math.log2(size)) - 1)}


# ------------------------------------------------------------------------------- generator
class Generator(nn.Module):
    """z → f (mapping) → w per layer → g (synthesis) → image in about [-1, 1]."""

    def __init__(
        self, size: int, channels: int, z_dim: int = 128, mapping_layers: int = 8, width: int = 32, max_width: int = 128
    ) -> None:
        super().__init__()
        self.size, self.z_dim = size, z_dim
        layers = [EqualLinear(z_dim, z_dim, lr_mul=0.01, act=True) for _ in range(mapping_layers)]
        self.mapping_net = nn.Sequential(*layers)
        ch = self.widths = _widths(size, width, max_width)
        self.const = nn.Parameter(torch.randn(1, ch[4], 4, 4))
        self.convs = nn.ModuleList([StyledConv(ch[4], ch[4], z_dim)])
        self.to_rgb = nn.ModuleList([StyledConv(ch[4], channels, z_dim, k=1, demodulate=False)])
        for r in list(ch)[1:]:
            self.convs.append(StyledConv(ch[r // 2], ch[r], z_dim, up=True))
            self.convs.append(StyledConv(ch[r], ch[r], z_dim))
            self.to_rgb.append(StyledConv(ch[r], channels, z_dim, k=1, demodulate=False))
        self.n_latent = len(self.convs) + 1  # conv i uses w_i, the toRGB after conv i uses w_{i+1}
        self.register_buffer("w_avg", torch.zeros(z_dim))  # w̄ for truncation
        self.register_buffer("pl_mean", torch.zeros(()))  # a, the path-length target

    def mapping(self, z: Tensor) -> Tensor:
        """f(z): pixel-normalised z through the MLP."""
        return self.mapping_net(z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8))

    def truncate(self, w: Tensor, psi: float) -> Tensor:
        """w̄ + ψ (w − w̄)."""
        return w if psi == 1.0 else self.w_avg.lerp(w, psi)

    def styles(self, z: Tensor, z2: Tensor | None = None, crossover: int | None = None, psi: float = 1.0) -> Tensor:
        """ws (B, n_latent, w_dim): f(z) in every layer, or f(z2) from layer ``crossover`` on (style mixing)."""
        ws = self.truncate(self.mapping(z), psi)[:, None].repeat(1, self.n_latent, 1)
        if z2 is not None and crossover is not None:
            ws[:, crossover:] = self.truncate(self.mapping(z2), psi)[:, None]
        return ws

    def make_noise(self, batch: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """One fixed noise map per conv (for grids whose cells should differ by style alone)."""
        sides = [4 * 2 ** ((i + 1) // 2) for i in range(len(self.convs))]
        return [torch.randn(batch, 1, s, s, generator=generator).to(self.const.device) for s in sides]

    def synthesis(self, ws: Tensor, noise: list[Tensor] | None = None, res: int = 0, alpha: float = 1.0) -> Tensor:
        """g(ws) at ``res`` pixels (0: full size); α < 1 fades in that resolution's toRGB (progressive)."""
        res = res or self.size
        x = self.const.expand(len(ws), -1, -1, -1)
        x = self.convs[0](x, ws[:, 0], noise[0] if noise else None)
        img = self.to_rgb[0](x, ws[:, 1])
        for j, r in enumerate(list(self.widths)[1:], start=1):
            if r > res:
                break
            a, b = 2 * j - 1, 2 * j
            x = self.convs[a](x, ws[:, a], noise[a] if noise else None)
            x = self.convs[b](x, ws[:, b], noise[b] if noise else None)
            rgb = self.to_rgb[j](x, ws[:, b + 1])
            img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)
            img = img + (alpha * rgb if r == res else rgb)
        return img

    def forward(
        self,
        z: Tensor,
        z2: Tensor | None = None,
        crossover: int | None = None,
        psi: float = 1.0,
        res: int = 0,
        alpha: float = 1.0,
        track_w_avg: bool = False,
        return_ws: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """G(z) (style-mixed with z2 from layer ``crossover`` on); ``track_w_avg`` moves w̄ toward this batch's
        f(z) (β = 0.995, training only); ``return_ws`` also returns the ws, for the path-length penalty."""
        if track_w_avg:
            with torch.no_grad():
                self.w_avg.lerp_(self.mapping(z).mean(0), 1.0 - W_AVG_BETA)
        ws = self.styles(z, z2, crossover, psi)
        img = self.synthesis(ws, res=res, alpha=alpha)
        return (img, ws) if return_ws else img


# ------------------------------------------------------------------------------- discriminator
class ResBlock(nn.Module):
    """conv3×3 → conv3×3 → ↓2, plus ↓2 → 1×1 skip; the sum over √2."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = EqualConv(c_in, c_in, 3, act=True), EqualConv(c_in, c_out, 3, act=True)
        self.skip = EqualConv(c_in, c_out, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        y = F.avg_pool2d(self.conv2(self.conv1(x)), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) / SQRT2


def minibatch_stddev(x: Tensor, group: int = 4) -> Tensor:
    """Append one feature map: the std over groups of samples, averaged over channels and pixels."""
    b, c, h, w = x.shape
    g = max(d for d in range(1, min(group, b) + 1) if b % d == 0)
    y = x.reshape(g, -1, c, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (B / g,)
    y = y.repeat(g)[:, None, None, None].expand(b, 1, h, w)
    return torch.cat([x, y], dim=1)


class Discriminator(nn.Module):
    """Residual D: fromRGB, ResBlocks down to 4×4, minibatch stddev, conv, dense, dense → logit."""

    def __init__(self, size: int, channels: int, width: int = 32, max_width: int = 128, progressive: bool = False):
        super().__init__()
        self.size, ch = size, _widths(size, width, max_width)
        self.widths = ch
        rgb_at = list(ch) if progressive else [size]
        self.from_rgb = nn.ModuleDict({str(r): EqualConv(channels, ch[r], 1, act=True) for r in rgb_at})
        self.blocks = nn.ModuleDict({str(r): ResBlock(ch[r], ch[r // 2]) for r in list(ch)[1:]})
        self.conv = EqualConv(ch[4] + 1, ch[4], 3, act=True)
        self.fc = EqualLinear(ch[4] * 16, ch[4], act=True)
        self.out = EqualLinear(ch[4], 1)

    def forward(self, x: Tensor, alpha: float = 1.0) -> Tensor:
        res = x.shape[-1]
        h = self.from_rgb[str(res)](x)
        while res > 4:
            h = self.blocks[str(res)](h)
            if res == x.shape[-1] and alpha < 1.0:  # fade in: the downsampled image through the lower fromRGB
                h = alpha * h + (1 - alpha) * self.from_rgb[str(res // 2)](F.avg_pool2d(x, 2))
            res //= 2
        h = self.conv(minibatch_stddev(h))
        return self.out(self.fc(h.flatten(1))).reshape(-1)


# ------------------------------------------------------------------------------- losses and regularisers
def d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """softplus(−D(x)) + softplus(D(G(z))): the logistic loss, −log σ(D(x)) − log(1 − σ(D(G(z))))."""
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def g_loss(d_fake: Tensor) -> Tensor:
    """The non-saturating generator loss softplus(−D(G(z))) = −log σ(D(G(z)))."""
    return F.softplus(-d_fake).mean()


def r1_penalty(d_real: Tensor, real: Tensor) -> Tensor:
    """E_x ‖∇_x D(x)‖² (``real`` must require grad and ``d_real`` be computed from it)."""
    (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


def path_lengths(images: Tensor, ws: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """‖J_wᵀ y‖₂ per sample for y ~ N(0, I)/√(HW), summed over layers' ws and averaged as in the paper."""
    h, w = images.shape[-2:]
    y = torch.randn(images.shape, device=images.device, generator=generator) / math.sqrt(h * w)
    (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
    return grad.square().sum(dim=2).mean(dim=1).sqrt()


def path_length_penalty(lengths: Tensor, pl_mean: Tensor, decay: float = 0.01) -> Tensor:
    """E (‖J_wᵀ y‖ − a)², after moving the target a (a buffer, updated in place) toward the batch mean."""
    with torch.no_grad():
        pl_mean.lerp_(lengths.mean().detach(), decay)
    return (lengths - pl_mean).square().mean()


def progressive_stage(step: int, total: int, size: int) -> tuple[int, float]:
    """(resolution, α) of PGGAN's schedule at ``step`` of ``total``: equal stages 4 … size, fading in over half."""
    n = int(math.log2(size)) - 1
    t = min(max(step, 0) / max(total, 1), 1.0) * n
    stage = min(int(t), n - 1)
    alpha = 1.0 if stage == 0 else min(1.0, 2.0 * (t - stage))
    return 4 * 2**stage, alpha
