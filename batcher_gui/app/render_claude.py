"""A Claude answer (the Messages API's ``message`` object, stored as the response body) as
blocks for the conversation view (:mod:`batcher_gui.app.render`): its text, each tool call as
a block of its own with the input as indented JSON, thinking folded, and the usage with the
prompt cache's figures.

Pure functions (no widgets, no QApplication); a block type they do not know is named, never
dropped.
"""

from __future__ import annotations

import html
from typing import Any

import orjson

from batcher_gui.app.render_pieces import Block, Piece, source_summary
from batcher_gui.app.render_text import compact_json

#: Stop reasons of an answer that ended as asked: said in the usage line, not as a warning.
_USUAL_STOPS = frozenset({"end_turn", "tool_use", "stop_sequence"})


def is_message(body: Any) -> bool:
    """Whether a response body is a Claude ``message`` (content blocks, usage)."""
    return (isinstance(body, dict) and body.get("type") == "message"
            and isinstance(body.get("content"), list))


def _pretty(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except (orjson.JSONEncodeError, TypeError):
        return compact_json(value)


def message_blocks(body: dict[str, Any]) -> list[Block]:
    """The answer's blocks in order: text (and what the view only names) in Assistant
    blocks; each ``tool_use`` a "Tool use: NAME" block; thinking folded."""
    blocks: list[Block] = []
    pieces: list[Piece] = []

    def flush() -> None:
        if pieces:
            blocks.append(Block("assistant", "Assistant", list(pieces)))
            pieces.clear()

    for part in body["content"]:
        kind = part.get("type") if isinstance(part, dict) else None
        if not isinstance(part, dict):
            pieces.append(("code", compact_json(part)))
        elif kind == "text" and isinstance(part.get("text"), str):
            pieces.append(("text", part["text"]))
        elif kind in ("tool_use", "server_tool_use"):
            flush()
            name = str(part.get("name") or "?")
            title = "Tool use" if kind == "tool_use" else "Server tool use"
            blocks.append(Block("tool", f"{title}: {name}", [("code", _pretty(part.get("input")))]))
        elif kind == "thinking":
            flush()
            text = str(part.get("thinking") or "")
            blocks.append(Block("system", f"Thinking · {len(text):,} characters",
                                [("text", text)], fold=True))
        elif kind == "redacted_thinking":
            flush()
            data = str(part.get("data") or "")
            blocks.append(Block("system", f"Redacted thinking · {len(data):,} characters",
                                [("note", "Encrypted by the provider: it cannot be read here, "
                                          "and is sent back as it is in a next turn."),
                                 ("code", data)], fold=True))
        elif isinstance(part.get("source"), dict):
            pieces.append(("note", source_summary(kind, part["source"], part.get("title"))))
        else:
            pieces.append(("note", f"[{kind or 'block'}]"))
    stop = body.get("stop_reason")
    if stop not in _USUAL_STOPS and stop is not None:
        pieces.append(("note", f"stopped: {stop}" + (" (the max_tokens limit was reached)"
                                                     if stop == "max_tokens" else "")))
    flush()
    return blocks or [Block("assistant", "Assistant", [("note", "(empty answer)")])]


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and value > 0 else 0


def usage_columns(body: Any) -> list[tuple[str, int]] | None:
    """The usage of a Claude answer as (column, tokens): input (not from the cache), cache
    read, cache write 5 m, cache write 1 h, output. None: it reports no usage.

    A cache write without the 5 m / 1 h breakdown is a 5-minute one (Anthropic's default).
    """
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return None
    written = _count(usage, "cache_creation_input_tokens")
    split = usage.get("cache_creation")
    if isinstance(split, dict):
        five, hour = (_count(split, "ephemeral_5m_input_tokens"),
                      _count(split, "ephemeral_1h_input_tokens"))
    else:
        five, hour = written, 0
    return [("Input", _count(usage, "input_tokens")),
            ("Cache read", _count(usage, "cache_read_input_tokens")),
            ("Cache write 5 m", five), ("Cache write 1 h", hour),
            ("Output", _count(usage, "output_tokens"))]


def usage_html(body: Any, text: str, muted: str, header_bg: str) -> str:
    """The usage table of a Claude answer (with its stop reason), '' when it has none."""
    columns = usage_columns(body)
    if columns is None:
        return ""
    heads = "".join(f'<td align="right" style="background-color:{header_bg}; color:{text}">'
                    f"<b>{name}</b></td>" for name, _ in columns)
    values = "".join(f'<td align="right" style="color:{text}">{tokens:,}</td>'
                     for _, tokens in columns)
    stop = body.get("stop_reason")
    said = f" · stop reason: {html.escape(str(stop))}" if stop is not None else ""
    return (f'<p style="color:{muted}; margin-top:6px">Usage (tokens){said}</p>'
            '<table border="0" cellspacing="0" cellpadding="4" style="margin:2px 0">'
            f"<tr>{heads}</tr><tr>{values}</tr></table>")
