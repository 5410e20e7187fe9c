"""Cost from token usage: the dated price file, longest-prefix prices, overrides, every price
kind (input, cached input, cache writes, output), batch vs live, and estimate ranges."""

from __future__ import annotations

import re

import pytest

from batcher_gui.config.prices import builtin_prices, price_table
from batcher_gui.domain.pricing import ModelPrice, PriceTable


def test_the_shipped_table_is_dated_and_complete() -> None:
    date, table = builtin_prices()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date)
    assert {"gpt-4o-mini", "gpt-4.1", "gpt-5", "text-embedding-3-small"} <= set(table)
    assert all(p.batch_discount == 0.5 for p in table.values())


def test_longest_prefix_wins() -> None:
    prices = price_table()
    assert prices.price("gpt-4o-mini-2024-07-18") == (0.075, 0.30)
    assert prices.price("gpt-4o-2024-08-06") == (1.25, 5.00)
    assert prices.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.375)
    assert prices.cost("GPT-4o-mini", 1_000_000, 1_000_000, batch=False) == pytest.approx(0.75)


def test_overrides_and_unknown_models() -> None:
    prices = price_table({"my-model": [1, 2], "gpt-4o": [9, 9], "bad": [1], "neg": [-1, 1],
                          "live": {"input": 4, "output": 8, "cached_input": 1}})
    assert prices.cost("my-model-v2", 500_000, 250_000) == pytest.approx(1.0)
    assert prices.price("gpt-4o") == (9.0, 9.0)
    assert prices.price("live") == (2.0, 4.0)  # the long form is the live price
    assert prices.price("bad") is None and prices.price("neg") is None
    assert prices.cost("unknown", 10, 10) is None
    assert prices.cost("gpt-4o", None, None) is None


def test_every_price_kind() -> None:
    prices = PriceTable({"m": ModelPrice(input=2.0, output=8.0, cached_input=0.5,
                                         cache_write=2.5)})
    million = 1_000_000
    # 1M input of which 400k cached and 100k written to the cache, 200k output (reasoning in it)
    live = prices.cost("m", million, 200_000, cached_input=400_000, cache_write=100_000,
                       batch=False)
    assert live == pytest.approx(0.5 * 2.0 + 0.4 * 0.5 + 0.1 * 2.5 + 0.2 * 8.0)
    assert prices.cost("m", million, 200_000, cached_input=400_000, cache_write=100_000) == \
        pytest.approx(live / 2)  # type: ignore[operator]
    # Cached counts beyond the input (a provider's rounding) never make a negative cost.
    assert prices.cost("m", 10, 0, cached_input=50) == pytest.approx(10 * 0.5 / million / 2)
    plain = PriceTable({"p": ModelPrice(1.0, 1.0)})  # no cached price: cached is input
    assert plain.cost("p", million, 0, cached_input=million) == pytest.approx(0.5)


def test_estimate_range_and_saving() -> None:
    prices = price_table()
    estimate = prices.estimate({"gpt-4o-mini": (2_000_000, 1_000_000),
                                "text-embedding-3-small": (1_000_000, 0)})
    assert estimate.low == pytest.approx(2 * 0.075 + 0.01)
    assert estimate.high == pytest.approx(2 * 0.075 + 0.30 + 0.01)
    assert estimate.live_high == pytest.approx(estimate.high * 2)
    assert estimate.priced
    assert not prices.estimate({"llama-3": (10, 10)}).priced


