"""Batch prices per model, to turn token usage into money (estimates; users can override).

Prices are USD per 1,000,000 tokens at the Batch API's rate (half the live price), matched by the
longest model-name prefix. Providers change prices: the workspace setting ``prices`` (a mapping
of model prefix -> [input, output]) replaces or extends this table.
"""

from __future__ import annotations

from collections.abc import Mapping

#: model prefix -> (input, output) USD per 1M tokens, batch rate.
BATCH_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.075, 0.30),
    "gpt-4o": (1.25, 5.00),
    "gpt-4.1-nano": (0.05, 0.20),
    "gpt-4.1-mini": (0.20, 0.80),
    "gpt-4.1": (1.00, 4.00),
    "gpt-5-nano": (0.025, 0.20),
    "gpt-5-mini": (0.125, 1.00),
    "gpt-5": (0.625, 5.00),
    "o4-mini": (0.55, 2.20),
    "o3-mini": (0.55, 2.20),
    "o3": (1.00, 4.00),
    "text-embedding-3-small": (0.01, 0.0),
    "text-embedding-3-large": (0.065, 0.0),
    "omni-moderation": (0.0, 0.0),
}


class PriceTable:
    """Looks up prices by the longest matching model prefix (case-insensitive)."""

    def __init__(self, overrides: Mapping[str, object] | None = None) -> None:
        table = dict(BATCH_PRICES)
        for prefix, value in (overrides or {}).items():
            if (isinstance(value, (list, tuple)) and len(value) == 2
                    and all(isinstance(v, (int, float)) and v >= 0 for v in value)):
                table[prefix.lower()] = (float(value[0]), float(value[1]))
        self._by_length = sorted(table.items(), key=lambda kv: -len(kv[0]))

    def price(self, model: str) -> tuple[float, float] | None:
        name = model.lower()
        for prefix, price in self._by_length:
            if name.startswith(prefix):
                return price
        return None

    def cost(self, model: str, input_tokens: int | None, output_tokens: int | None
             ) -> float | None:
        """USD for this usage, or None when the model's price or the usage is unknown."""
        price = self.price(model)
        if price is None or (input_tokens is None and output_tokens is None):
            return None
        return ((input_tokens or 0) * price[0] + (output_tokens or 0) * price[1]) / 1_000_000

    def known_models(self) -> list[str]:
        return [prefix for prefix, _ in self._by_length]

    def closest(self, model: str, n: int = 3) -> list[str]:
        """Known model names that look like ``model`` (for "did you mean")."""
        import difflib

        return difflib.get_close_matches(model.lower(), self.known_models(), n=n, cutoff=0.6)
