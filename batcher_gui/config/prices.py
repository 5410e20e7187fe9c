"""The built-in price table: ``resources/prices.json`` (dated), read once per process."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import orjson

from batcher_gui.domain.pricing import BATCH_DISCOUNT, ModelPrice, PriceTable, parse_price
from batcher_gui.paths import resource

PRICES_FILE = ("prices.json",)


@functools.cache
def builtin_prices() -> tuple[str, dict[str, ModelPrice]]:
    """(the table's date, model prefix -> live price). Raises OSError/ValueError if the
    shipped file is missing or broken (a damaged installation, found by the tests)."""
    data = orjson.loads(resource(*PRICES_FILE).read_bytes())
    discount = float(data.get("batch_discount", BATCH_DISCOUNT))
    table: dict[str, ModelPrice] = {}
    for model, value in data["models"].items():
        price = parse_price(value, discount)
        if price is None:
            raise ValueError(f"{resource(*PRICES_FILE)}: {model!r} has no valid price")
        table[model] = price
    return str(data["date"]), table


def price_table(overrides: Mapping[str, object] | None = None) -> PriceTable:
    """The built-in prices with the workspace's ``prices`` setting over them."""
    return PriceTable(builtin_prices()[1], overrides)


def prices_date() -> str:
    return builtin_prices()[0]
