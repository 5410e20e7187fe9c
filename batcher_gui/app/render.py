"""Turn a stored prompt (request body, response body, error) into HTML for a read-only viewer.

Pure functions (no widgets, no QApplication). They accept any bytes: a viewer that raised on an
odd body would hide the very prompt the user is inspecting, so unknown shapes show as JSON text.
A body's parts are read into pieces of text by :mod:`batcher_gui.app.render_pieces`; the JSON
and usage text of the other tabs is :mod:`batcher_gui.app.render_text` (also importable here).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from batcher_gui.app.render_claude import is_message, message_blocks, usage_html
from batcher_gui.app.render_pieces import (
    Block,
    Piece,
    content_pieces,
    embedding_pieces,
    image_summary,
    item_pieces,
    message_pieces,
    moderation_pieces,
    part_pieces,
    tool_names,
)
from batcher_gui.app.render_text import (
    NOT_JSON,
    base64_size,
    parse_json,
    pretty_json,
    shorten,
    usage_text,
)
from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT

log = logging.getLogger(__name__)

#: Characters of message text rendered in total; QTextBrowser lays out everything it is given
#: on the GUI thread, so a 2 MB answer would freeze the window for seconds.
TEXT_CAP = 200_000
_ERROR_CAP = 20_000
# Endpoints whose "conversation" is an input and a computed result rather than a chat.
_RESULT_ENDPOINTS = frozenset({"/v1/embeddings", "/v1/moderations"})
_ROLES = {
    "system": ("system", "System"), "developer": ("system", "Developer"),
    "user": ("user", "User"), "assistant": ("assistant", "Assistant"),
    "tool": ("tool", "Tool"), "function": ("tool", "Tool"),
}
_QUIET_FINISH = frozenset({None, "stop", "tool_calls", "function_call"})


@dataclass(frozen=True, slots=True)
class Colors:
    """Hex colours for the conversation view, readable (WCAG AA contrast) in either mode.

    ``text`` is also drawn on the role header backgrounds (``*_bg``); ``muted`` is for notes
    and summaries; ``error`` is drawn on the window background and on ``error_bg``.
    """

    text: str
    muted: str
    system_bg: str
    user_bg: str
    assistant_bg: str
    tool_bg: str
    error: str
    error_bg: str

    @classmethod
    def from_palette(cls, is_dark: bool) -> Colors:
        """The colours for a dark or a light window background."""
        if is_dark:
            return cls(text="#e6edf3", muted="#a0aab5", system_bg="#30363d", user_bg="#1d3a5c",
                       assistant_bg="#1e3f2c", tool_bg="#4a3510", error="#ff9b94",
                       error_bg="#4a1c1c")
        return cls(text="#1f2328", muted="#59636e", system_bg="#e6e9ed", user_bg="#dcebff",
                   assistant_bg="#dcf5e3", tool_bg="#fff0d1", error="#b3261e",
                   error_bg="#fde7e6")

    def role_bg(self, role: str) -> str:
        """The header background for a role key ("system", "user", "assistant", "tool")."""
        return str(getattr(self, f"{role}_bg", self.system_bg))


class _Budget:
    """Hands out the remaining characters and counts what did not fit."""

    def __init__(self, cap: int) -> None:
        self.left, self.skipped = cap, 0

    def take(self, text: str) -> str:
        shown = text[: self.left]
        self.skipped += len(text) - len(shown)
        self.left -= len(shown)
        return shown


def _role_block(role: Any, pieces: list[Piece]) -> Block:
    key, title = _ROLES.get(str(role).lower(), ("system", str(role).title() or "Message"))
    return Block(key, title, pieces or [("note", "(empty)")])


def _input_blocks(value: Any, user_title: str) -> list[Block]:
    """The ``input`` of a responses, embeddings or moderations request."""
    is_items = isinstance(value, list) and value and all(
        isinstance(v, dict) and ("role" in v or str(v.get("type", "")).startswith(
            ("message", "function_call", "custom_tool_call", "reasoning", "item_reference")))
        for v in value)
    if not is_items:
        return [Block("user", user_title, content_pieces(value) or [("note", "(empty)")])]
    # Items without a role are the model's own (calls, reasoning) except the tool outputs.
    return [_role_block("tool" if str(item.get("type")).endswith("call_output")
                        else item.get("role", "assistant"), item_pieces(item)) for item in value]


def _raw_block(title: str, data: Any) -> Block:
    label = title if parse_json(data) is not NOT_JSON else f"{title} (not JSON)"
    text, _ = pretty_json(data)
    return Block("system", label, [("code", text)] if text else [("note", "(empty)")])


def _request_blocks(endpoint: str, data: Any, meta: list[str]) -> list[Block]:
    body = parse_json(data)
    if not isinstance(body, dict):
        return [_raw_block("Request", data)]
    if isinstance(body.get("model"), str):
        meta.append(f"model: {body['model']}")
    if isinstance(body.get("tools"), list) and body["tools"]:
        meta.append(f"tools: {tool_names(body['tools'])}")
    if endpoint == MESSAGES_ENDPOINT and isinstance(body.get("max_tokens"), int):
        meta.append(f"max_tokens: {body['max_tokens']:,}")
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and isinstance(thinking.get("budget_tokens"), int):
        meta.append(f"thinking: up to {thinking['budget_tokens']:,} tokens")
    blocks = []
    if isinstance(body.get("instructions"), str):
        blocks.append(Block("system", "System", [("text", body["instructions"])]))
    if body.get("system"):  # Claude: a text or a list of text blocks, outside the messages
        blocks.append(Block("system", "System", content_pieces(body["system"])))
    user_title = "Input" if endpoint in _RESULT_ENDPOINTS else "User"
    if isinstance(body.get("messages"), list):
        blocks += [_role_block(m.get("role"), message_pieces(m)) if isinstance(m, dict)
                   else Block("system", "Message", part_pieces(m)) for m in body["messages"]]
    elif "input" in body:
        blocks += _input_blocks(body["input"], user_title)
    elif "prompt" in body:
        blocks.append(Block("user", user_title, content_pieces(body["prompt"])))
    return blocks or [_raw_block("Request", data)]


def _answer_pieces(body: dict[str, Any]) -> list[Piece] | None:
    """The answer in a response body, or None if its shape is not one we know."""
    choices, output, data = body.get("choices"), body.get("output"), body.get("data")
    if isinstance(choices, list):
        pieces: list[Piece] = []
        for i, choice in enumerate(c for c in choices if isinstance(c, dict)):
            if len(choices) > 1:
                pieces.append(("note", f"choice {i + 1}"))
            if isinstance(choice.get("message"), dict):
                pieces += message_pieces(choice["message"])
            elif isinstance(choice.get("text"), str):  # legacy completions
                pieces.append(("text", choice["text"]))
            if choice.get("finish_reason") not in _QUIET_FINISH:
                pieces.append(("note", f"finish reason: {choice['finish_reason']}"))
        return pieces
    if isinstance(output, list):
        pieces = [piece for item in output for piece in item_pieces(item)]
        details = body.get("incomplete_details")
        if body.get("status") == "incomplete":
            reason = details.get("reason") if isinstance(details, dict) else None
            pieces.append(("note", f"incomplete: {reason or 'unknown reason'}"))
        return pieces
    if isinstance(data, list) and data and all(isinstance(d, dict) for d in data):
        if all("embedding" in d for d in data):
            return embedding_pieces(data)
        if all("b64_json" in d or "url" in d for d in data):  # images
            return [("note", image_summary(d.get("url")) if d.get("url") else
                     f"[image: {base64_size(d.get('b64_json'))}]") for d in data]
    if isinstance(body.get("results"), list):
        return moderation_pieces(body["results"])
    return None


def _response_blocks(endpoint: str, data: Any, body: Any) -> list[Block]:
    """The answer's blocks (``body``: ``data`` parsed, or NOT_JSON)."""
    if is_message(body):
        return message_blocks(body)
    pieces = _answer_pieces(body) if isinstance(body, dict) else None
    if pieces is None:
        return [_raw_block("Response", data)]
    title = "Result" if endpoint in _RESULT_ENDPOINTS else "Assistant"
    return [Block("assistant", title, pieces or [("note", "(empty answer)")])]


