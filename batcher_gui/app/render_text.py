"""The prompt viewer's plain text: JSON pretty-printed, a usage line, and the small JSON and size
helpers the conversation view (:mod:`batcher_gui.app.render`) shares.

Pure functions (no widgets, no QApplication) that accept any bytes and never raise on them.
"""

from __future__ import annotations

from typing import Any

import orjson

from batcher_gui.domain.money import usd

NOT_JSON = object()  # sentinel: the bytes are not JSON


def parse_json(data: Any) -> Any:
    try:
        return orjson.loads(data)
    except (orjson.JSONDecodeError, TypeError):
        return NOT_JSON


def compact_json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return str(value)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def byte_size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    return f"{round(n / 1024)} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MB"


def base64_size(data: Any) -> str:
    return byte_size(len(data) * 3 // 4) if isinstance(data, str) else "size unknown"


def pretty_json(data: bytes, limit: int = 2_000_000) -> tuple[str, bool]:
    """JSON bytes pretty-printed (2-space indent; decoded as-is if not JSON), cut at ``limit``
    characters, and whether they were cut."""
    try:
        text = orjson.dumps(orjson.loads(data), option=orjson.OPT_INDENT_2).decode()
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError):
        raw = isinstance(data, bytes | bytearray | memoryview)
        text = bytes(data).decode(errors="replace") if raw else str(data)
    return text[:limit], len(text) > limit


def usage_text(input_tokens: int | None, output_tokens: int | None, cost_usd: float | None) -> str:
    """One line of token usage and cost, e.g. "41 in / 1 out tokens · $0.000006"."""
    cost = usd(cost_usd)
    if input_tokens is None and output_tokens is None:
        return "no usage yet" if cost_usd is None else cost
    tokens_in = "?" if input_tokens is None else f"{input_tokens:,}"
    tokens_out = "?" if output_tokens is None else f"{output_tokens:,}"
    return f"{tokens_in} in / {tokens_out} out tokens · {cost}"
