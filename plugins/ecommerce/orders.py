"""Order-line tables: column detection, cleaning, categories and the co-occurrence embeddings.

An order-line table has one row per line of an invoice: invoice id, customer id, product id,
description, quantity, unit price, timestamp, country (UCI Online Retail's layout). Here it
becomes a canonical polars frame (``inv, prod, desc, qty, price, ts, cust, country, cat``) and the
embeddings eCommerceGAN builds its order vectors from:

- **products** are close when they are bought together: truncated SVD of the positive pointwise
  mutual information (PPMI) of product pairs sharing an invoice (a count-based word2vec,
  Levy & Goldberg 2014);
- **customers** are close when they buy alike: truncated SVD of the customer × product PPMI.

Both are one sparse product and one randomised SVD: seconds on the 436k-line table.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import torch

from ganapps.core.errors import ConfigError, DataError
from ganapps.core.frames import dtype_to_json
from ganapps.tabular.columns import DATETIME_FORMATS, parse_datetime_text

#: canonical role → column names recognised automatically (compared lower-case, without _ - space)
ROLES: dict[str, tuple[str, ...]] = {
    "invoice": (
        "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderid", "order", "orderno", "ordernumber",
        "transactionid", "transaction", "basketid", "basket",
    ),
    "product": (
        "stockcode", "productid", "product", "productcode", "sku", "itemid", "item", "itemcode", "articleid",
        "articlecode", "article",
    ),
    "description": ("description", "productname", "itemname", "productdescription", "name", "title"),
    "quantity": ("quantity", "qty", "units", "amount", "count"),
    "price": ("unitprice", "price", "itemprice", "unitcost", "priceeach", "priceperunit"),
    "date": (
        "invoicedate", "orderdate", "timestamp", "datetime", "date", "purchasedate", "time", "createdat",
        "orderdatetime",
    ),
    "customer": ("customerid", "customer", "userid", "user", "clientid", "client", "buyerid", "buyer"),
    "country": ("country", "region", "market"),
    "category": ("category", "productcategory", "department", "categoryname"),
}  # fmt: skip
REQUIRED = ("invoice", "product", "quantity", "price", "date")
FLAG = {"date": "--date-col"}  # every other role's flag is --<role>-col

#: description keyword rules deriving a category when the table has none (first match wins;
#: matched as whole words on the product's most frequent description, upper-cased)
CATEGORY_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fees & postage", (
        "POSTAGE", "CARRIAGE", "DOTCOM", "MANUAL", "BANK CHARGES", "AMAZON FEE", "DISCOUNT", "ADJUST", "SAMPLES",
    )),
    ("christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SNOWFLAKE", "REINDEER", "SANTA", "BAUBLE", "TREE")),
    ("lighting & candles", ("CANDLE", "T-LIGHT", "TLIGHT", "LANTERN", "LIGHT", "LIGHTS", "LAMP", "NIGHT LIGHT")),
    ("bags & storage", ("BAG", "BAGS", "BASKET", "BOX", "BOXES", "TIN", "TINS", "STORAGE", "CASE", "JAR", "HOLDER")),
    ("kitchen & dining", (
        "MUG", "MUGS", "CUP", "CUPS", "PLATE", "PLATES", "BOWL", "BOWLS", "JUG", "TEA", "CAKE", "BAKING", "LUNCH",
        "SPOON", "NAPKINS", "NAPKIN", "APRON", "BOTTLE", "GLASS", "TRAY", "CAKESTAND", "COFFEE", "PANTRY", "KITCHEN",
        "CUTLERY", "TEAPOT", "EGG", "JAM", "RECIPE",
    )),
    ("stationery & cards", (
        "CARD", "CARDS", "WRAP", "PAPER", "NOTEBOOK", "PEN", "PENS", "PENCIL", "PENCILS", "STICKER", "STICKERS",
        "ENVELOPE", "TAPE", "CALENDAR", "BOOK", "DIARY", "ERASER", "CRAYONS", "CHALK", "GIFT TAG", "TAGS",
    )),
    ("toys & games", (
        "TOY", "GAME", "GAMES", "DOLL", "PLAYHOUSE", "SPACEBOY", "DOLLY", "PUZZLE", "JIGSAW", "TEDDY", "SKITTLES",
        "DOMINOES", "BALLOON", "BALLOONS", "PARTY", "BUNTING", "KIT",
    )),
    ("jewellery & accessories", (
        "NECKLACE", "EARRINGS", "BRACELET", "RING", "HAIR", "CHARM", "PURSE", "UMBRELLA", "SCARF", "GLOVES", "HANDBAG",
        "NECKL", "EARRING", "BROOCH", "KEY RING", "KEYRING",
    )),
    ("garden & outdoor", (
        "GARDEN", "PLANT", "PLANTER", "FLOWER", "FLOWERS", "BIRD", "WATERING", "POT", "POTS", "PICNIC", "PARASOL",
        "HAMMOCK",
    )),
    ("home decor", (
        "SIGN", "FRAME", "CLOCK", "MIRROR", "CUSHION", "DOORMAT", "DOORSTOP", "HOOK", "HOOKS", "HANGER", "WALL",
        "DECORATION", "ORNAMENT", "VASE", "HEART", "BELL", "BUNNY", "CHIME", "DRAWER", "CABINET", "SHELF", "THROW",
        "BLANKET", "QUILT", "TISSUE", "TISSUES", "HOT WATER",
    )),
)  # fmt: skip
OTHER = "other"


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-\.]", "", name.lower())


def find_columns(frame: pl.DataFrame, given: Mapping[str, str | None], where: str) -> dict[str, str | None]:
    """Map each role to a column: the flag's column when given, else the first recognised name."""
    by_norm: dict[str, str] = {}
    for c in frame.columns:
        by_norm.setdefault(_norm(c), c)
    out: dict[str, str | None] = {}
    used: set[str] = set()
    for role, names in ROLES.items():
        flag = FLAG.get(role, f"--{role}-col")
        name = given.get(role)
        if name:
            if name not in frame.columns:
                raise ConfigError(
                    f"option {flag}: {where} has no column {name!r} (columns: {', '.join(frame.columns)})"
                )
            out[role] = name
        else:
            found = next((by_norm[n] for n in names if n in by_norm and by_norm[n] not in used), None)
            if found is None and role in REQUIRED:
                looked = ", ".join(names[:5])
                what = {"date": "date/timestamp"}.get(role, role)
                raise DataError(
                    f"{where}: no {what} column (looked for {looked}...; columns: {', '.join(frame.columns)}); "
                    f"name it with {flag}"
                )
            out[role] = found
        if out[role]:
            used.add(out[role])  # type: ignore[arg-type]
    return out


