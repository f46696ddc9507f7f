"""The ``ecommerce`` app: eCommerceGAN / ec²GAN (Kumar, Biswas & Sanyal 2018) synthetic orders.

Order lines become dense order vectors (customer, product and basket embeddings, price, quantity,
date features: :mod:`.data`, from the canonical lines of :mod:`.orders`); a conditional WGAN-GP
learns them (:mod:`.model`, the objective); generated vectors become multi-line invoices in the
input's columns (:mod:`.invoices`); :mod:`.metrics` judges the orders. This module is the glue.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import torch
from torch import Tensor

from ganapps.core.app import App, Evaluation, OptimizerSpec
from ganapps.core.data import TensorData, split_indices
from ganapps.core.io import read_table
from ganapps.plugins.ecommerce import data as D
from ganapps.plugins.ecommerce import invoices, model
from ganapps.plugins.ecommerce import metrics as M
from ganapps.plugins.ecommerce import orders as O
from ganapps.plugins.ecommerce.meanings import meanings


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
    metric_meanings = meanings()
    monitor = ("basket_size_ks", "min")

    # ------------------------------------------------------------------ data
    def load_data(self, source: Any) -> pl.DataFrame:
        where = self.data_name(source)
        frame = read_table(source, where)
        o = self.options
        given = {role: getattr(o, f"{role}_col") for role in O.ROLES}  # --invoice-col, --product-col...
        self._cols = O.find_columns(frame, given, where)
        self._dtypes = O.dtype_info(frame, self._cols)
        canon = O.canonical(frame, self._cols, o.date_format, where)
        O.clean(canon, self._cols, where)  # refuse tables without purchases now, before splitting
        return frame

    def split(self, data: pl.DataFrame, holdout: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Whole invoices go to one side: random invoices are held out."""
        inv = data[self._cols["invoice"]].cast(pl.String)  # type: ignore[index]
        uniq = inv.unique().sort()
        tr, ho = split_indices(len(uniq), holdout, seed)
        held = set(uniq.gather(ho.tolist()).to_list()) if len(ho) else set()
        mask = inv.is_in(list(held))
        return data.filter(~mask), data.filter(mask)

    def fit(self, train: pl.DataFrame) -> None:
        """Vocabularies, categories, the two embeddings, value tables, feature scales (:func:`.data.fit`)
        and the basket-completion temperature."""
        o, seed = self.options, self.train_config.seed
        cols = self.schema.get("columns", {}).get("roles") or self._cols
        where = self.data_name()
        canon = O.canonical(read_table(train, where), cols, o.date_format, where)
        cleaned = O.clean(canon, self._cols, where)
        date = train[self._cols["date"]]  # type: ignore[index]
        date_format = O.parse_dates(date, o.date_format, where)[1] if date.dtype == pl.String else None
        columns = {**self._dtypes, "date_format": date_format}
        self.schema, self.tensors, p_idx, c_idx = D.fit(
            cleaned, self._cols, columns, (o.product_dim, o.customer_dim), seed
        )
        tau = o.basket_temperature
        if not tau:
            tau, real = invoices.calibrate_temperature(cleaned.lines, p_idx, self.tensors, seed)
            if real is not None:
                self.schema["basket_cosine_real"] = real
        self.schema["basket_temperature"] = float(tau)
        self._lines, self._p_idx, self._c_idx = cleaned.lines, p_idx, c_idx

    @property
    def layout(self) -> dict[str, slice]:
        return D.layout(self.schema["dims"])

    def dataset(self, train: pl.DataFrame) -> TensorData:
        if not hasattr(self, "_lines"):
            self.fit(train)
        return D.training_set(self._lines, self._p_idx, self._c_idx, self.schema, self.tensors)

    # -------------------------------------------------------------- networks
    def build(self) -> dict[str, torch.nn.Module]:
        o, d = self.options, self.schema["dims"]
        width = self.layout["category"].stop
        return model.networks(o.nz, model.cond_width(d["product"], d["categories"]), o.hidden, width)

    def configure_optimizers(self) -> list[OptimizerSpec]:
        return [
            OptimizerSpec("discriminator", ("discriminator",), lr=2e-4, betas=(0.5, 0.9)),
            OptimizerSpec("generator", ("generator",), lr=2e-4, betas=(0.5, 0.9)),
        ]

    def _product_emb(self) -> Tensor:
        return self.tensors["product_emb"].to(self.device)

    def _fake(self, product: Tensor, category: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Generated order vectors (raw, activated) for a batch whose rows each drew a mode."""
        n = len(product)
        mode = model.draw_modes(n, self.device)
        cond = model.condition(self._product_emb(), self.schema["dims"]["categories"], product, category, mode)
        raw = self.nets.generator(torch.cat([torch.randn(n, self.options.nz, device=self.device), cond], 1))
        return raw, model.activate(raw, self.layout), mode

    def discriminator_step(self, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
        real, product, category = batch
        _, fake, _ = self._fake(product, category)  # conditions drawn from the real lines' products
        return model.discriminator_loss(self.nets.discriminator, real, fake.detach(), self.options.gp_weight)

    def generator_step(self, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
        _, product, category = batch
        raw, fake, mode = self._fake(product, category)
        pe, lay, rho = self._product_emb(), self.layout, self.options.rec_weight
        return model.generator_loss(self.nets.discriminator, raw, fake, mode, product, category, lay, pe, rho)

    # ------------------------------------------------------------ generation
    def draw(self, product: Tensor, category: Tensor, mode: Tensor) -> Tensor:
        """Order vectors (CPU) from the generator for these conditions (mode 0 none, 1 product, 2 category)."""
        return model.sample(
            self.nets.generator, self._product_emb(), self.layout, self.options.nz, product, category, mode, self.device
        )

    def generate(
        self,
        n: int,
        condition: Mapping[str, Any] | None = None,
        start: str | None = None,
        end: str | None = None,
        synthetic_customers: bool | None = None,
        **_: Any,
    ) -> pl.DataFrame:
        """``n`` order lines grouped into invoices, in the training table's columns and dtypes
        (:mod:`.invoices`: seed lines, basket completion, quantities and prices)."""
        kind, target = invoices.resolve_condition(condition, self.schema, self.name)
        window = invoices.date_window(self.schema["dates"], start, end)
        g = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, (1,))))
        sizes = None
        if self.options.size_calibration:
            sizes = invoices.size_map(self.schema, self.tensors, self.draw, self.train_config.seed, self.device)
        plan = invoices.Seeding(kind, target, self.schema, self.tensors, self.draw, sizes, window, g)
        seed = invoices.draw_seeds(n, plan)
        self.last_generation = {
            "condition": kind,
            "target": target,
            "seed_products_decoded": seed["decoded_product"],
            "seed_categories_generated": seed["category_generated"],
        }
        fresh = self.options.synthetic_customers if synthetic_customers is None else synthetic_customers
        return invoices.assemble(seed, n, g, window, self.schema, self.tensors, self.draw, fresh)

    def next_commands(self, run: str, data: str | None) -> list[tuple[str, str]]:
        out = super().next_commands(run, data)
        cats = self.schema.get("categories") or []
        if cats:
            cond = shlex.quote(f"category={cats[0]}")
            out.append((f"ganapps generate {run} -n 500 --condition {cond} --out orders-{_slug(cats[0])}.csv",
                        f"500 order lines of invoices seeded by a product of the category {cats[0]!r}"))  # fmt: skip
        return out

    # ------------------------------------------------------------ evaluation
    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        return max(n_holdout, 1000)

    def load_samples(self, path: Path) -> pl.DataFrame:
        text = {c: pl.String for c, d in self.schema["columns"]["dtypes"].items() if d["name"] == "String"}
        return read_table(path, schema_overrides=text)

    def evaluate(self, real: Any, synthetic: Any, train: Any = None) -> Evaluation:
        return M.evaluate(self, real, synthetic, train)

    def sample_vectors(self, samples: Any) -> Tensor | None:
        return None  # diversity is judged on baskets and customers in evaluate()


def _slug(text: str) -> str:
    """A file-name-safe form of a category name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "category"
