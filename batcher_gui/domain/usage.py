"""Token usage details a result line reports beyond input and output: prompt-cache reads and
writes (billed below and above the input price). Reasoning tokens are part of the output."""

from __future__ import annotations

import re
from typing import Any, NamedTuple


class CacheTokens(NamedTuple):
    """Input tokens of one response (or many) that met the prompt cache.

    ``written`` includes ``written_1h``: Anthropic bills a write kept for an hour above one
    kept for five minutes."""

    read: int = 0
    written: int = 0
    written_1h: int = 0


NO_CACHE = CacheTokens()


def _count(value: Any) -> int:
    return value if type(value) is int and value > 0 else 0


def cache_tokens(body: Any) -> CacheTokens:
    """The prompt-cache tokens of a parsed response body.

    OpenAI reports ``usage.prompt_tokens_details.cached_tokens`` (chat) or
    ``usage.input_tokens_details.cached_tokens`` (responses), both part of the input count.
    Anthropic reports ``cache_read_input_tokens`` and ``cache_creation_input_tokens``, with
    ``cache_creation.ephemeral_1h_input_tokens`` the part written for an hour."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return NO_CACHE
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if cached is None:
        cached = usage.get("cache_read_input_tokens")
    written = _count(usage.get("cache_creation_input_tokens"))
    creation = usage.get("cache_creation") if written else None
    hour = _count(creation.get("ephemeral_1h_input_tokens")) \
        if isinstance(creation, dict) else 0
    return CacheTokens(_count(cached), written, min(hour, written))


_CACHED = re.compile(rb'"cached_tokens":\s*(\d+)')
_CACHE_READ = re.compile(rb'"cache_read_input_tokens":\s*(\d+)')
_CACHE_WRITE = re.compile(rb'"cache_creation_input_tokens":\s*(\d+)')
_CACHE_WRITE_1H = re.compile(rb'"ephemeral_1h_input_tokens":\s*(\d+)')


def cache_tokens_in(raw: bytes | None) -> CacheTokens:
    """:func:`cache_tokens` of a stored response, read from its JSON text without parsing it
    (exports price a million of them; every OpenAI response names ``cached_tokens``, mostly 0).
    A key in quotes cannot occur inside a JSON string value, whose quotes are escaped."""
    if not raw:
        return NO_CACHE
    found = _CACHED.search(raw) or _CACHE_READ.search(raw)
    written = _CACHE_WRITE.search(raw)
    if written is None:  # OpenAI's responses: no write, nothing more to look for
        return CacheTokens(int(found.group(1)) if found else 0, 0, 0)
    total = int(written.group(1))
    hour = _CACHE_WRITE_1H.search(raw) if total else None
    return CacheTokens(int(found.group(1)) if found else 0, total,
                       min(int(hour.group(1)), total) if hour else 0)