def parse_dates(s: pl.Series, fmt: str | None, where: str) -> tuple[pl.Series, str | None]:
    """Datetime values of the timestamp column and the text format they were read with."""
    if s.dtype == pl.Date:
        return s.cast(pl.Datetime("us")), None
    if isinstance(s.dtype, pl.Datetime):
        return s.dt.replace_time_zone(None).cast(pl.Datetime("us")), None
    if s.dtype != pl.String:
        raise DataError(f"{where}: column {s.name!r} holds {s.dtype} values, not dates or timestamps")
    text = s.str.strip_chars()
    present = text.is_not_null() & (text != "")
    if fmt is not None:
        formats: tuple[str, ...] = (fmt,)
    else:
        head = text.filter(present).head(2000)
        formats = (
            tuple(f for f in DATETIME_FORMATS if parse_datetime_text(head, f).null_count() == 0) or DATETIME_FORMATS
        )
    best_bad = None
    for f in formats:
        parsed = parse_datetime_text(text, f)
        bad = present & parsed.is_null()
        if not bad.any():
            return parsed, f
        if best_bad is None or bad.sum() < best_bad.sum():
            best_bad = bad
    assert best_bad is not None
    example = text.filter(best_bad)[0]
    hint = f"the format {fmt!r} of --date-format" if fmt else "--date-format (e.g. '%d/%m/%Y %H:%M')"
    raise DataError(
        f"{where}: column {s.name!r} has {int(best_bad.sum())} values that are not dates (e.g. {example!r}); "
        f"fix them or give {hint}"
    )


