"""Token usage details a result line reports beyond input and output: prompt-cache reads and
writes (billed below and above the input price). Reasoning tokens are part of the output."""

from __future__ import annotations

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


def has_cache_usage(raw: bytes | None) -> bool:
    """A quick look at raw response bytes before parsing them (most have no cache usage)."""
    if not raw:
        return False
    return b'"cached_tokens"' in raw or b'"cache_' in raw
