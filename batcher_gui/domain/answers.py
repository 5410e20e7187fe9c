"""The readable text inside a request or a response body (pure: parsed JSON in, text out)."""

from __future__ import annotations

from typing import Any


def answer_text(endpoint: str, body: Any) -> str:
    """The human-readable answer inside a parsed response body ('' when there is none)."""
    if not isinstance(body, dict):
        return ""
    try:
        if endpoint == "/v1/chat/completions":
            return str(body["choices"][0]["message"].get("content") or "")
        if endpoint == "/v1/completions":
            return str(body["choices"][0].get("text") or "")
        if endpoint == "/v1/responses":
            return "".join(
                c.get("text", "")
                for item in body.get("output", [])
                if isinstance(item, dict)
                for c in item.get("content", []) or []
                if isinstance(c, dict) and c.get("type") == "output_text")
        if endpoint == "/v1/messages":  # Claude: the text blocks (thinking, tool calls apart)
            return "".join(c["text"] for c in body.get("content") or []
                           if isinstance(c, dict) and c.get("type") == "text"
                           and isinstance(c.get("text"), str))
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
