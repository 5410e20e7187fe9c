"""Prices per model, to turn token usage into money (estimates; users can override).

The built-in prices are a dated data file (``resources/prices.json``, read by
:mod:`batcher_gui.config.prices`): live list prices in USD per 1,000,000 tokens, with the Batch
API's discount (half). Models are matched by the longest model-name prefix. The workspace
setting ``prices`` replaces or extends the table: ``{"model": [input, output]}`` at the batch
rate (the short form), or ``{"model": {"input": .., "output": .., "cached_input": ..}}`` at the
live rate (also ``cache_write``: input written to the prompt cache, Anthropic's 5-minute writes;
``cache_write_1h``: its 1-hour writes; ``batch_discount``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: The Batch API's discount on live prices.
BATCH_DISCOUNT = 0.5


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Live USD per 1M tokens; ``batch_discount`` is taken off for batches."""

    input: float
    output: float
    cached_input: float | None = None  # None: as input
    cache_write: float | None = None  # None: as input
    cache_write_1h: float | None = None  # None: as cache_write
    batch_discount: float = BATCH_DISCOUNT

    @property
    def batch(self) -> tuple[float, float]:
        """(input, output) per 1M tokens at the batch rate."""
        keep = 1 - self.batch_discount
        return (self.input * keep, self.output * keep)


@dataclass(frozen=True, slots=True)
class CostRange:
    """What a set of requests will cost: ``low`` if every answer is empty, ``high`` if each
    writes its full output bound; ``live_high`` the same at live prices (the saving)."""

    low: float
    high: float
    live_high: float
    priced: bool = True  # False: some model has no known price (its share is left out)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) and value >= 0


_OPTIONAL_PRICES = ("cached_input", "cache_write", "cache_write_1h")


def parse_price(value: object, discount: float = BATCH_DISCOUNT) -> ModelPrice | None:
    """A price as written in the data file or the ``prices`` setting (None: not a price)."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_number(v) for v in value):
        keep = 1 - discount  # the short form is the batch rate
        return ModelPrice(float(value[0]) / keep, float(value[1]) / keep, batch_discount=discount)
    if isinstance(value, Mapping) and _number(value.get("input")) \
            and _number(value.get("output")):
        optional = {key: float(value[key]) for key in _OPTIONAL_PRICES
                    if _number(value.get(key))}
        own = value.get("batch_discount", discount)
        return ModelPrice(float(value["input"]), float(value["output"]),
                          batch_discount=float(own) if _number(own) and own < 1
                          else discount, **optional)
    return None


class PriceTable:
    """Looks up prices by the longest matching model prefix (case-insensitive)."""

    def __init__(self, base: Mapping[str, ModelPrice],
                 overrides: Mapping[str, object] | None = None) -> None:
        table = {prefix.lower(): price for prefix, price in base.items()}
        for prefix, value in (overrides or {}).items():
            price = parse_price(value)
            if price is not None:
                table[prefix.lower()] = price
        self._by_length = sorted(table.items(), key=lambda kv: -len(kv[0]))

    def model_price(self, model: str) -> ModelPrice | None:
        name = model.lower()
        for prefix, price in self._by_length:
            if name.startswith(prefix):
                return price
        return None

    def price(self, model: str) -> tuple[float, float] | None:
        """(input, output) USD per 1M tokens at the batch rate."""
        found = self.model_price(model)
        return None if found is None else found.batch

    def unpriced(self, models: Iterable[str]) -> list[str]:
        """The models (sorted, once each) this table has no price for."""
        return sorted({model for model in models if self.price(model) is None})

    def cost(self, model: str, input_tokens: int | None, output_tokens: int | None, *,
             cached_input: int = 0, cache_write: int = 0, cache_write_1h: int = 0,
             batch: bool = True) -> float | None:
        """USD for this usage, or None when the model's price or the usage is unknown.

        ``input_tokens`` includes the cached and cache-written ones (as providers report
        them; Anthropic's are added up when a result is read); ``cache_write_1h`` is the part
        of ``cache_write`` kept for an hour. Reasoning tokens are part of ``output_tokens``.
        """
        price = self.model_price(model)
        if price is None or (input_tokens is None and output_tokens is None):
            return None
        cached = min(cached_input, input_tokens or 0)
        written = min(cache_write, (input_tokens or 0) - cached)
        hour = min(cache_write_1h, written)
        plain = (input_tokens or 0) - cached - written
        write_price = price.input if price.cache_write is None else price.cache_write
        usd = (plain * price.input
               + cached * (price.input if price.cached_input is None else price.cached_input)
               + (written - hour) * write_price
               + hour * (write_price if price.cache_write_1h is None else price.cache_write_1h)
               + (output_tokens or 0) * price.output) / 1_000_000
        return usd * (1 - price.batch_discount) if batch else usd

    def usage_cost(self, usage: Iterable[tuple[str, int, int]],
                   cache: Mapping[str, tuple[int, ...]] | None = None) -> float | None:
        """USD of (model, input, output) totals, with each model's (cache reads, cache
        writes[, of those written for an hour]) where known; None when no model has a
        price."""
        def priced(model: str, tokens_in: int, tokens_out: int) -> float | None:
            read, written, written_1h = (*(cache or {}).get(model, ()), 0, 0, 0)[:3]
            return self.cost(model, tokens_in, tokens_out, cached_input=read,
                             cache_write=written, cache_write_1h=written_1h)

        known = [c for c in (priced(*row) for row in usage) if c is not None]
        return sum(known) if known else None

    def estimate(self, usage: Mapping[str, tuple[int, int]]) -> CostRange:
        """The cost range of requests: model -> (input tokens, output bound)."""
        low = high = live = 0.0
        priced = True
        for model, (tokens_in, bound) in usage.items():
            cheapest = self.cost(model, tokens_in, 0)
            dearest = self.cost(model, tokens_in, bound)
            if cheapest is None or dearest is None:
                priced = False
                continue
            low, high = low + cheapest, high + dearest
            live += self.cost(model, tokens_in, bound, batch=False) or 0.0
        return CostRange(low, high, live, priced)

    def known_models(self) -> list[str]:
        return [prefix for prefix, _ in self._by_length]

    def closest(self, model: str, n: int = 3) -> list[str]:
        """Known model names that look like ``model`` (for "did you mean")."""
        import difflib

        return difflib.get_close_matches(model.lower(), self.known_models(), n=n, cutoff=0.6)
