"""Order lines ↔ order vectors: what the ``ecommerce`` app fits on the training lines, the vectors
it trains on, and how generated vectors become lines in the input's columns again.

Order vector of one line (every part standardised to unit scale)::

    [ customer emb (d_c) | product emb (d_p) | basket emb (d_p) | log qty | price vs product's |
      log basket size | day-of-year sin, cos | time of day | day of week (7, softmax) | category (K, softmax) ]

The basket embedding is the mean of the invoice's product embeddings; with the basket size it
lets one generated line seed a whole multi-line invoice (see :mod:`.invoices`).

- :func:`fit`: vocabularies (products and customers by frequency, the guest first), categories,
  the two embeddings (:mod:`.orders`), per-product observed prices and quantities, date range and
  feature scales: the bundle's ``schema`` and ``tensors``;
- :func:`line_features` / :func:`training_set`: canonical purchase lines → order vectors;
- :func:`decode`: order vectors → customer and product (nearest embeddings), values, time features;
- :func:`snap`, :func:`to_schema`, :func:`customer_ids`, :func:`invoice_ids`: synthetic lines with
  observed values and ids, in the input's column names, order and dtypes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core.data import TensorData, batched
from ganapps.core.frames import dtype_from_json
from ganapps.plugins.ecommerce import orders as O

GUEST = "<guest>"
TOP_VALUES = 16  # observed prices / quantities kept per product for snapping


def _t(a: Any) -> Tensor:
    """A writable copy of a NumPy array (polars hands out read-only views) as a tensor."""
    return torch.from_numpy(np.array(a))


def invoice_codes(lines: pl.DataFrame) -> Tensor:
    """Each line's invoice as 0..n_invoices − 1."""
    inv = _t(lines["inv"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64))
    return torch.unique(inv, return_inverse=True)[1]


# ------------------------------------------------------------------------------ fitting
def _products(lines: pl.DataFrame, cols: dict[str, str | None]) -> dict[str, Any]:
    """Products by frequency (ties by id), their descriptions and categories."""
    pstats = (
        lines.group_by("prod")
        .agg(pl.len().alias("n"), pl.col("desc").drop_nulls().mode().sort().first().alias("desc"),
             pl.col("cat").drop_nulls().mode().sort().first().alias("cat"))
        .sort(["n", "prod"], descending=[True, False])
    )  # fmt: skip
    products = pstats["prod"].to_list()
    descs = pstats["desc"].to_list()
    if cols.get("category"):
        pcat = [c if c else O.OTHER for c in pstats["cat"].to_list()]
        cat_source = f"column {cols['category']!r}"
    else:
        pcat = [O.derive_category(d, p) for d, p in zip(descs, products, strict=True)]
        cat_source = "description keywords" if cols.get("description") else "product-code prefixes"
    categories = sorted(set(pcat))
    cat_of = np.array([categories.index(c) for c in pcat], dtype=np.int64)
    return {
        "products": products,
        "descriptions": descs,
        "cat_of": cat_of,
        "categories": categories,
        "category_source": cat_source,
    }