def _numbers(s: pl.Series, where: str) -> pl.Series:
    if s.dtype.is_numeric():
        return s.cast(pl.Float64)
    parsed = s.cast(pl.String).str.strip_chars().str.replace_all(",", "").cast(pl.Float64, strict=False)
    bad = s.is_not_null() & parsed.is_null()
    if bad.any():
        raise DataError(f"{where}: column {s.name!r} holds non-numbers (e.g. {s.filter(bad)[0]!r})")
    return parsed


@dataclass
class Cleaned:
    """The canonical frame of purchases and what was set aside."""

    lines: pl.DataFrame  # purchases: inv, prod, desc, qty, price, ts, cust, country (cust null = guest)
    report: dict[str, Any]


def canonical(frame: pl.DataFrame, cols: Mapping[str, str | None], date_format: str | None, where: str) -> pl.DataFrame:
    """All lines (returns included) with canonical column names and types."""
    if frame.height == 0:
        raise DataError(f"{where}: the table has no rows")
    ts, _ = parse_dates(frame[cols["date"]], date_format, where)  # type: ignore[index]

    def text(role: str) -> pl.Series:
        c = cols.get(role)
        if c is None:
            return pl.Series(role, [None] * frame.height, dtype=pl.String)
        s = frame[c]
        if s.dtype.is_float():  # CustomerID read by pandas as 17850.0
            ints = s.cast(pl.Int64, strict=False)
            if (ints.cast(pl.Float64) == s).fill_null(True).all():
                s = ints
        return s.cast(pl.String).str.strip_chars().alias(role)

    out = pl.DataFrame(
        {
            "inv": text("invoice"),
            "prod": text("product"),
            "desc": text("description"),
            "qty": _numbers(frame[cols["quantity"]], where),  # type: ignore[index]
            "price": _numbers(frame[cols["price"]], where),  # type: ignore[index]
            "ts": ts,
            "cust": text("customer"),
            "country": text("country"),
            "cat": text("category"),
        }
    )
    return out.with_columns(pl.when(pl.col("cust") == "").then(None).otherwise(pl.col("cust")).alias("cust"))


def clean(lines: pl.DataFrame, cols: Mapping[str, str | None], where: str) -> Cleaned:
    """Keep purchases; count and set aside returns/cancellations, unusable lines and guest lines."""
    n = lines.height
    cancel = pl.col("inv").str.starts_with("C") | (pl.col("qty") <= 0)
    n_cancel = lines.filter(cancel).height
    qcol = cols["quantity"]
    if n_cancel == n:
        raise DataError(
            f"{where}: column {qcol!r} has no positive quantities (all {n} lines are returns or cancellations); "
            "there are no purchases to learn from"
        )
    kept = lines.filter(~cancel)
    missing = pl.col("prod").is_null() | (pl.col("prod") == "") | pl.col("inv").is_null() | pl.col("ts").is_null()
    missing = missing | pl.col("qty").is_null() | pl.col("price").is_null()
    n_missing = kept.filter(missing).height
    kept = kept.filter(~missing)
    n_free = kept.filter(pl.col("price") <= 0).height
    kept = kept.filter(pl.col("price") > 0)
    if kept.height == 0:
        raise DataError(f"{where}: no usable purchase lines (positive quantity and price, product, invoice, date)")
    report = {
        "lines": n,
        "purchase_lines": kept.height,
        "returns_cancellations": n_cancel,
        "returns_cancellations_share": n_cancel / n,
        "cancelled_invoices": int(lines.filter(pl.col("inv").str.starts_with("C"))["inv"].n_unique()),
        "incomplete_lines_dropped": n_missing,
        "zero_price_lines_dropped": n_free,
        "guest_lines": int(kept["cust"].null_count()),
        "guest_share": float(kept["cust"].null_count() / kept.height),
        "invoices": int(kept["inv"].n_unique()),
        "customers": int(kept["cust"].drop_nulls().n_unique()),
        "products": int(kept["prod"].n_unique()),
    }
    return Cleaned(kept, report)


