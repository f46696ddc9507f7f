"""What each ``ecommerce`` metric means in the report: one line, which direction is better, and its
reference (the held-out real orders beside the synthetic ones)."""

from __future__ import annotations

from ganapps.core.meanings import MetricMeaning
from ganapps.core.metrics.privacy import PRIVACY_MEANINGS


def _real_vs_synthetic(group: str, stat: str, text: str) -> dict[str, MetricMeaning]:
    """``group.STAT_synthetic`` read against ``group.STAT_real`` (and the real one's own line)."""
    return {
        f"{group}.{stat}_synthetic": MetricMeaning(f"{text}, synthetic", None, f"{group}.{stat}_real", "real"),
        f"{group}.{stat}_real": MetricMeaning(f"{text}, held-out real"),
    }


def meanings() -> dict[str, MetricMeaning]:
    """What :func:`evaluate`'s metrics mean (the report's metrics table)."""
    dist = "held-out real vs synthetic, 0 = identical"
    out = {
        "basket_size_ks": MetricMeaning(f"KS statistic of lines per invoice, {dist}", "lower"),
        "catalogue_share": MetricMeaning(
            "share of synthetic lines whose product is in the real catalogue", "higher", 1.0, "all"
        ),
        "cleaning.*": MetricMeaning("training table as read: counts of what was kept or set aside"),
        "quality.quality_score": MetricMeaning(
            "SDMetrics quality of the order lines, held-out real vs synthetic (1 = alike)", "higher"
        ),
        "quality.column_shapes": MetricMeaning("how alike each column's distribution is, mean over columns", "higher"),
        "quality.column_pair_trends": MetricMeaning("how alike the column pairs' correlations are", "higher"),
        "quality.column_shapes_by_column.*": MetricMeaning(
            "this column, held-out real vs synthetic (1 = alike)", "higher"
        ),
        "baskets.basket_size_ks": MetricMeaning(f"KS statistic of lines per invoice, {dist}", "lower"),
        "baskets.basket_size_wasserstein": MetricMeaning(
            f"Wasserstein-1 distance of lines per invoice, {dist}", "lower"
        ),
        "baskets.basket_value_ks": MetricMeaning(f"KS statistic of invoice values, {dist}", "lower"),
        "baskets.orders_per_customer_ks": MetricMeaning(f"KS statistic of invoices per customer, {dist}", "lower"),
        "baskets.*_profile_tv": MetricMeaning(
            f"total-variation distance of the shares of orders by this period, {dist}", "lower"
        ),
        **_real_vs_synthetic("baskets", "basket_size_mean", "mean lines per invoice"),
        **_real_vs_synthetic("baskets", "basket_value_median", "median invoice value"),
        **_real_vs_synthetic("baskets", "orders_per_customer_mean", "mean invoices per customer"),
        "prices.catalogue_share": MetricMeaning(
            "share of synthetic lines whose product is in the real catalogue", "higher", 1.0, "all"
        ),
        "prices.observed_price_share": MetricMeaning(
            "share of synthetic lines whose (product, unit price) occurs in the real table", "higher", 1.0, "all"
        ),
        "prices.median_abs_log_price_ratio": MetricMeaning("median |log ratio| of per-product median prices", "lower"),
        "prices.products_compared": MetricMeaning("products in both tables whose prices were compared"),
        "copurchase.copurchase_corr": MetricMeaning(
            "Pearson r of products' co-purchase (phi) values, real vs synthetic, 50 most frequent products", "higher"
        ),
        "copurchase.copurchase_mae": MetricMeaning("mean absolute difference of those phi values", "lower"),
        "copurchase.copurchase_strong_pairs_real": MetricMeaning(
            "product pairs bought together strongly in real invoices"
        ),
        "copurchase.copurchase_strong_pairs_kept": MetricMeaning(
            "share of those pairs still together in synthetic invoices", "higher"
        ),
        "copurchase.copurchase_products": MetricMeaning("products compared"),
        "conditional.*_chance": MetricMeaning("the same share for a condition drawn at random"),
    }
    for kind in ("product", "category"):
        out[f"conditional.{kind}_condition_accuracy"] = MetricMeaning(
            f"share of orders generated for a {kind} whose generated product decodes to that {kind}",
            "higher",
            f"conditional.{kind}_condition_chance",
            "chance",
        )
    for key, m in PRIVACY_MEANINGS.items():
        ref = f"privacy.customer_{m.reference}" if isinstance(m.reference, str) else m.reference
        text = f"per-customer profiles: {m.meaning}"
        out[f"privacy.customer_{key}"] = MetricMeaning(text, m.better, ref, m.reference_label)
    return out