def _customers(lines: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Identified customers by frequency (ties by id) with their usual country, and guests' countries."""
    cstats = (
        lines.filter(pl.col("cust").is_not_null())
        .group_by("cust")
        .agg(pl.len().alias("n"), pl.col("country").drop_nulls().mode().sort().first().alias("country"))
        .sort(["n", "cust"], descending=[True, False])
    )
    guest_countries = (
        lines.filter(pl.col("cust").is_null() & pl.col("country").is_not_null())
        .group_by("country").agg(pl.len().alias("n")).sort(["n", "country"], descending=[True, False])
    )  # fmt: skip
    return cstats, guest_countries


def _embeddings(
    lines: pl.DataFrame,
    p_idx: np.ndarray,
    c_idx: np.ndarray,
    cat_of: np.ndarray,
    sizes: tuple[int, int, int],
    dims: tuple[int, int],
    seed: int,
) -> tuple[Tensor, Tensor]:
    """Product and customer embeddings; products bought only alone sit at their category's centroid."""
    n_products, n_customers, n_categories = sizes
    inv_codes = lines["inv"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
    pe = O.product_embeddings(inv_codes, p_idx, n_products, dims[0], seed)
    ce = O.customer_embeddings(c_idx, p_idx, n_customers, n_products, dims[1], seed)
    lonely = pe.norm(dim=1) == 0
    for k in range(n_categories):
        members = _t(cat_of == k)
        centre = pe[members & ~lonely].mean(0) if (members & ~lonely).any() else torch.zeros(pe.shape[1])
        pe[members & lonely] = centre / centre.norm().clamp_min(1e-8)
    return pe, ce


def _value_tables(lines: pl.DataFrame, pindex: dict[str, int], n: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per product: its most frequent observed prices and quantities (NaN-padded) and median price."""

    def table(col: str) -> Tensor:
        top = (
            lines.group_by(["prod", col]).agg(pl.len().alias("n"))
            .sort(["prod", "n", col], descending=[False, True, False])
            .group_by("prod", maintain_order=True).head(TOP_VALUES)
            .with_columns(pl.col(col).cum_count().over("prod").alias("rank"))
        )  # fmt: skip
        out = torch.full((n, TOP_VALUES), float("nan"), dtype=torch.float64)
        rows = _t(top["prod"].replace_strict(pindex, return_dtype=pl.Int64).to_numpy())
        ranks = _t(top["rank"].cast(pl.Int64).to_numpy() - 1)
        out[rows, ranks] = _t(top[col].cast(pl.Float64).to_numpy())
        return out

    med = lines.group_by("prod").agg(pl.col("price").median().alias("m"))
    ref = torch.ones(n, dtype=torch.float64)
    ref[_t(med["prod"].replace_strict(pindex, return_dtype=pl.Int64).to_numpy())] = _t(med["m"].to_numpy())
    return table("price"), table("qty"), ref


def fit(
    cleaned: O.Cleaned, cols: dict[str, str | None], columns: dict[str, Any], dims: tuple[int, int], seed: int
) -> tuple[dict[str, Any], dict[str, Tensor], np.ndarray, np.ndarray]:
    """Schema and tensors fitted on the training purchases, and each line's product and customer index.

    ``columns``: the input's column names, dtypes and roles (``schema["columns"]``); ``dims``: the
    product and customer embedding sizes. The basket temperature is left to the caller.
    """
    lines = cleaned.lines
    p = _products(lines, cols)
    products, cat_of, categories = p["products"], p["cat_of"], p["categories"]
    pindex = {q: i for i, q in enumerate(products)}
    cstats, guest_countries = _customers(lines)
    customers = [GUEST, *cstats["cust"].to_list()]
    cindex = {c: i for i, c in enumerate(customers)}
    p_idx = lines["prod"].replace_strict(pindex, return_dtype=pl.Int64).to_numpy().copy()
    c_idx = lines["cust"].fill_null(GUEST).replace_strict(cindex, return_dtype=pl.Int64).to_numpy().copy()
    sizes = (len(products), len(customers), len(categories))
    pe, ce = _embeddings(lines, p_idx, c_idx, cat_of, sizes, dims, seed)
    counts = _t(np.bincount(p_idx, minlength=len(products))).float()
    prices, quantities, ref = _value_tables(lines, pindex, len(products))
    ts = lines["ts"]
    tod = (ts.dt.hour().cast(pl.Float64) + ts.dt.minute().cast(pl.Float64) / 60).to_numpy()
    schema = {
        "columns": columns,
        "cleaning": cleaned.report,
        "products": products,
        "descriptions": p["descriptions"],
        "product_category": cat_of.tolist(),
        "categories": categories,
        "category_source": p["category_source"],
        "customers": customers,
        "customer_country": [None, *cstats["country"].to_list()],
        "guest_countries": guest_countries["country"].to_list(),
        "dims": {"customer": int(ce.shape[1]), "product": int(pe.shape[1]), "categories": len(categories)},
        "dates": {"first": str(ts.min().date()), "last": str(ts.max().date()),  # type: ignore[union-attr]
                  "open_days": sorted(ts.dt.date().cast(pl.String).unique().to_list()),
                  "tod_min": float(tod.min()), "tod_max": float(tod.max())},
        "invoice_format": invoice_format(lines["inv"]),
        "customer_numeric": bool(cstats["cust"].str.contains(r"^\d+$").all()) if cstats.height else False,
    }  # fmt: skip
    tensors = {
        "product_emb": pe.float(),
        "customer_emb": ce.float(),
        "product_counts": counts,
        "product_ref_price": ref,
        "product_prices": prices,
        "product_quantities": quantities,
        "guest_country_counts": torch.tensor(guest_countries["n"].to_list() or [0], dtype=torch.float32),
    }
    inv_sizes = lines.group_by("inv").len().group_by("len").agg(pl.len().alias("n")).sort("len")
    schema["basket_sizes"] = {"size": inv_sizes["len"].to_list(), "invoices": inv_sizes["n"].to_list()}
    feats = line_features(lines, p_idx, c_idx, schema, tensors)
    schema["scales"] = {k: [float(v[0]), float(v[1])] for k, v in feats["scales"].items()}
    return schema, tensors, p_idx, c_idx


def invoice_format(inv: pl.Series) -> dict[str, Any]:
    """How invoice ids look (``536365`` → numbers continuing after the largest, else ``SYN000001``)."""
    m = inv.str.extract_groups(r"^([A-Za-z]*)(\d+)$")
    prefix, digits = m.struct.field("1"), m.struct.field("2")
    if digits.null_count() == 0 and len(digits):
        top = prefix.mode().sort()[0]
        nums = digits.filter(prefix == top).cast(pl.Int64)
        width = int(digits.str.len_chars().min() or 1)
        return {"prefix": top, "start": int(nums.max()) + 1, "width": width}  # type: ignore[arg-type]
    return {"prefix": "SYN", "start": 1, "width": 6}


# ------------------------------------------------------------------------ order vectors
def layout(dims: dict[str, int]) -> dict[str, slice]:
    """Where each part of the order vector lies."""
    parts = [("customer", dims["customer"]), ("product", dims["product"]), ("basket", dims["product"]), ("log_qty", 1),
             ("price", 1), ("log_size", 1), ("doy", 2), ("tod", 1), ("dow", 7), ("category", dims["categories"])]  # fmt: skip
    out, at = {}, 0
    for name, width in parts:
        out[name] = slice(at, at + width)
        at += width
    return out


def line_features(
    lines: pl.DataFrame, p_idx: np.ndarray, c_idx: np.ndarray, schema: dict[str, Any], tensors: dict[str, Tensor]
) -> dict[str, Any]:
    """Per-line parts of the order vector and the standardisation (fitted on the training lines
    when ``schema`` has no ``scales`` yet)."""
    pe, ce = tensors["product_emb"], tensors["customer_emb"]
    p = _t(p_idx)
    inv = invoice_codes(lines)
    sums = torch.zeros(int(inv.max()) + 1, pe.shape[1]).index_add_(0, inv, pe[p])
    size = torch.bincount(inv).float()
    basket = sums[inv]
    basket = basket / basket.norm(dim=1, keepdim=True).clamp_min(1e-8)
    ts = lines["ts"]
    raw = {
        "log_qty": _t(np.log(lines["qty"].to_numpy())).float(),
        "price": torch.log(_t(lines["price"].to_numpy()) / tensors["product_ref_price"][p]).float(),
        "log_size": torch.log(size[inv]),
        "tod": _t((ts.dt.hour().cast(pl.Float64) + ts.dt.minute().cast(pl.Float64) / 60).to_numpy()).float(),
    }
    scales = schema.get("scales") or {k: (float(v.mean()), float(v.std().clamp_min(1e-3))) for k, v in raw.items()}
    angle = _t(O.circular_doy(ts)).float()
    dow = _t(ts.dt.weekday().to_numpy().astype(np.int64) - 1)
    return {
        "customer": ce[_t(c_idx)] * math.sqrt(ce.shape[1]),
        "product": pe[p] * math.sqrt(pe.shape[1]),
        "basket": basket * math.sqrt(pe.shape[1]),
        **{k: ((v - scales[k][0]) / scales[k][1]).clamp(-5, 5)[:, None] for k, v in raw.items()},
        "doy": torch.stack([angle.sin(), angle.cos()], 1),
        "dow": F.one_hot(dow, 7).float(),
        "category": F.one_hot(_t(np.asarray(schema["product_category"]))[p], schema["dims"]["categories"]).float(),
        "scales": scales,
    }


def training_set(
    lines: pl.DataFrame, p_idx: np.ndarray, c_idx: np.ndarray, schema: dict[str, Any], tensors: dict[str, Tensor]
) -> TensorData:
    """The training set: each purchase line's order vector, product and category."""
    f = line_features(lines, p_idx, c_idx, schema, tensors)
    x = torch.cat([f[k] for k in layout(schema["dims"])], 1).float()
    p = _t(p_idx)
    return TensorData(x, p, torch.as_tensor(schema["product_category"])[p])


# ----------------------------------------------------------------------------- decoding
def nearest_rows(
    query: Tensor, table: Tensor, group: Tensor | None = None, table_group: Tensor | None = None
) -> Tensor:
    """Index of the most cosine-similar row of ``table``; with groups, only rows of the query's group."""
    q = query / query.norm(dim=1, keepdim=True).clamp_min(1e-8)
    out = []
    for a, b in batched(len(q), 2048):
        sim = q[a:b] @ table.t()
        if group is not None and table_group is not None:
            sim = sim.masked_fill(table_group[None, :] != group[a:b, None], float("-inf"))
        out.append(sim.argmax(1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def decode(
    x: Tensor, schema: dict[str, Any], tensors: dict[str, Tensor], category: Tensor | None = None, nearest: bool = True
) -> dict[str, Tensor]:
    """Order vectors → customer, product (inside the generated category), values and time features.

    ``nearest=False`` skips the nearest-neighbour look-ups (lines whose product is already known).
    """
    lay, s = layout(schema["dims"]), schema["scales"]
    cat = x[:, lay["category"]].argmax(1) if category is None else category
    pcat = torch.as_tensor(schema["product_category"])
    empty = torch.zeros(len(x), dtype=torch.long)
    product = nearest_rows(x[:, lay["product"]], tensors["product_emb"], cat, pcat) if nearest else empty
    customer = nearest_rows(x[:, lay["customer"]], tensors["customer_emb"]) if nearest else empty

    def unscale(name: str) -> Tensor:
        return x[:, lay[name]][:, 0] * s[name][1] + s[name][0]

    doy = x[:, lay["doy"]]
    return {
        "customer": customer,
        "product": product,
        "category_generated": x[:, lay["category"]].argmax(1),
        "basket": x[:, lay["basket"]],
        "log_qty": unscale("log_qty"),
        "price": unscale("price"),
        "size": unscale("log_size").exp().round().clamp(1, 1000).long(),
        "doy": torch.atan2(doy[:, 0], doy[:, 1]) % (2 * math.pi) * 365.25 / (2 * math.pi),
        "tod": unscale("tod").clamp(schema["dates"]["tod_min"], schema["dates"]["tod_max"]),
        "dow": x[:, lay["dow"]].argmax(1),
    }


def snap(table: Tensor, product: Tensor, value: Tensor) -> Tensor:
    """The observed value of each product closest (in log scale) to the generated one."""
    cand = table[product]
    dist = (cand.clamp_min(1e-6).log() - value.double().clamp_min(1e-6).log()[:, None]).abs()
    dist = torch.where(torch.isnan(cand), torch.full_like(dist, float("inf")), dist)
    return cand.gather(1, dist.argmin(1, keepdim=True))[:, 0]


# ------------------------------------------------------------------ the input's format
def customer_ids(schema: dict[str, Any], cust: np.ndarray, fresh: bool) -> list[str | None]:
    """Customer id of each invoice: the real one, or a fresh one per distinct real customer (guests empty)."""
    s = schema
    if not fresh:
        return [None if c == 0 else s["customers"][c] for c in cust]
    # fresh ids, one per distinct real customer, numbered after the largest real id
    distinct = {c: i for i, c in enumerate(dict.fromkeys(int(c) for c in cust if c > 0))}
    if s.get("customer_numeric"):
        base = max(int(c) for c in s["customers"][1:]) + 1 if len(s["customers"]) > 1 else 1
        return [None if c == 0 else str(base + distinct[int(c)]) for c in cust]
    return [None if c == 0 else f"SYN{distinct[int(c)]:06d}" for c in cust]


def invoice_ids(schema: dict[str, Any], rank: np.ndarray) -> list[str]:
    """Invoice ids in the training invoices' format, numbered by ``rank`` after the largest."""
    fmt = schema["invoice_format"]
    return [f"{fmt['prefix']}{fmt['start'] + int(r):0{fmt['width']}d}" for r in rank]


def to_schema(schema: dict[str, Any], frame: dict[str, Any]) -> pl.DataFrame:
    """Synthetic lines (values by role) under the input's column names, order and dtypes."""
    cols = schema["columns"]
    roles, dtypes, fmt = cols["roles"], cols["dtypes"], cols.get("date_format")
    out = {}
    for role, name in roles.items():
        if not name:
            continue
        dtype = dtype_from_json(dtypes[name])
        values = frame[role]
        if role == "date":
            series = pl.Series(name, values.astype("datetime64[us]"))
            if dtype == pl.String:
                series = series.dt.strftime(fmt or "%Y-%m-%d %H:%M:%S")
            elif dtype == pl.Date:
                series = series.dt.date()
            else:
                series = series.cast(dtype)
        elif role in ("quantity", "price"):
            series = pl.Series(name, values).cast(dtype, strict=False)
        else:
            series = pl.Series(name, values, dtype=pl.String)
            if dtype != pl.String:
                series = series.cast(dtype, strict=False)
        out[name] = series
    for name in cols["columns"]:  # columns the app does not model keep their type, empty
        if name not in out:
            out[name] = pl.Series(name, [None] * len(frame["product"]), dtype=dtype_from_json(dtypes[name]))
    return pl.DataFrame(out).select(cols["columns"])