def derive_category(description: str | None, product: str) -> str:
    """Category of a product from its description keywords, else from its stock-code prefix."""
    if description:
        text = f" {re.sub(r'[^A-Z0-9&]+', ' ', description.upper())} "
        for name, words in CATEGORY_RULES:
            if any(f" {w} " in text for w in words):
                return name
        return OTHER
    digits = re.match(r"\d{2}", product)
    return f"code {digits.group(0)}xx" if digits else OTHER


# -------------------------------------------------------------------------------- embeddings
def _ppmi(counts: torch.Tensor, alpha: float = 0.75) -> torch.Tensor:
    """Positive PMI of a dense count matrix, with context-distribution smoothing (Levy et al. 2015)."""
    total = counts.sum()
    rows = counts.sum(1, keepdim=True)
    ctx = counts.sum(0, keepdim=True).pow(alpha)
    ctx = ctx / ctx.sum()
    pmi = torch.log((counts / total).clamp_min(1e-30) / ((rows / total) * ctx).clamp_min(1e-30))
    return torch.where(counts > 0, pmi.clamp_min(0.0), torch.zeros_like(pmi))


def _svd_embed(m: torch.Tensor, dim: int, seed: int) -> torch.Tensor:
    """Rows of ``m`` in ``dim`` dimensions: U·√S of a randomised truncated SVD, rows unit length."""
    dim = max(1, min(dim, min(m.shape) - 1)) if min(m.shape) > 1 else 1
    torch.manual_seed(seed)
    u, s, _ = torch.svd_lowrank(m, q=min(dim + 8, min(m.shape)), niter=4)
    e = u[:, :dim] * s[:dim].sqrt()
    # sign convention: the largest-magnitude entry of every component is positive (deterministic)
    sign = torch.sign(e.gather(0, e.abs().argmax(0, keepdim=True))).clamp_min(0) * 2 - 1
    e = e * sign
    return e / e.norm(dim=1, keepdim=True).clamp_min(1e-8)


def product_embeddings(inv_idx: np.ndarray, prod_idx: np.ndarray, n_prod: int, dim: int, seed: int) -> torch.Tensor:
    """Products bought together are close: SVD of the PPMI of same-invoice product pairs."""
    _, inv = np.unique(inv_idx, return_inverse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notes on sparse tensors being beta
        x = torch.sparse_coo_tensor(
            torch.from_numpy(np.stack([inv, prod_idx])), torch.ones(len(inv)), (int(inv.max()) + 1, n_prod)
        ).coalesce()
        x = torch.sparse_coo_tensor(x.indices(), torch.ones_like(x.values()), x.shape)  # binary: bought or not
        co = torch.sparse.mm(x.t(), x).to_dense()
    co.fill_diagonal_(0.0)
    emb = _svd_embed(_ppmi(co), dim, seed)
    lonely = co.sum(1) == 0  # only ever bought alone: no co-occurrence to learn from
    emb[lonely] = 0.0
    return emb


def customer_embeddings(
    cust_idx: np.ndarray, prod_idx: np.ndarray, n_cust: int, n_prod: int, dim: int, seed: int
) -> torch.Tensor:
    """Customers who buy alike are close: SVD of the customer × product PPMI."""
    counts = torch.zeros(n_cust, n_prod)
    counts.index_put_(
        (torch.as_tensor(np.array(cust_idx)), torch.as_tensor(np.array(prod_idx))),
        torch.ones(len(cust_idx)),
        accumulate=True,
    )
    return _svd_embed(_ppmi(counts), dim, seed)


def dtype_info(frame: pl.DataFrame, cols: Mapping[str, str | None]) -> dict[str, Any]:
    """Original column names, order and dtypes, to write synthetic lines in the input's schema."""
    return {
        "columns": list(frame.columns),
        "dtypes": {c: dtype_to_json(frame[c].dtype) for c in frame.columns},
        "roles": dict(cols),
    }


def circular_doy(ts: pl.Series) -> np.ndarray:
    """Day of year as an angle in radians (seasonality without a year)."""
    doy = ts.dt.ordinal_day().to_numpy().astype(np.float64) - 1.0
    return 2.0 * math.pi * doy / 365.25