def _safe(title: str, data: Any, build: Callable[[], list[Block]]) -> list[Block]:
    try:
        return build()
    except Exception:
        # A body shape nobody anticipated: show its text rather than nothing.
        log.debug("cannot render %s as a conversation", title, exc_info=True)
        return [_raw_block(title, data)]


def _safe_usage(body: Any, palette: Colors) -> str:
    """A Claude answer's usage table ('' for any other body)."""
    if not is_message(body):
        return ""
    try:
        return usage_html(body, palette.text, palette.muted, palette.system_bg)
    except Exception:  # an odd usage object: the JSON tab shows it
        log.debug("cannot render the usage of an answer", exc_info=True)
        return ""


def _table(header_bg: str, header_fg: str, title: str, body: str,
           title_html: str | None = None) -> str:
    head = title_html or f"<b>{html.escape(title)}</b>"
    rest = f"<tr><td>{body}</td></tr>" if body else ""
    return ('<table width="100%" border="0" cellspacing="0" cellpadding="4" style="margin:4px 0">'
            f'<tr><td style="background-color:{header_bg}; color:{header_fg}">'
            f"{head}</td></tr>{rest}</table>")


def _fold_title(block: Block, key: int, open_: bool, colors: Colors) -> str:
    """A folded block's header: a link that opens or closes it (``fold:N``)."""
    arrow, action = ("▾", "click to hide") if open_ else ("▸", "click to show")
    return (f'<a href="fold:{key}" style="color:{colors.text}; text-decoration:none">'
            f"<b>{arrow} {html.escape(block.title)}</b></a>"
            f' <span style="color:{colors.muted}">({action})</span>')


