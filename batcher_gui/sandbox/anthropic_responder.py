"""Deterministic Claude answers, the token-counting rule and the per-request triggers.

The counting rule (the same for ``/v1/messages/count_tokens`` and for an answer's usage, so
an estimate and the usage it predicts can be compared exactly):

    characters = tools (each as sorted-key JSON without ``cache_control``)
               + system text + every message's text (image/document blocks: 6,400 each;
                 other blocks: sorted-key JSON without ``cache_control``)
    input tokens = max(1, ceil(characters / 4))

A request with ``cache_control`` blocks (or a top-level ``cache_control``) has a cached
prefix: everything up to its last breakpoint (order: tools, system, messages). In a batch the
first such request (input order) writes the cache, later ones read it; answers then report
``input_tokens`` = total - cached and the cached part as ``cache_creation_input_tokens`` or
``cache_read_input_tokens`` (total = input + cache_creation + cache_read = count_tokens).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Final

import orjson

from . import responder

#: Per-request triggers in the prompt text, and what they turn into.
FAIL, OVERLOADED, API_ERROR, TOOL = "#fail", "#overloaded", "#api_error", "#tool"
FAIL_MESSAGE: Final = "messages: the request contains the sandbox trigger '#fail'."
OVERLOADED_MESSAGE: Final = "Overloaded"
API_ERROR_MESSAGE: Final = "Internal server error"
_TEXT_BLOCKS: Final = frozenset({"text"})
#: Images and documents count as a fixed ~1,600 tokens (about what Anthropic charges for a
#: screen-sized image), not by the size of their base64 data.
_MEDIA_BLOCKS: Final = frozenset({"image", "document"})
_MEDIA_CHARS: Final = 6400


@dataclass(frozen=True)
class Counted:
    """A request's input as the sandbox counts it."""

    tokens: int  # the whole input (what count_tokens answers)
    cached: int  # tokens up to the last cache breakpoint (<= tokens)
    cached_1h: int  # of those, the ones under a 1-hour ttl breakpoint
    text: str  # system + message text: what triggers and answers look at


def _json(value: Any) -> str:
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "cache_control"}
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _block_text(block: Any) -> tuple[str, bool]:
    """(counted text, is prompt text) of one content block."""
    if isinstance(block, str):
        return block, True
    if isinstance(block, dict) and block.get("type") in _MEDIA_BLOCKS:
        return " " * _MEDIA_CHARS, False
    if isinstance(block, dict) and block.get("type") in _TEXT_BLOCKS:
        text = block.get("text")
        return (text, True) if isinstance(text, str) else (_json(block), False)
    if isinstance(block, dict) and block.get("type") == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            return content, True
        if isinstance(content, list):
            parts = [_block_text(item)[0] for item in content]
            return "".join(parts), True
    return _json(block), False


def _ttl(block: Any) -> str | None:
    control = block.get("cache_control") if isinstance(block, dict) else None
    if not isinstance(control, dict):
        return None
    return "1h" if control.get("ttl") == "1h" else "5m"


def _parts(params: dict[str, Any]) -> list[tuple[str, bool, str | None]]:
    """(text, is prompt text, cache ttl of a breakpoint after it) in cache-prefix order."""
    parts: list[tuple[str, bool, str | None]] = []
    tools = params.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        parts.append((_json(tool), False, _ttl(tool)))
    system = params.get("system")
    if isinstance(system, str):
        parts.append((system, True, None))
    elif isinstance(system, list):
        parts.extend((*_block_text(block), _ttl(block)) for block in system)
    messages = params.get("messages")
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append((content, True, None))
        elif isinstance(content, list):
            parts.extend((*_block_text(block), _ttl(block)) for block in content)
    return parts


def count(params: dict[str, Any]) -> Counted:
    parts = _parts(params)
    position = cached_chars = cached_1h_chars = segment_start = 0
    for text, _, ttl in parts:
        position += len(text)
        if ttl is not None:
            if ttl == "1h":
                cached_1h_chars += position - segment_start
            segment_start = cached_chars = position
    top = _ttl(params)
    if top is not None and position > cached_chars:  # automatic caching: up to the end
        if top == "1h":
            cached_1h_chars += position - segment_start
        cached_chars = position
    tokens = max(1, math.ceil(position / 4))
    cached = min(tokens, math.ceil(cached_chars / 4))
    cached_1h = min(cached, math.ceil(cached_1h_chars / 4))
    text = "\n".join(text for text, prompt, _ in parts if prompt)
    return Counted(tokens, cached, cached_1h, text)


def trigger(text: str) -> str | None:
    for word in (FAIL, OVERLOADED, API_ERROR):
        if word in text:
            return word
    return None


def request_hash(batch_id: str, custom_id: str) -> str:
    return hashlib.sha256(f"{batch_id}\x1f{custom_id}".encode()).hexdigest()


def _tool_use(params: dict[str, Any], rid: str, snippet: str) -> dict[str, Any]:
    tools = params.get("tools")
    tool = tools[0] if isinstance(tools, list) and tools and isinstance(tools[0], dict) else {}
    name = tool.get("name") if isinstance(tool.get("name"), str) else "sandbox_tool"
    schema = tool.get("input_schema")
    tool_input = responder._fake_from_schema(schema) if isinstance(schema, dict) else None
    if not isinstance(tool_input, dict):
        tool_input = {"query": snippet}
    return {"type": "tool_use", "id": f"toolu_01{rid[:22]}", "name": name, "input": tool_input}


def message(params: dict[str, Any], counted: Counted, rid: str, cache: str | None
            ) -> dict[str, Any]:
    """The ``message`` of a succeeded request; ``cache`` is "write", "read" or None."""
    limit = params.get("max_tokens")
    text, cut = responder._reply(counted.text, limit if isinstance(limit, int) else None,
                                 params.get("model"))
    content: list[dict[str, Any]] = []
    output_tokens = responder.tokens(text)
    thinking = params.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        thought = f"Sandbox thinking about: {counted.text[:60]}"
        content.append({"type": "thinking", "thinking": thought, "signature": f"sig{rid[:40]}"})
        output_tokens += responder.tokens(thought)
    content.append({"type": "text", "text": text})
    stop_reason = "max_tokens" if cut else "end_turn"
    if TOOL in counted.text and not cut:
        content.append(_tool_use(params, rid, counted.text[:80]))
        output_tokens += 10
        stop_reason = "tool_use"
    written = counted.cached if cache == "write" else 0
    written_1h = counted.cached_1h if cache == "write" else 0
    read = counted.cached if cache == "read" else 0
    usage = {
        "input_tokens": counted.tokens - written - read,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": written - written_1h,
            "ephemeral_1h_input_tokens": written_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "batch",
    }
    return {
        "id": f"msg_01{rid[22:46]}",
        "type": "message",
        "role": "assistant",
        "model": params.get("model"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def _line(custom_id: str, result: dict[str, Any]) -> bytes:
    return orjson.dumps({"custom_id": custom_id, "result": result},
                        option=orjson.OPT_APPEND_NEWLINE)


def succeeded_line(custom_id: str, answer: dict[str, Any]) -> bytes:
    return _line(custom_id, {"type": "succeeded", "message": answer})


def errored_line(custom_id: str, rid: str, error_type: str, text: str) -> bytes:
    error = {"type": "error", "error": {"type": error_type, "message": text},
             "request_id": f"req_011C{rid[46:64]}"}
    return _line(custom_id, {"type": "errored", "error": error})


def unfinished_line(custom_id: str, kind: str) -> bytes:
    """A ``canceled`` or ``expired`` line: a request that was never run."""
    return _line(custom_id, {"type": kind})
