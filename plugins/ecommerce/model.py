"""eCommerceGAN / ec²GAN networks and objective (Kumar, Biswas & Sanyal, "eCommerceGAN: A
Generative Adversarial Network for E-commerce", arXiv:1801.03244, 2018).

An order line is a dense vector x (:mod:`.data`: customer, product and basket embeddings, quantity,
price, basket size, date features, weekday and category). eCommerceGAN learns their distribution
with a Wasserstein GAN with gradient penalty; ec²GAN conditions the generator on a product and
adds a reconstruction term so that the generated order is an order *of that product*. Here one
generator is both: every training row draws a mode m ∈ {none, product, category} uniformly, and
the condition is

    c = [ √d_p · e_p · 1(m = product) | onehot_K(k) · 1(m ≠ none) | 1(m = product), 1(m = category) ]

with e_p the (unit) embedding of the real line's product p and k its category. With z ~ N(0, I)
(``--nz``) and x̃ = act(G(z, c)), act a Gumbel-softmax (τ = 0.2) on the weekday and category
spans while training (a softmax when generating), the critic D and the generator minimise

    L_D = E[D(x̃)] − E[D(x)] + λ · E[(‖∇D(x̂)‖ − 1)²]
    L_G = −E[D(x̃)] + ρ · (L_product + L_category)

(Gulrajani et al. 2017: x̂ random interpolates of x and x̃, λ = ``--gp-weight`` 10; ρ =
``--rec-weight`` 1), where, over the rows of each mode,

- L_product = mean over product-mode rows of ‖x̃_product − √d_p · e_p‖² / d_p,
- L_category = mean over product- and category-mode rows of the cross-entropy of G's category
  logits against k.

Networks (``core.nn.mlp``, width h = ``--hidden``): G: nz + |c| → h → h → |x| with batch norm; the
critic D: |x| → h → h → 1, leaky ReLU, no normalisation. Adam 2e-4, β = (0.5, 0.9), two critic
steps per generator step (the app's defaults).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganapps.core import losses as L
from ganapps.core.data import batched
from ganapps.core.devices import eval_mode
from ganapps.core.nn import mlp
from ganapps.core.regularizers import gradient_penalty

Layout = dict[str, slice]


def networks(nz: int, cond_width: int, hidden: int, width: int) -> dict[str, nn.Module]:
    """G and D, built in this order (the seed's draws depend on it)."""
    return {
        "generator": mlp([nz + cond_width, hidden, hidden, width], norm="batch"),
        "discriminator": mlp([width, hidden, hidden, 1], activation="leaky_relu"),
    }


def cond_width(product_dim: int, categories: int) -> int:
    """Width of the condition c: product embedding, category one-hot, two mode bits."""
    return product_dim + categories + 2


def condition(product_emb: Tensor, categories: int, product: Tensor, category: Tensor, mode: Tensor) -> Tensor:
    """ec²GAN's condition: product embedding (mode 1), category one-hot (modes 1, 2), mode bits."""
    pe = product_emb
    has_p = (mode == 1).float()[:, None]
    has_c = (mode >= 1).float()[:, None]
    return torch.cat(
        [pe[product] * math.sqrt(pe.shape[1]) * has_p, F.one_hot(category, categories).float() * has_c,
         has_p, (mode == 2).float()[:, None]], 1
    )  # fmt: skip


def draw_modes(n: int, device: torch.device) -> Tensor:
    """One mode per row, uniformly: 0 none (eCommerceGAN), 1 product, 2 category (ec²GAN)."""
    return torch.randint(0, 3, (n,), device=device)


def activate(raw: Tensor, layout: Layout, tau: float | None = 0.2) -> Tensor:
    """Softmax spans (day of week, category) through a Gumbel-softmax while training, softmax after."""
    out = raw.clone()
    for name in ("dow", "category"):
        logits = raw[:, layout[name]]
        out[:, layout[name]] = F.gumbel_softmax(logits, tau=tau) if tau else logits.softmax(1)
    return out


def discriminator_loss(critic: nn.Module, real: Tensor, fake: Tensor, gp_weight: float) -> dict[str, Tensor]:
    """L_D: the Wasserstein critic loss plus λ times the gradient penalty (``fake`` detached)."""
    d_real, d_fake = critic(real), critic(fake)
    gp = gradient_penalty(critic, real, fake)
    return {
        "loss": L.d_wgan(d_real, d_fake) + gp_weight * gp,
        "wasserstein": d_real.mean() - d_fake.mean(),
        "gp": gp,
    }


def reconstruction(
    raw: Tensor, fake: Tensor, mode: Tensor, product: Tensor, category: Tensor, layout: Layout, product_emb: Tensor
) -> Tensor:
    """ec²GAN's term L_product + L_category: the generated order must be one of its condition."""
    pe = product_emb
    has_p, has_c = (mode == 1).float(), (mode >= 1).float()
    target = pe[product] * math.sqrt(pe.shape[1])
    rec_p = ((fake[:, layout["product"]] - target) ** 2).mean(1)
    rec_c = F.cross_entropy(raw[:, layout["category"]], category, reduction="none")
    return (rec_p * has_p).sum() / has_p.sum().clamp_min(1) + (rec_c * has_c).sum() / has_c.sum().clamp_min(1)


def generator_loss(
    critic: nn.Module,
    raw: Tensor,
    fake: Tensor,
    mode: Tensor,
    product: Tensor,
    category: Tensor,
    layout: Layout,
    product_emb: Tensor,
    rec_weight: float,
) -> dict[str, Tensor]:
    """L_G: −E[D(x̃)] plus ρ times the reconstruction term (``raw``: G's output before ``activate``)."""
    adv = L.g_wgan(critic(fake))
    rec = reconstruction(raw, fake, mode, product, category, layout, product_emb)
    return {"loss": adv + rec_weight * rec, "reconstruction": rec}


def sample(
    generator: nn.Module,
    product_emb: Tensor,
    layout: Layout,
    nz: int,
    product: Tensor,
    category: Tensor,
    mode: Tensor,
    device: torch.device,
) -> Tensor:
    """Order vectors (on the CPU) for the given conditions, G in eval mode, softmax spans, in chunks."""
    categories = layout["category"].stop - layout["category"].start
    out = []
    with eval_mode(generator):
        for a, b in batched(len(product), 4096):
            cond = condition(
                product_emb, categories, product[a:b].to(device), category[a:b].to(device), mode[a:b].to(device)
            )
            z = torch.randn(b - a, nz, device=device)
            out.append(activate(generator(torch.cat([z, cond], 1)), layout, tau=None).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, layout["category"].stop)