def _block_html(block: Block, colors: Colors, budget: _Budget, title: str | None = None) -> str:
    styles = {"text": f"color:{colors.text}",
              "note": f"color:{colors.muted}; font-style:italic",
              "code": f"color:{colors.text}; font-family:monospace"}
    lines = []
    for kind, text in block.pieces:
        shown = budget.take(text)
        if shown:
            lines.append(f'<div style="white-space:pre-wrap; {styles.get(kind, styles["text"])}">'
                         f"{html.escape(shown, quote=False)}</div>")
    if not lines and budget.left == 0:
        return ""  # everything of this block is past the cap: no empty header either
    return _table(colors.role_bg(block.role), colors.text, block.title, "".join(lines), title)


def conversation_html(
    endpoint: str, request_body: bytes, response: bytes | None, error: str | None,
    palette: Colors, opened: Collection[int] = (),
) -> str:
    """Render one prompt as a conversation for a read-only QTextBrowser.

    Args:
        endpoint: the endpoint URL (``/v1/chat/completions`` ...).
        request_body: the JSON body sent to the provider.
        response: the provider's response body, if any.
        error: why the prompt failed, shown in red at the end.
        palette: colours matching the window's light or dark mode.
        opened: the folded blocks (a Claude answer's thinking) shown open, by number in
            order of appearance (0, 1...): the number of a fold's ``fold:N`` link.

    Returns:
        HTML text. Never raises; bodies that cannot be read are shown as text, and message text
        beyond TEXT_CAP characters is replaced by a note pointing to the JSON tab.
    """
    meta: list[str] = []
    blocks = _safe("Request", request_body,
                   lambda: _request_blocks(endpoint, request_body, meta))
    answer = NOT_JSON if response is None else parse_json(response)  # parsed once: MBs
    if response is not None:
        blocks += _safe("Response", response,
                        lambda: _response_blocks(endpoint, response, answer))
    budget = _Budget(TEXT_CAP)
    meta_line = html.escape(" · ".join(meta))
    parts = [f'<p style="color:{palette.muted}">{meta_line}</p>'] if meta else []
    folds = 0
    for block in blocks:
        if not block.fold:
            parts.append(_block_html(block, palette, budget))
            continue
        title = _fold_title(block, folds, folds in opened, palette)
        if folds in opened:
            parts.append(_block_html(block, palette, budget, title))
        else:  # folded: its title and size only (nothing of the text, nothing of the budget)
            parts.append(_table(palette.role_bg(block.role), palette.text, block.title, "",
                                title))
        folds += 1
    parts.append(_safe_usage(answer, palette))
    if budget.skipped:
        parts.append(f'<p style="color:{palette.muted}; font-style:italic">'
                     f"… ({budget.skipped:,} more characters; see the JSON tab)</p>")
    if error:
        body = (f'<div style="white-space:pre-wrap; color:{palette.error}">'
                f"{html.escape(shorten(error, _ERROR_CAP), quote=False)}</div>")
        parts.append(_table(palette.error_bg, palette.error, "Error", body))
    return "".join(parts)


# pretty_json and usage_text are made in render_text; the views import them from here.
__all__ = ["TEXT_CAP", "Colors", "conversation_html", "pretty_json", "usage_text"]
