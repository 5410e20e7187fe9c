"""Cost from token usage: longest-prefix prices, overrides, unknown models."""

from __future__ import annotations

import pytest

from batcher_gui.domain.pricing import PriceTable


def test_longest_prefix_wins() -> None:
    prices = PriceTable()
    assert prices.price("gpt-4o-mini-2024-07-18") == (0.075, 0.30)
    assert prices.price("gpt-4o-2024-08-06") == (1.25, 5.00)
    assert prices.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.375)


def test_overrides_and_unknown_models() -> None:
    prices = PriceTable({"my-model": [1, 2], "gpt-4o": [9, 9], "bad": [1], "neg": [-1, 1]})
    assert prices.cost("my-model-v2", 500_000, 250_000) == pytest.approx(1.0)
    assert prices.price("gpt-4o") == (9.0, 9.0)
    assert prices.price("bad") is None and prices.price("neg") is None
    assert prices.cost("unknown", 10, 10) is None
    assert prices.cost("gpt-4o", None, None) is None
