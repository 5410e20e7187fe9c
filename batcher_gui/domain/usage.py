"""Token usage details a result line reports beyond input and output: prompt-cache reads and
writes (billed below and above the input price). Reasoning tokens are part of the output."""

from __future__ import annotations

import re
from typing import Any


def cache_tokens(body: Any) -> tuple[int, int]:
    """(input tokens read from the prompt cache, input tokens written to it) of a response.

    OpenAI reports ``usage.prompt_tokens_details.cached_tokens`` (chat) or
    ``usage.input_tokens_details.cached_tokens`` (responses), both part of the input count.
    Providers that bill cache writes report ``cache_creation_input_tokens``."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return 0, 0
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if cached is None:
        cached = usage.get("cache_read_input_tokens")
    written = usage.get("cache_creation_input_tokens")
    return (cached if isinstance(cached, int) and cached > 0 else 0,
            written if isinstance(written, int) and written > 0 else 0)


_CACHED = re.compile(rb'"cached_tokens":\s*(\d+)')
_CACHE_READ = re.compile(rb'"cache_read_input_tokens":\s*(\d+)')
_CACHE_WRITE = re.compile(rb'"cache_creation_input_tokens":\s*(\d+)')


def cache_tokens_in(raw: bytes | None) -> tuple[int, int]:
    """:func:`cache_tokens` of a stored response, read from its JSON text without parsing it
    (exports price a million of them; every OpenAI response names ``cached_tokens``, mostly 0).
    A key in quotes cannot occur inside a JSON string value, whose quotes are escaped."""
    if not raw:
        return 0, 0
    found = _CACHED.search(raw) or _CACHE_READ.search(raw)
    written = _CACHE_WRITE.search(raw)
    return (int(found.group(1)) if found else 0, int(written.group(1)) if written else 0)
