"""The readable text inside a request or a response body (pure: parsed JSON in, text out)."""

from __future__ import annotations

import json
from typing import Any

from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT


def _claude_answer(content: Any) -> str:
    """A Claude message's answer: its text blocks in order (cited text comes split into
    several: joined as they are), each tool call on a line of its own as
    ``[tool_use NAME {input}]``. Thinking (and redacted thinking) is the model's working, not
    its answer: left out."""
    if isinstance(content, str):
        return content
    lines: list[str] = []
    text_open = False  # the last line is text: the next text block continues it
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            if text_open:
                lines[-1] += block["text"]
            else:
                lines.append(block["text"])
            text_open = True
        elif kind in ("tool_use", "server_tool_use"):
            arguments = json.dumps(block.get("input", {}), ensure_ascii=False,
                                   separators=(",", ":"), default=str)
            lines.append(f"[{kind} {block.get('name', '?')} {arguments}]")
            text_open = False
    return "\n".join(line for line in lines if line)


def answer_text(endpoint: str, body: Any) -> str:
    """The human-readable answer inside a parsed response body ('' when there is none)."""
    if not isinstance(body, dict):
        return ""
    try:
        if endpoint == "/v1/chat/completions":
            return str(body["choices"][0]["message"].get("content") or "")
        if endpoint == MESSAGES_ENDPOINT:
            return _claude_answer(body.get("content"))
        if endpoint == "/v1/completions":
            return str(body["choices"][0].get("text") or "")
        if endpoint == "/v1/responses":
            return "".join(
                c.get("text", "")
                for item in body.get("output", [])
                if isinstance(item, dict)
                for c in item.get("content", []) or []
                if isinstance(c, dict) and c.get("type") == "output_text")
        if endpoint == "/v1/embeddings":
            data = body.get("data") or []
            return f"[embedding, {len(data[0].get('embedding', []))} dims]" if data else ""
        if endpoint == "/v1/moderations":
            results = body.get("results") or []
            return "flagged" if results and results[0].get("flagged") else "not flagged"
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    return ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content
                        if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def prompt_text(body: Any) -> str:
    """The user's part of a parsed request body: the last user message, the input, the
    prompt ('' when there is none). For a one-line preview in a table."""
    if not isinstance(body, dict):
        return ""
    messages = body.get("messages")
    if isinstance(messages, list):
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        return _text_of(users[-1].get("content")) if users else ""
    for key in ("input", "prompt"):
        value = body.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value:
            last = value[-1]
            if isinstance(last, str):
                return last
            if isinstance(last, dict):
                return _text_of(last.get("content"))
    return ""