def test_cache_usage_from_result_bodies() -> None:
    import orjson

    from batcher_gui.domain.usage import cache_tokens, cache_tokens_in

    chat = {"usage": {"prompt_tokens": 1000, "completion_tokens": 10,
                      "prompt_tokens_details": {"cached_tokens": 768},
                      "completion_tokens_details": {"reasoning_tokens": 5}}}
    responses = {"usage": {"input_tokens": 900, "output_tokens": 3,
                           "input_tokens_details": {"cached_tokens": 512}}}
    writes = {"usage": {"input_tokens": 50, "cache_creation_input_tokens": 2000,
                        "cache_read_input_tokens": 100}}
    assert cache_tokens(chat) == (768, 0, 0)
    assert cache_tokens(responses) == (512, 0, 0)
    assert cache_tokens(writes) == (100, 2000, 0)
    assert cache_tokens({"usage": {"prompt_tokens": 5}}) == (0, 0, 0) == cache_tokens(None)
    assert cache_tokens_in(b'{"usage":{"prompt_tokens_details":{"cached_tokens":1}}}') == (1, 0, 0)
    assert cache_tokens_in(b'{"usage":{"prompt_tokens":5}}') == (0, 0, 0) == cache_tokens_in(None)
    for body in (chat, responses, writes):  # the raw reading agrees with the parsed one
        assert cache_tokens_in(orjson.dumps(body)) == cache_tokens(body)
    text = {"output": 'he wrote "cached_tokens": 99', "usage": {"prompt_tokens": 5}}
    assert cache_tokens_in(orjson.dumps(text)) == (0, 0, 0)  # quotes in values are escaped


def test_export_prices_cached_input_below_input() -> None:
    import orjson

    from batcher_gui.engine.export import _cost

    prices = price_table()
    plain = orjson.dumps({"usage": {"prompt_tokens": 1_000_000, "completion_tokens": 0}})
    cached = orjson.dumps({"usage": {"prompt_tokens": 1_000_000, "completion_tokens": 0,
                                     "prompt_tokens_details": {"cached_tokens": 1_000_000}}})
    assert _cost(prices, "gpt-4o-mini", 1_000_000, 0, plain) == pytest.approx(0.075)
    assert _cost(prices, "gpt-4o-mini", 1_000_000, 0, cached) == pytest.approx(0.0375)


def test_the_table_prices_claude_gemini_and_groq_batches() -> None:
    _, table = builtin_prices()
    for model in ("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5",
                  "claude-haiku-4-5", "gemini-2.5-pro", "gemini-2.5-flash",
                  "gemini-2.5-flash-lite", "llama-3.1-8b-instant", "llama-3.3-70b-versatile",
                  "openai/gpt-oss-20b", "openai/gpt-oss-120b"):
        assert model in table, model
        assert table[model].batch_discount == 0.5  # all four providers: half price
    prices = price_table()
    assert prices.price("gemini-2.5-flash-lite-preview-09-2025") == (0.05, 0.20)
    assert prices.price("gemini-2.5-flash-001") == (0.15, 1.25)
    # a 1-hour cache write costs twice the input, a 5-minute one 1.25 times (live)
    haiku = table["claude-haiku-4-5"]
    assert (haiku.cache_write, haiku.cache_write_1h) == (1.25, 2.0)


def test_an_override_may_price_one_hour_cache_writes() -> None:
    from batcher_gui.config.settings import parse

    value = parse("prices", '{"my-claude": {"input": 1, "output": 2, "cache_write": 1.25, '
                            '"cache_write_1h": 2, "cached_input": 0.1}}')
    found = price_table(value).model_price("my-claude")
    assert found is not None and found.cache_write_1h == 2.0 and found.cache_write == 1.25
    assert price_table(value).cost("my-claude", 1_000_000, 0, cache_write=1_000_000,
                                   cache_write_1h=1_000_000) == pytest.approx(1.0)  # 2.0 / 2


def test_run_totals_price_hour_long_cache_writes_apart() -> None:
    """A run's (read, written, of those for an hour) cache totals: an hour's writes cost
    2x input, five minutes' 1.25x (Claude Haiku 4.5: $1 input, batch half)."""
    table = PriceTable({"claude-haiku-4-5": ModelPrice(1.0, 5.0, cached_input=0.1,
                                                        cache_write=1.25, cache_write_1h=2.0)})
    usage = [("claude-haiku-4-5", 1_000_000, 0)]
    five_minutes = table.usage_cost(usage, {"claude-haiku-4-5": (0, 1_000_000, 0)})
    one_hour = table.usage_cost(usage, {"claude-haiku-4-5": (0, 1_000_000, 1_000_000)})
    older = table.usage_cost(usage, {"claude-haiku-4-5": (0, 1_000_000)})  # two figures
    assert (five_minutes, one_hour, older) == pytest.approx((0.625, 1.0, 0.625))
