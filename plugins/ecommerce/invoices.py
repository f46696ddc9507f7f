"""From generated order vectors to invoices: how the ``ecommerce`` app writes orders.

1. Seed lines come from the generator (conditioned on the product/category if asked). A line
   carries its invoice's size k (quantile-mapped onto the training sizes, see
   :func:`calibrated_size`, unless ``size_calibration`` is off); an invoice is kept with
   probability 1/k, which turns the line-weighted seeds into invoice-weighted ones, and only if
   its season and weekday fit a date of the window (``--start/--end``, default the training
   period): :func:`draw_seeds`.
2. Each kept seed becomes an invoice: its customer, date, time and country, its product, and
   k − 1 further products drawn around its basket embedding (:func:`complete`, with the
   temperature of :func:`calibrate_temperature`).
3. Every line's quantity and price come from the generator conditioned on its product (ec²GAN),
   snapped to that product's observed values: :func:`assemble`.

The generator reaches this module only as ``draw(product, category, mode)`` → order vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import torch
from torch import Tensor

from ganapps.core.data import batched
from ganapps.core.errors import ConfigError, DataError
from ganapps.plugins.ecommerce.data import (
    _t,
    customer_ids,
    decode,
    invoice_codes,
    invoice_ids,
    layout,
    snap,
    to_schema,
)

#: (product, category, mode) → order vectors on the CPU, from the trained generator
Draw = Callable[[Tensor, Tensor, Tensor], Tensor]
SIZE_REFERENCE = 20_000  # unconditional draws behind the basket-size calibration


# ---------------------------------------------------------------------------- conditions
def resolve_condition(
    condition: Mapping[str, Any] | None, schema: dict[str, Any], app: str
) -> tuple[str | None, int | None]:
    """``--condition product=ID`` or ``category=NAME`` → (kind, index), else (None, None)."""
    if not condition:
        return None, None
    if len(condition) > 1:
        raise ConfigError("--condition: give one condition, product=ID or category=NAME")
    ((key, value),) = condition.items()
    roles = schema["columns"]["roles"]
    value = str(value)
    if key in ("product", roles.get("product")):
        products = schema["products"]
        if value not in products:
            raise ConfigError(
                f"--condition product={value}: not in the training catalogue ({len(products)} products, "
                f"e.g. {', '.join(products[:3])})"
            )
        return "product", products.index(value)
    if key in ("category", roles.get("category") or "category"):
        cats = schema["categories"]
        if value not in cats:
            raise ConfigError(f"--condition category={value!r}: unknown category (known: {', '.join(cats)})")
        return "category", cats.index(value)
    raise ConfigError(f"--condition: {app} knows 'product' and 'category', not {key!r}")


def date_window(dates: dict[str, Any], start: str | None, end: str | None) -> np.ndarray:
    """The days orders may fall on: ``--start..--end``, default the days the shop took orders in training."""
    if start is None and end is None:
        return np.array(dates["open_days"], dtype="datetime64[D]")
    try:
        first = np.datetime64(start or dates["first"], "D")
        last = np.datetime64(end or dates["last"], "D")
    except ValueError:
        raise ConfigError(f"options --start/--end: {start or end!r} is not a date (YYYY-MM-DD)") from None
    if last < first:
        raise ConfigError(f"option --end {last} is before --start {first}")
    return np.arange(first, last + np.timedelta64(1, "D"), dtype="datetime64[D]")


def place_dates(doy: np.ndarray, dow: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Index into ``window`` of the day with the generated weekday closest in season (±7 days), else −1."""
    w_doy = (window - window.astype("datetime64[Y]")).astype(np.int64).astype(np.float64)
    w_dow = ((window.astype(np.int64) + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday (3)
    out = np.full(len(doy), -1, dtype=np.int64)
    for a, b in batched(len(doy), 4096):
        diff = np.abs(doy[a:b, None] - w_doy[None, :])
        diff = np.minimum(diff, 365.25 - diff)
        if len(window) >= 7:
            diff = np.where(dow[a:b, None] == w_dow[None, :], diff, np.inf)
        best = diff.argmin(1)
        ok = diff[np.arange(b - a), best] <= 7.0
        out[a:b] = np.where(ok, best, -1)
    return np.where(out >= 0, out, -1)


# ---------------------------------------------------------------------------- basket sizes
def size_map(
    schema: dict[str, Any], tensors: dict[str, Tensor], draw: Draw, seed: int, device: torch.device
) -> tuple[Tensor, Tensor, Tensor] | None:
    """What the basket-size calibration needs: the generator's log sizes on unconditional draws
    (sorted), and the training basket sizes with their line-weighted CDF (a line carries its
    invoice's size, so a size-k invoice counts k times, as in the training vectors)."""
    b = schema.get("basket_sizes")
    if not b:
        return None  # a bundle saved before the calibration existed
    pcat = torch.as_tensor(schema["product_category"])
    n = SIZE_REFERENCE
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # the same reference draws on every call
        product = torch.multinomial(tensors["product_counts"], n, replacement=True)
        x = draw(product, pcat[product], torch.zeros(n, dtype=torch.long))
    ref = x[:, layout(schema["dims"])["log_size"]][:, 0].sort().values
    size = torch.as_tensor(b["size"], dtype=torch.float64)
    lines = size * torch.as_tensor(b["invoices"], dtype=torch.float64)
    return ref, size, lines.cumsum(0) / lines.sum()


def calibrated_size(raw: Tensor, size_map: tuple[Tensor, Tensor, Tensor]) -> Tensor:
    """Quantile mapping of the generated (standardised) log basket size: the value at rank u
    among the unconditional reference draws becomes the training size at line-weighted quantile
    u. The map is monotone, so what a size goes with (customer, basket, season) is kept, and the
    sizes' distribution is the training one — the raw generator shifts it (about ×2 at the median
    after 40 epochs on 50k Online Retail lines, and almost no 1–2-line baskets)."""
    ref, size, cdf = size_map
    u = (torch.searchsorted(ref, raw.contiguous()).double() + 0.5) / (len(ref) + 1)
    return size[torch.searchsorted(cdf, u).clamp(max=len(size) - 1)].long()


# ------------------------------------------------------------------------ basket completion
def complete(
    tensors: dict[str, Tensor],
    centres: Tensor,
    k: Tensor,
    seed_product: Tensor,
    tau: float,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """The other products of each basket: ``k − 1`` distinct products drawn without replacement
    (Gumbel top-k) with probability ∝ popularity · exp(cos(product, basket embedding) / τ)."""
    pe = tensors["product_emb"]
    logpop = tensors["product_counts"].clamp_min(1).log()
    m = int((k - 1).clamp_min(0).max()) if len(k) else 0
    m = min(m, pe.shape[0] - 1)
    if m == 0:
        return torch.zeros(len(k), 0, dtype=torch.long), torch.zeros(len(k), 0, dtype=torch.bool)
    c = centres / centres.norm(dim=1, keepdim=True).clamp_min(1e-8)
    picks = []
    for a, b in batched(len(c), 1024):
        logits = (c[a:b] @ pe.t()) / tau + logpop
        u = torch.rand(logits.shape, generator=generator).clamp(1e-10, 1 - 1e-10)
        logits = logits - torch.log(-torch.log(u))
        own = seed_product[a:b]
        rows = torch.nonzero(own >= 0).flatten()
        logits[rows, own[rows]] = float("-inf")
        picks.append(logits.topk(m, dim=1).indices)
    chosen = torch.cat(picks)
    valid = torch.arange(m)[None, :] < (k - 1)[:, None]
    return chosen, valid


def calibrate_temperature(
    lines: pl.DataFrame, p_idx: np.ndarray, tensors: dict[str, Tensor], seed: int
) -> tuple[float, float | None]:
    """The basket-completion temperature whose sampled baskets are as tight as the real ones, and
    the real tightness (None without multi-line baskets).

    Real: mean cosine of each product to its basket's other products (leave-one-out centre).
    Sampled: mean cosine of products drawn by :func:`complete` to the same centres.
    """
    pe = tensors["product_emb"]
    inv = invoice_codes(lines)
    size = torch.bincount(inv)
    g = torch.Generator().manual_seed(seed)
    multi = torch.nonzero(size >= 2).flatten()
    if len(multi) == 0:
        return 0.1, None
    pick = multi[torch.randperm(len(multi), generator=g)[:1500]]
    keep = torch.isin(inv, pick)
    p = _t(p_idx)[keep]
    iv = inv[keep]
    sums = torch.zeros(int(inv.max()) + 1, pe.shape[1]).index_add_(0, iv, pe[p])
    loo = sums[iv] - pe[p]
    loo = loo / loo.norm(dim=1, keepdim=True).clamp_min(1e-8)
    real = float((loo * pe[p]).sum(1).mean())
    centres = sums[pick] / sums[pick].norm(dim=1, keepdim=True).clamp_min(1e-8)
    k = size[pick].clamp(max=64)
    best, gap = 0.1, float("inf")
    for tau in (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0):
        chosen, valid = complete(tensors, centres, k, torch.full((len(pick),), -1), tau, generator=g)
        cos = (pe[chosen.clamp_min(0)] * centres[:, None, :]).sum(-1)
        sampled = float(cos[valid].mean())
        if abs(sampled - real) < gap:
            best, gap = tau, abs(sampled - real)
    return best, real


# ------------------------------------------------------------------------------- invoices
@dataclass(frozen=True)
class Seeding:
    """What drawing seed lines needs: the condition (``kind``: product, category or None, and its
    ``target``), the fitted model (``schema``, ``tensors``, the generator ``draw``), the size map
    (or None), the days to place invoices on and the random generator."""

    kind: str | None
    target: int | None
    schema: dict[str, Any]
    tensors: dict[str, Tensor]
    draw: Draw
    sizes: tuple[Tensor, Tensor, Tensor] | None
    window: np.ndarray
    g: torch.Generator


def _seed_batch(batch: int, plan: Seeding) -> dict[str, Tensor]:
    """One batch of generated seed lines, those kept (1/k, a day in the window) and decoded."""
    kind, target, schema, tensors, draw, sizes, window, g = (
        plan.kind, plan.target, plan.schema, plan.tensors, plan.draw, plan.sizes, plan.window, plan.g
    )  # fmt: skip
    pcat = torch.as_tensor(schema["product_category"])
    if kind == "product":
        product = torch.full((batch,), int(target))  # type: ignore[arg-type]
        mode = torch.ones(batch, dtype=torch.long)
    elif kind == "category":
        product = torch.zeros(batch, dtype=torch.long)
        mode = torch.full((batch,), 2, dtype=torch.long)
    else:
        product = torch.multinomial(tensors["product_counts"], batch, replacement=True, generator=g)
        mode = torch.zeros(batch, dtype=torch.long)
    category = torch.full((batch,), int(target)) if kind == "category" else pcat[product]
    x = draw(product, category, mode)
    fixed_cat = torch.full((batch,), int(target)) if kind == "category" else None
    if kind == "product":
        fixed_cat = pcat[product]
    dec = decode(x, schema, tensors, fixed_cat)
    if sizes is not None:
        dec["size"] = calibrated_size(x[:, layout(schema["dims"])["log_size"]][:, 0], sizes)
    dec["decoded_product"] = dec["product"].clone()
    if kind == "product":
        dec["product"] = product
    keep = torch.rand(batch, generator=g) < 1.0 / dec["size"].float()
    day = place_dates(dec["doy"].numpy(), dec["dow"].numpy(), window)
    keep &= _t(day >= 0)
    idx = torch.nonzero(keep).flatten()
    part = {k: v[idx] for k, v in dec.items()}
    part["day"] = _t(day)[idx]
    return part


def draw_seeds(n: int, plan: Seeding) -> dict[str, Tensor]:
    """Seed lines, one per invoice, until their sizes add up to ``n`` lines (the last one cut)."""
    seeds: list[dict[str, Tensor]] = []
    total, rounds = 0, 0
    batch = min(max(2048, n + n // 2), 200_000)
    while total < n:
        rounds += 1
        if rounds > 60:
            raise DataError(
                f"generate: could not place {n} lines in {plan.window[0]}..{plan.window[-1]} "
                "(the model saw almost no orders in that season); widen --start/--end"
            )
        part = _seed_batch(batch, plan)
        cum = torch.cumsum(part["size"], 0)
        need = int((cum < (n - total)).sum()) + 1
        part = {k: v[:need] for k, v in part.items()}
        seeds.append(part)
        total += int(part["size"].sum())
    return {k: torch.cat([s[k] for s in seeds]) for k in seeds[0]}


def assemble(
    seed: dict[str, Tensor],
    n: int,
    g: torch.Generator,
    window: np.ndarray,
    schema: dict[str, Any],
    tensors: dict[str, Tensor],
    draw: Draw,
    fresh_customers: bool,
) -> pl.DataFrame:
    """The invoices of the seeds, ``n`` lines in time order, in the input's columns and dtypes."""
    s = schema
    others, valid = complete(tensors, seed["basket"], seed["size"], seed["product"], float(s["basket_temperature"]), g)
    n_inv = len(seed["product"])
    inv_of = torch.cat([torch.arange(n_inv), torch.arange(n_inv)[:, None].expand_as(others)[valid]])
    product = torch.cat([seed["product"], others[valid]])
    order = torch.argsort(inv_of, stable=True)
    inv_of, product = inv_of[order][:n], product[order][:n]
    # quantity and price of every line: the generator conditioned on the line's product
    pcat = torch.as_tensor(s["product_category"])
    lines = decode(draw(product, pcat[product], torch.ones(len(product), dtype=torch.long)), s, tensors, nearest=False)
    ref = tensors["product_ref_price"][product]
    price = snap(tensors["product_prices"], product, ref * lines["price"].exp())
    qty = snap(tensors["product_quantities"], product, lines["log_qty"].exp().round().clamp_min(1))
    # invoice-level fields from the seed
    day = window[seed["day"].numpy()][inv_of.numpy()]
    minutes = (seed["tod"] * 60).round().long().numpy()[inv_of.numpy()]
    ts = day.astype("datetime64[m]") + minutes.astype("timedelta64[m]")
    cust = seed["customer"].numpy()
    ccountry = s["customer_country"]
    gc = tensors["guest_country_counts"]
    guest_country = torch.multinomial(gc.clamp_min(1e-9), n_inv, replacement=True, generator=g).numpy()
    gnames = s["guest_countries"] or [None]
    countries = [ccountry[c] if c > 0 else gnames[guest_country[i] % len(gnames)] for i, c in enumerate(cust)]
    cust_ids = customer_ids(s, cust, fresh_customers)
    # invoice numbers in time order
    first_ts = np.full(n_inv, np.datetime64("9999-01-01T00:00", "m"))
    np.minimum.at(first_ts, inv_of.numpy(), ts)
    rank = np.empty(n_inv, dtype=np.int64)
    rank[np.argsort(first_ts, kind="stable")] = np.arange(n_inv)
    inv_ids = invoice_ids(s, rank)
    iv = inv_of.numpy()
    prod = product.numpy()
    frame = {
        "invoice": [inv_ids[i] for i in iv],
        "product": [s["products"][p] for p in prod],
        "description": [s["descriptions"][p] for p in prod],
        "quantity": qty.numpy(),
        "price": price.numpy(),
        "date": ts,
        "customer": [cust_ids[i] for i in iv],
        "country": [countries[i] for i in iv],
        "category": [s["categories"][pcat[p]] for p in prod],
    }
    out = to_schema(s, frame)
    sort_key = np.lexsort((np.arange(len(iv)), rank[iv]))
    return out[sort_key.tolist()]
