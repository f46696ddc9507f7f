"""The ``ecommerce`` app: eCommerceGAN / ec²GAN (Kumar, Biswas & Sanyal 2018) synthetic orders.

eCommerceGAN represents an order line as a dense vector — the embedding of its customer, the
embedding of its product, its price, quantity and date — and trains a Wasserstein GAN (with
gradient penalty) on these vectors. ec²GAN conditions the generator on a product and adds a
reconstruction term so that the generated order is an order *of that product*.

Order vector of one line (every part standardised to unit scale)::

    [ customer emb (d_c) | product emb (d_p) | basket emb (d_p) | log qty | price vs product's |
      log basket size | day-of-year sin, cos | time of day | day of week (7, softmax) | category (K, softmax) ]

The basket embedding is the mean of the invoice's product embeddings; with the basket size it
lets one generated line seed a whole multi-line invoice (see :meth:`ECommerceGAN.generate`).

Generator condition: ``[product emb · 1(product mode) | category one-hot · 1(product or category
mode) | mode bits]``; during training each row draws a mode (none, product, category) so one
generator serves eCommerceGAN (no condition) and ec²GAN (product or category condition).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from ganapps.core import losses as L
from ganapps.core.app import App, Evaluation, OptimizerSpec
from ganapps.core.data import TensorData, batched, split_indices
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.io import read_table
from ganapps.core.nn import mlp
from ganapps.core.regularizers import gradient_penalty
from ganapps.core.tabular.frames import as_polars, dtype_from_json
from ganapps.plugins.ecommerce import orders as O

GUEST = "<guest>"
TOP_VALUES = 16  # observed prices / quantities kept per product for snapping
SIZE_REFERENCE = 20_000  # unconditional draws behind the basket-size calibration


@dataclass
class ECommerceOptions:
    invoice_col: str | None = field(
        default=None, metadata={"help": "Invoice/order id column (auto: InvoiceNo, order_id...)."}
    )
    product_col: str | None = field(
        default=None, metadata={"help": "Product id column (auto: StockCode, product_id, sku...)."}
    )
    description_col: str | None = field(
        default=None, metadata={"help": "Product description column (auto: Description...)."}
    )
    quantity_col: str | None = field(default=None, metadata={"help": "Quantity column (auto: Quantity, qty...)."})
    price_col: str | None = field(default=None, metadata={"help": "Unit price column (auto: UnitPrice, price...)."})
    date_col: str | None = field(
        default=None, metadata={"help": "Timestamp column (auto: InvoiceDate, timestamp, date...)."}
    )
    customer_col: str | None = field(
        default=None, metadata={"help": "Customer id column (auto: CustomerID, customer_id...)."}
    )
    country_col: str | None = field(default=None, metadata={"help": "Country column (auto: Country...)."})
    category_col: str | None = field(
        default=None, metadata={"help": "Product category column; derived from descriptions when absent."}
    )
    date_format: str | None = field(
        default=None, metadata={"help": "strftime format of text timestamps (auto-detected)."}
    )
    product_dim: int = field(default=32, metadata={"help": "Product embedding size (SVD of co-purchase PPMI)."})
    customer_dim: int = field(
        default=16, metadata={"help": "Customer embedding size (SVD of customer x product PPMI)."}
    )
    nz: int = field(default=64, metadata={"help": "Noise size."})
    hidden: int = field(default=256, metadata={"help": "Hidden units of generator and critic (two layers each)."})
    gp_weight: float = field(default=10.0, metadata={"help": "WGAN-GP gradient-penalty weight."})
    rec_weight: float = field(default=1.0, metadata={"help": "ec2GAN reconstruction weight (condition consistency)."})
    size_calibration: bool = field(
        default=True,
        metadata={"help": "Map generated basket sizes onto the training distribution, keeping their order."},
    )
    basket_temperature: float = field(
        default=0.0,
        metadata={"help": "Softmax temperature of basket completion; 0 calibrates it on the training baskets."},
    )
    synthetic_customers: bool = field(
        default=False, metadata={"help": "Replace customer ids by fresh synthetic ids in generated orders."}
    )


@dataclass
class ECommerceGenerateOptions:
    start: str | None = field(default=None, metadata={"help": "First day of generated orders (YYYY-MM-DD)."})
    end: str | None = field(default=None, metadata={"help": "Last day of generated orders (YYYY-MM-DD)."})
    synthetic_customers: bool | None = field(
        default=None, metadata={"help": "Fresh customer ids (overrides the run's setting)."}
    )


class ECommerceGAN(App):
    name = "ecommerce"
    kind = "tabular"
    description = "eCommerceGAN / ec2GAN: synthetic order lines and invoices from learned customer/product embeddings (Kumar et al. 2018)"
    Options = ECommerceOptions
    GenerateOptions = ECommerceGenerateOptions
    train_defaults = {"epochs": 60, "batch_size": 256, "n_critic": 2}
    default_dataset = "online-retail-sample"
    monitor = ("basket_size_ks", "min")

    # ======================================================================== data
    def load_data(self, source: Any) -> pl.DataFrame:
        where = str(source) if isinstance(source, str | Path) else "data"
        frame = read_table(source) if isinstance(source, str | Path) else as_polars(source, where)
        o = self.options
        given = {
            "invoice": o.invoice_col, "product": o.product_col, "description": o.description_col,
            "quantity": o.quantity_col, "price": o.price_col, "date": o.date_col, "customer": o.customer_col,
            "country": o.country_col, "category": o.category_col,
        }  # fmt: skip
        self._cols = O.find_columns(frame, given, where)
        self._where = where
        self._dtypes = O.dtype_info(frame, self._cols)
        canon = O.canonical(frame, self._cols, o.date_format, where)
        O.clean(canon, self._cols, where)  # refuse tables without purchases now, before splitting
        return frame

    def _canon(self, frame: Any, where: str = "data") -> pl.DataFrame:
        frame = as_polars(frame, where)
        cols = self.schema.get("columns", {}).get("roles") or self._cols
        return O.canonical(frame, cols, self.options.date_format, where)

    def split(self, data: pl.DataFrame, holdout: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Whole invoices go to one side: random invoices are held out."""
        inv = data[self._cols["invoice"]].cast(pl.String)  # type: ignore[index]
        uniq = inv.unique().sort()
        tr, ho = split_indices(len(uniq), holdout, seed)
        held = set(uniq.gather(ho.tolist()).to_list()) if len(ho) else set()
        mask = inv.is_in(list(held))
        return data.filter(~mask), data.filter(mask)

    def fit(self, train: pl.DataFrame) -> None:
        """Vocabularies, categories, the two embeddings, value tables and feature scales."""
        o, seed = self.options, self.train_config.seed
        cleaned = O.clean(self._canon(train, self._where), self._cols, self._where)
        lines = cleaned.lines
        # products by frequency (ties by id)
        pstats = (
            lines.group_by("prod")
            .agg(pl.len().alias("n"), pl.col("desc").drop_nulls().mode().first().alias("desc"),
                 pl.col("cat").drop_nulls().mode().first().alias("cat"))
            .sort(["n", "prod"], descending=[True, False])
        )  # fmt: skip
        products = pstats["prod"].to_list()
        descs = pstats["desc"].to_list()
        if self._cols.get("category"):
            pcat = [c if c else O.OTHER for c in pstats["cat"].to_list()]
            cat_source = f"column {self._cols['category']!r}"
        else:
            pcat = [O.derive_category(d, p) for d, p in zip(descs, products, strict=True)]
            cat_source = "description keywords" if self._cols.get("description") else "product-code prefixes"
        categories = sorted(set(pcat))
        cat_of = np.array([categories.index(c) for c in pcat], dtype=np.int64)
        pindex = {p: i for i, p in enumerate(products)}
        # customers by frequency, the guest (missing id) first
        cstats = (
            lines.filter(pl.col("cust").is_not_null())
            .group_by("cust")
            .agg(pl.len().alias("n"), pl.col("country").drop_nulls().mode().first().alias("country"))
            .sort(["n", "cust"], descending=[True, False])
        )
        customers = [GUEST, *cstats["cust"].to_list()]
        ccountry = [None, *cstats["country"].to_list()]
        cindex = {c: i for i, c in enumerate(customers)}
        guest_countries = (
            lines.filter(pl.col("cust").is_null() & pl.col("country").is_not_null())
            .group_by("country").agg(pl.len().alias("n")).sort(["n", "country"], descending=[True, False])
        )  # fmt: skip
        p_idx = lines["prod"].replace_strict(pindex, return_dtype=pl.Int64).to_numpy().copy()
        c_idx = lines["cust"].fill_null(GUEST).replace_strict(cindex, return_dtype=pl.Int64).to_numpy().copy()
        inv_codes = lines["inv"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
        pe = O.product_embeddings(inv_codes, p_idx, len(products), o.product_dim, seed)
        ce = O.customer_embeddings(c_idx, p_idx, len(customers), len(products), o.customer_dim, seed)
        # products bought only alone sit at their category's centroid
        lonely = pe.norm(dim=1) == 0
        for k in range(len(categories)):
            members = _t(cat_of == k)
            centre = pe[members & ~lonely].mean(0) if (members & ~lonely).any() else torch.zeros(pe.shape[1])
            pe[members & lonely] = centre / centre.norm().clamp_min(1e-8)
        counts = _t(np.bincount(p_idx, minlength=len(products))).float()
        prices, quantities, ref = self._value_tables(lines, pindex, len(products))
        ts = lines["ts"]
        tod = (ts.dt.hour().cast(pl.Float64) + ts.dt.minute().cast(pl.Float64) / 60).to_numpy()
        self.schema = {
            "columns": {**self._dtypes, "date_format": self._date_format(train)},
            "cleaning": cleaned.report,
            "products": products,
            "descriptions": descs,
            "product_category": cat_of.tolist(),
            "categories": categories,
            "category_source": cat_source,
            "customers": customers,
            "customer_country": ccountry,
            "guest_countries": guest_countries["country"].to_list(),
            "dims": {"customer": int(ce.shape[1]), "product": int(pe.shape[1]), "categories": len(categories)},
            "dates": {"first": str(ts.min().date()), "last": str(ts.max().date()),  # type: ignore[union-attr]
                      "open_days": sorted(ts.dt.date().cast(pl.String).unique().to_list()),
                      "tod_min": float(tod.min()), "tod_max": float(tod.max())},
            "invoice_format": _invoice_format(lines["inv"]),
            "customer_numeric": bool(cstats["cust"].str.contains(r"^\d+$").all()) if cstats.height else False,
        }  # fmt: skip
        self.tensors = {
            "product_emb": pe.float(),
            "customer_emb": ce.float(),
            "product_counts": counts,
            "product_ref_price": ref,
            "product_prices": prices,
            "product_quantities": quantities,
            "guest_country_counts": torch.tensor(guest_countries["n"].to_list() or [0], dtype=torch.float32),
        }
        inv_sizes = lines.group_by("inv").len().group_by("len").agg(pl.len().alias("n")).sort("len")
        self.schema["basket_sizes"] = {"size": inv_sizes["len"].to_list(), "invoices": inv_sizes["n"].to_list()}
        feats = self._line_features(lines, p_idx, c_idx)
        self.schema["scales"] = {k: [float(v[0]), float(v[1])] for k, v in feats["scales"].items()}
        tau = o.basket_temperature or self._calibrate_temperature(lines, p_idx, seed)
        self.schema["basket_temperature"] = float(tau)
        self._lines, self._p_idx, self._c_idx = lines, p_idx, c_idx

    def _date_format(self, train: pl.DataFrame) -> str | None:
        col = train[self._cols["date"]]  # type: ignore[index]
        return O.parse_dates(col, self.options.date_format, self._where)[1] if col.dtype == pl.String else None

    @staticmethod
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

    # ---------------------------------------------------------------- order vectors
    @property
    def layout(self) -> dict[str, slice]:
        d = self.schema["dims"]
        parts = [("customer", d["customer"]), ("product", d["product"]), ("basket", d["product"]), ("log_qty", 1),
                 ("price", 1), ("log_size", 1), ("doy", 2), ("tod", 1), ("dow", 7), ("category", d["categories"])]  # fmt: skip
        out, at = {}, 0
        for name, width in parts:
            out[name] = slice(at, at + width)
            at += width
        return out

    @property
    def width(self) -> int:
        return self.layout["category"].stop

    @property
    def cond_width(self) -> int:
        d = self.schema["dims"]
        return d["product"] + d["categories"] + 2

    def _line_features(self, lines: pl.DataFrame, p_idx: np.ndarray, c_idx: np.ndarray) -> dict[str, Any]:
        """Raw per-line features and their standardisation (fitted on the training lines)."""
        pe, ce = self.tensors["product_emb"], self.tensors["customer_emb"]
        p = _t(p_idx)
        inv = _t(lines["inv"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64))
        _, inv = torch.unique(inv, return_inverse=True)
        sums = torch.zeros(int(inv.max()) + 1, pe.shape[1]).index_add_(0, inv, pe[p])
        size = torch.bincount(inv).float()
        basket = sums[inv]
        basket = basket / basket.norm(dim=1, keepdim=True).clamp_min(1e-8)
        ts = lines["ts"]
        raw = {
            "log_qty": _t(np.log(lines["qty"].to_numpy())).float(),
            "price": torch.log(_t(lines["price"].to_numpy()) / self.tensors["product_ref_price"][p]).float(),
            "log_size": torch.log(size[inv]),
            "tod": _t((ts.dt.hour().cast(pl.Float64) + ts.dt.minute().cast(pl.Float64) / 60).to_numpy()).float(),
        }
        scales = self.schema.get("scales") or {
            k: (float(v.mean()), float(v.std().clamp_min(1e-3))) for k, v in raw.items()
        }
        angle = _t(O.circular_doy(ts)).float()
        dow = _t(ts.dt.weekday().to_numpy().astype(np.int64) - 1)
        return {
            "customer": ce[_t(c_idx)] * math.sqrt(ce.shape[1]),
            "product": pe[p] * math.sqrt(pe.shape[1]),
            "basket": basket * math.sqrt(pe.shape[1]),
            **{k: ((v - scales[k][0]) / scales[k][1]).clamp(-5, 5)[:, None] for k, v in raw.items()},
            "doy": torch.stack([angle.sin(), angle.cos()], 1),
            "dow": F.one_hot(dow, 7).float(),
            "category": F.one_hot(
                _t(np.asarray(self.schema["product_category"]))[p], self.schema["dims"]["categories"]
            ).float(),
            "scales": scales,
        }

    def dataset(self, train: pl.DataFrame) -> TensorData:
        if not hasattr(self, "_lines"):
            self.fit(train)
        f = self._line_features(self._lines, self._p_idx, self._c_idx)
        x = torch.cat([f[k] for k in self.layout], 1).float()
        p = _t(self._p_idx)
        cat = torch.as_tensor(self.schema["product_category"])[p]
        return TensorData(x, p, cat)

    def _calibrate_temperature(self, lines: pl.DataFrame, p_idx: np.ndarray, seed: int) -> float:
        """The basket-completion temperature whose sampled baskets are as tight as the real ones.

        Real: mean cosine of each product to its basket's other products (leave-one-out centre).
        Sampled: mean cosine of products drawn by :meth:`_complete` to the same centres.
        """
        pe = self.tensors["product_emb"]
        inv = _t(lines["inv"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64))
        _, inv = torch.unique(inv, return_inverse=True)
        size = torch.bincount(inv)
        g = torch.Generator().manual_seed(seed)
        multi = torch.nonzero(size >= 2).flatten()
        if len(multi) == 0:
            return 0.1
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
            chosen, valid = self._complete(centres, k, torch.full((len(pick),), -1), tau, generator=g)
            cos = (pe[chosen.clamp_min(0)] * centres[:, None, :]).sum(-1)
            sampled = float(cos[valid].mean())
            if abs(sampled - real) < gap:
                best, gap = tau, abs(sampled - real)
        self.schema["basket_cosine_real"] = real
        return best

    # ===================================================================== networks
    def build(self) -> dict[str, torch.nn.Module]:
        o = self.options
        return {
            "generator": mlp([o.nz + self.cond_width, o.hidden, o.hidden, self.width], norm="batch"),
            "discriminator": mlp([self.width, o.hidden, o.hidden, 1], activation="leaky_relu"),
        }

    def configure_optimizers(self) -> list[OptimizerSpec]:
        return [
            OptimizerSpec("discriminator", ("discriminator",), lr=2e-4, betas=(0.5, 0.9)),
            OptimizerSpec("generator", ("generator",), lr=2e-4, betas=(0.5, 0.9)),
        ]

    def condition_vector(self, product: Tensor, category: Tensor, mode: Tensor) -> Tensor:
        """ec²GAN's condition: product embedding (mode 1), category one-hot (modes 1, 2), mode bits."""
        pe = self.tensors["product_emb"].to(self.device)
        K = self.schema["dims"]["categories"]
        has_p = (mode == 1).float()[:, None]
        has_c = (mode >= 1).float()[:, None]
        return torch.cat(
            [pe[product] * math.sqrt(pe.shape[1]) * has_p, F.one_hot(category, K).float() * has_c,
             has_p, (mode == 2).float()[:, None]], 1
        )  # fmt: skip

    def activate(self, raw: Tensor, tau: float | None = 0.2) -> Tensor:
        """Softmax spans (day of week, category) through a Gumbel-softmax while training, softmax after."""
        lay = self.layout
        out = raw.clone()
        for name in ("dow", "category"):
            logits = raw[:, lay[name]]
            out[:, lay[name]] = F.gumbel_softmax(logits, tau=tau) if tau else logits.softmax(1)
        return out

    def _fake(self, product: Tensor, category: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Generated order vectors for a batch whose rows each drew a mode: none, product, category."""
        n = len(product)
        mode = torch.randint(0, 3, (n,), device=self.device)
        cond = self.condition_vector(product, category, mode)
        raw = self.nets.generator(torch.cat([torch.randn(n, self.options.nz, device=self.device), cond], 1))
        return raw, self.activate(raw), mode

    def discriminator_step(self, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
        real, product, category = batch
        _, fake, _ = self._fake(product, category)  # conditions drawn from the real lines' products
        fake = fake.detach()
        d_real, d_fake = self.nets.discriminator(real), self.nets.discriminator(fake)
        gp = gradient_penalty(self.nets.discriminator, real, fake)
        return {
            "loss": L.d_wgan(d_real, d_fake) + self.options.gp_weight * gp,
            "wasserstein": d_real.mean() - d_fake.mean(),
            "gp": gp,
        }

    def generator_step(self, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
        _, product, category = batch
        raw, fake, mode = self._fake(product, category)
        adv = L.g_wgan(self.nets.discriminator(fake))
        # ec²GAN reconstruction: the generated order must be an order of the conditioned product/category
        lay, pe = self.layout, self.tensors["product_emb"].to(self.device)
        has_p, has_c = (mode == 1).float(), (mode >= 1).float()
        target = pe[product] * math.sqrt(pe.shape[1])
        rec_p = ((fake[:, lay["product"]] - target) ** 2).mean(1)
        rec_c = F.cross_entropy(raw[:, lay["category"]], category, reduction="none")
        rec = (rec_p * has_p).sum() / has_p.sum().clamp_min(1) + (rec_c * has_c).sum() / has_c.sum().clamp_min(1)
        return {"loss": adv + self.options.rec_weight * rec, "reconstruction": rec}

    # ======================================================================= decoding
    def _generate_vectors(self, product: Tensor, category: Tensor, mode: Tensor) -> Tensor:
        G = self.nets.generator
        was = G.training
        G.eval()
        out = []
        with torch.no_grad():
            for a, b in batched(len(product), 4096):
                cond = self.condition_vector(
                    product[a:b].to(self.device), category[a:b].to(self.device), mode[a:b].to(self.device)
                )
                z = torch.randn(b - a, self.options.nz, device=self.device)
                out.append(self.activate(G(torch.cat([z, cond], 1)), tau=None).float().cpu())
        G.train(was)
        return torch.cat(out) if out else torch.zeros(0, self.width)

    def _nearest(
        self, query: Tensor, table: Tensor, group: Tensor | None = None, table_group: Tensor | None = None
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

    def decode(self, x: Tensor, category: Tensor | None = None, nearest: bool = True) -> dict[str, Tensor]:
        """Order vectors → customer, product (inside the generated category), values and time features.

        ``nearest=False`` skips the nearest-neighbour look-ups (lines whose product is already known).
        """
        lay, s = self.layout, self.schema["scales"]
        cat = x[:, lay["category"]].argmax(1) if category is None else category
        pcat = torch.as_tensor(self.schema["product_category"])
        empty = torch.zeros(len(x), dtype=torch.long)
        product = self._nearest(x[:, lay["product"]], self.tensors["product_emb"], cat, pcat) if nearest else empty
        customer = self._nearest(x[:, lay["customer"]], self.tensors["customer_emb"]) if nearest else empty

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
            "tod": unscale("tod").clamp(self.schema["dates"]["tod_min"], self.schema["dates"]["tod_max"]),
            "dow": x[:, lay["dow"]].argmax(1),
        }

    def _complete(
        self, centres: Tensor, k: Tensor, seed_product: Tensor, tau: float, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """The other products of each basket: ``k − 1`` distinct products drawn without replacement
        (Gumbel top-k) with probability ∝ popularity · exp(cos(product, basket embedding) / τ)."""
        pe = self.tensors["product_emb"]
        logpop = self.tensors["product_counts"].clamp_min(1).log()
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

    def _snap(self, table: Tensor, product: Tensor, value: Tensor) -> Tensor:
        """The observed value of each product closest (in log scale) to the generated one."""
        cand = table[product]
        dist = (cand.clamp_min(1e-6).log() - value.double().clamp_min(1e-6).log()[:, None]).abs()
        dist = torch.where(torch.isnan(cand), torch.full_like(dist, float("inf")), dist)
        return cand.gather(1, dist.argmin(1, keepdim=True))[:, 0]

    # ===================================================================== generation
    def _resolve_condition(self, condition: Mapping[str, Any] | None) -> tuple[str | None, int | None]:
        if not condition:
            return None, None
        if len(condition) > 1:
            raise ConfigError("--condition: give one condition, product=ID or category=NAME")
        ((key, value),) = condition.items()
        roles = self.schema["columns"]["roles"]
        value = str(value)
        if key in ("product", roles.get("product")):
            products = self.schema["products"]
            if value not in products:
                raise ConfigError(
                    f"--condition product={value}: not in the training catalogue ({len(products)} products, "
                    f"e.g. {', '.join(products[:3])})"
                )
            return "product", products.index(value)
        if key in ("category", roles.get("category") or "category"):
            cats = self.schema["categories"]
            if value not in cats:
                raise ConfigError(f"--condition category={value!r}: unknown category (known: {', '.join(cats)})")
            return "category", cats.index(value)
        raise ConfigError(f"--condition: {self.name} knows 'product' and 'category', not {key!r}")

    def _window(self, start: str | None, end: str | None) -> np.ndarray:
        d = self.schema["dates"]
        if start is None and end is None:  # the days the shop took orders in training
            return np.array(d["open_days"], dtype="datetime64[D]")
        try:
            first = np.datetime64(start or d["first"], "D")
            last = np.datetime64(end or d["last"], "D")
        except ValueError:
            raise ConfigError(f"options --start/--end: {start or end!r} is not a date (YYYY-MM-DD)") from None
        if last < first:
            raise ConfigError(f"option --end {last} is before --start {first}")
        return np.arange(first, last + np.timedelta64(1, "D"), dtype="datetime64[D]")

    def generate(
        self,
        n: int,
        condition: Mapping[str, Any] | None = None,
        start: str | None = None,
        end: str | None = None,
        synthetic_customers: bool | None = None,
        **_: Any,
    ) -> pl.DataFrame:
        """``n`` order lines grouped into invoices, in the training table's columns and dtypes.

        1. Seed lines come from the generator (conditioned on the product/category if asked). A line
           carries its invoice's size k (quantile-mapped onto the training sizes, see
           :meth:`_calibrated_size`, unless ``size_calibration`` is off); an invoice is kept with
           probability 1/k, which turns the line-weighted seeds into invoice-weighted ones, and only
           if its season and weekday fit a date of the window (``--start/--end``, default the
           training period).
        2. Each kept seed becomes an invoice: its customer, date, time and country, its product, and
           k − 1 further products drawn around its basket embedding (:meth:`_complete`).
        3. Every line's quantity and price come from the generator conditioned on its product
           (ec²GAN), snapped to that product's observed values.
        """
        kind, target = self._resolve_condition(condition)
        window = self._window(start, end)
        g = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,))))
        pcat = torch.as_tensor(self.schema["product_category"])
        counts = self.tensors["product_counts"]
        seeds: list[dict[str, Any]] = []
        total, rounds = 0, 0
        batch = min(max(2048, n + n // 2), 200_000)
        size_map = self._size_map() if self.options.size_calibration else None
        while total < n:
            rounds += 1
            if rounds > 60:
                raise DataError(
                    f"generate: could not place {n} lines in {window[0]}..{window[-1]} "
                    "(the model saw almost no orders in that season); widen --start/--end"
                )
            if kind == "product":
                product = torch.full((batch,), int(target))  # type: ignore[arg-type]
                mode = torch.ones(batch, dtype=torch.long)
            elif kind == "category":
                product = torch.zeros(batch, dtype=torch.long)
                mode = torch.full((batch,), 2, dtype=torch.long)
            else:
                product = torch.multinomial(counts, batch, replacement=True, generator=g)
                mode = torch.zeros(batch, dtype=torch.long)
            category = torch.full((batch,), int(target)) if kind == "category" else pcat[product]
            x = self._generate_vectors(product, category, mode)
            fixed_cat = torch.full((batch,), int(target)) if kind == "category" else None
            if kind == "product":
                fixed_cat = pcat[product]
            dec = self.decode(x, fixed_cat)
            if size_map is not None:
                dec["size"] = self._calibrated_size(x[:, self.layout["log_size"]][:, 0], size_map)
            dec["decoded_product"] = dec["product"].clone()
            if kind == "product":
                dec["product"] = product
            keep = torch.rand(batch, generator=g) < 1.0 / dec["size"].float()
            day = self._place_dates(dec["doy"].numpy(), dec["dow"].numpy(), window)
            keep &= _t(day >= 0)
            idx = torch.nonzero(keep).flatten()
            part = {k: v[idx] for k, v in dec.items()}
            part["day"] = _t(day)[idx]
            sizes = part["size"]
            cum = torch.cumsum(sizes, 0)
            need = int((cum < (n - total)).sum()) + 1
            part = {k: v[:need] for k, v in part.items()}
            seeds.append(part)
            total += int(part["size"].sum())
        seed = {k: torch.cat([s[k] for s in seeds]) for k in seeds[0]}
        self.last_generation = {
            "condition": kind,
            "target": target,
            "seed_products_decoded": seed["decoded_product"],
            "seed_categories_generated": seed["category_generated"],
        }
        return self._assemble(seed, n, g, window, synthetic_customers)

    def _size_map(self) -> tuple[Tensor, Tensor, Tensor] | None:
        """What the basket-size calibration needs: the generator's log sizes on unconditional draws
        (sorted), and the training basket sizes with their line-weighted CDF (a line carries its
        invoice's size, so a size-k invoice counts k times, as in the training vectors)."""
        b = self.schema.get("basket_sizes")
        if not b:
            return None  # a bundle saved before the calibration existed
        pcat = torch.as_tensor(self.schema["product_category"])
        n = SIZE_REFERENCE
        with torch.random.fork_rng(devices=[self.device.index or 0] if self.device.type == "cuda" else []):
            torch.manual_seed(self.train_config.seed)  # the same reference draws on every call
            product = torch.multinomial(self.tensors["product_counts"], n, replacement=True)
            x = self._generate_vectors(product, pcat[product], torch.zeros(n, dtype=torch.long))
        ref = x[:, self.layout["log_size"]][:, 0].sort().values
        size = torch.as_tensor(b["size"], dtype=torch.float64)
        lines = size * torch.as_tensor(b["invoices"], dtype=torch.float64)
        return ref, size, lines.cumsum(0) / lines.sum()

    @staticmethod
    def _calibrated_size(raw: Tensor, size_map: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """Quantile mapping of the generated (standardised) log basket size: the value at rank u
        among the unconditional reference draws becomes the training size at line-weighted quantile
        u. The map is monotone, so what a size goes with (customer, basket, season) is kept, and the
        sizes' distribution is the training one — the raw generator shifts it (about ×2 at the median
        after 40 epochs on 50k Online Retail lines, and almost no 1–2-line baskets)."""
        ref, size, cdf = size_map
        u = (torch.searchsorted(ref, raw.contiguous()).double() + 0.5) / (len(ref) + 1)
        return size[torch.searchsorted(cdf, u).clamp(max=len(size) - 1)].long()

    def _place_dates(self, doy: np.ndarray, dow: np.ndarray, window: np.ndarray) -> np.ndarray:
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

    def _assemble(
        self, seed: dict[str, Tensor], n: int, g: torch.Generator, window: np.ndarray, synthetic_customers: bool | None
    ) -> pl.DataFrame:
        s = self.schema
        tau = float(s["basket_temperature"])
        others, valid = self._complete(seed["basket"], seed["size"], seed["product"], tau, generator=g)
        n_inv = len(seed["product"])
        inv_of = torch.cat([torch.arange(n_inv), torch.arange(n_inv)[:, None].expand_as(others)[valid]])
        product = torch.cat([seed["product"], others[valid]])
        order = torch.argsort(inv_of, stable=True)
        inv_of, product = inv_of[order][:n], product[order][:n]
        # quantity and price of every line: the generator conditioned on the line's product
        pcat = torch.as_tensor(s["product_category"])
        lines = self.decode(
            self._generate_vectors(product, pcat[product], torch.ones(len(product), dtype=torch.long)), nearest=False
        )
        ref = self.tensors["product_ref_price"][product]
        price = self._snap(self.tensors["product_prices"], product, ref * lines["price"].exp())
        qty = self._snap(self.tensors["product_quantities"], product, lines["log_qty"].exp().round().clamp_min(1))
        # invoice-level fields from the seed
        day = window[seed["day"].numpy()][inv_of.numpy()]
        minutes = (seed["tod"] * 60).round().long().numpy()[inv_of.numpy()]
        ts = day.astype("datetime64[m]") + minutes.astype("timedelta64[m]")
        cust = seed["customer"].numpy()
        ccountry = s["customer_country"]
        gc = self.tensors["guest_country_counts"]
        guest_country = torch.multinomial(gc.clamp_min(1e-9), n_inv, replacement=True, generator=g).numpy()
        gnames = s["guest_countries"] or [None]
        countries = [ccountry[c] if c > 0 else gnames[guest_country[i] % len(gnames)] for i, c in enumerate(cust)]
        use_fresh = self.options.synthetic_customers if synthetic_customers is None else synthetic_customers
        cust_ids = self._customer_ids(cust, use_fresh)
        # invoice numbers in time order
        first_ts = np.full(n_inv, np.datetime64("9999-01-01T00:00", "m"))
        np.minimum.at(first_ts, inv_of.numpy(), ts)
        rank = np.empty(n_inv, dtype=np.int64)
        rank[np.argsort(first_ts, kind="stable")] = np.arange(n_inv)
        inv_ids = self._invoice_ids(rank)
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
        out = self._to_schema(frame)
        sort_key = np.lexsort((np.arange(len(iv)), rank[iv]))
        return out[sort_key.tolist()]

    def _customer_ids(self, cust: np.ndarray, fresh: bool) -> list[str | None]:
        s = self.schema
        if not fresh:
            return [None if c == 0 else s["customers"][c] for c in cust]
        # fresh ids, one per distinct real customer, numbered after the largest real id
        distinct = {c: i for i, c in enumerate(dict.fromkeys(int(c) for c in cust if c > 0))}
        if s.get("customer_numeric"):
            base = max(int(c) for c in s["customers"][1:]) + 1 if len(s["customers"]) > 1 else 1
            return [None if c == 0 else str(base + distinct[int(c)]) for c in cust]
        return [None if c == 0 else f"SYN{distinct[int(c)]:06d}" for c in cust]

    def _invoice_ids(self, rank: np.ndarray) -> list[str]:
        fmt = self.schema["invoice_format"]
        return [f"{fmt['prefix']}{fmt['start'] + int(r):0{fmt['width']}d}" for r in rank]

    def _to_schema(self, frame: dict[str, Any]) -> pl.DataFrame:
        """Synthetic lines under the input's column names, order and dtypes."""
        cols = self.schema["columns"]
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

    # ===================================================================== evaluation
    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        return max(n_holdout, 1000)

    def load_samples(self, path: Path) -> pl.DataFrame:
        return read_table(
            path,
            schema_overrides={
                c: pl.String for c, d in self.schema["columns"]["dtypes"].items() if d["name"] == "String"
            },
        )

    def evaluate(self, real: Any, synthetic: Any, train: Any = None) -> Evaluation:
        from ganapps.plugins.ecommerce.metrics import evaluate_orders

        return evaluate_orders(self, real, synthetic, train)

    def sample_vectors(self, samples: Any) -> Tensor | None:
        return None  # diversity is judged on baskets and customers in evaluate()


def _invoice_format(inv: pl.Series) -> dict[str, Any]:
    """How invoice ids look (``536365`` → numbers continuing after the largest, else ``SYN000001``)."""
    m = inv.str.extract_groups(r"^([A-Za-z]*)(\d+)$")
    prefix, digits = m.struct.field("1"), m.struct.field("2")
    if digits.null_count() == 0 and len(digits):
        top = prefix.mode().sort()[0]
        nums = digits.filter(prefix == top).cast(pl.Int64)
        width = int(digits.str.len_chars().min() or 1)
        return {"prefix": top, "start": int(nums.max()) + 1, "width": width}  # type: ignore[arg-type]
    return {"prefix": "SYN", "start": 1, "width": 6}


def _t(a: Any) -> Tensor:
    """A writable copy of a NumPy array (polars hands out read-only views) as a tensor."""
    return torch.from_numpy(np.array(a))
