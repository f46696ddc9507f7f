"""The ecommerce app's fit is reproducible when a product's description, category or a customer's
country is tied: the smallest tied value wins (polars' ``mode()`` returns ties in any order)."""

from __future__ import annotations

import polars as pl

from ganapps.plugins.ecommerce.data import _customers, _products


def test_tied_modes_pick_the_smallest_value() -> None:
    lines = pl.DataFrame(
        {
            "prod": ["A"] * 4 + ["B"],
            "desc": ["zebra mug", "apple mug", "zebra mug", "apple mug", "plate"],
            "cat": ["kitchen", "home", "home", "kitchen", None],
            "cust": ["c1", "c1", "c2", "c2", None],
            "country": ["Spain", "France", "Italy", "Italy", "Spain"],
        }
    )
    for _ in range(5):  # any order of the tied values gives the same answer
        shuffled = lines.sample(fraction=1.0, shuffle=True)
        products = _products(shuffled, {"category": "cat", "description": "desc"})
        assert products["products"] == ["A", "B"]
        assert products["descriptions"] == ["apple mug", "plate"]
        assert products["categories"][products["cat_of"][0]] == "home"
        customers, _ = _customers(shuffled)
        assert customers.sort("cust")["country"].to_list() == ["France", "Italy"]
