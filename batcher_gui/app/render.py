"""Turn a stored prompt (request body, response body, error) into HTML for a read-only viewer.

Pure functions (no widgets, no QApplication). They accept any bytes: a viewer that raised on an
odd body would hide the very prompt the user is inspecting, so unknown shapes show as JSON text.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from batcher_gui.domain.money import usd

log = logging.getLogger(__name__)

#: Characters of message text rendered in total; QTextBrowser lays out everything it is given
#: on the GUI thread, so a 2 MB answer would freeze the window for seconds.
TEXT_CAP = 200_000
_CALL_CAP = 200  # a tool call summary is a one-line hint; the JSON tab has the full arguments
_ERROR_CAP = 20_000
_NAMES_CAP = 20
_NUMBERS_SHOWN = 5
# Endpoints whose "conversation" is an input and a computed result rather than a chat.
_RESULT_ENDPOINTS = frozenset({"/v1/embeddings", "/v1/moderations"})
_ROLES = {
    "system": ("system", "System"), "developer": ("system", "Developer"),
    "user": ("user", "User"), "assistant": ("assistant", "Assistant"),
    "tool": ("tool", "Tool"), "function": ("tool", "Tool"),
}
_QUIET_FINISH = frozenset({None, "stop", "tool_calls", "function_call"})
_BAD = object()  # sentinel: the bytes are not JSON

Piece = tuple[str, str]
"""One line of a block: (kind, text) where kind is "text", "note" (muted) or "code"."""


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


@dataclass(slots=True)
class _Block:
    role: str
    title: str
    pieces: list[Piece]


class _Budget:
    """Hands out the remaining characters and counts what did not fit."""

    def __init__(self, cap: int) -> None:
        self.left, self.skipped = cap, 0

    def take(self, text: str) -> str:
        shown = text[: self.left]
        self.skipped += len(text) - len(shown)
        self.left -= len(shown)
        return shown


def _loads(data: Any) -> Any:
    try:
        return orjson.loads(data)
    except (orjson.JSONDecodeError, TypeError):
        return _BAD


def _compact(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return str(value)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    return f"{round(n / 1024)} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MB"


def _b64_size(data: Any) -> str:
    return _size(len(data) * 3 // 4) if isinstance(data, str) else "size unknown"


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


def _image_summary(url: Any, file_id: Any = None) -> str:
    if isinstance(url, str) and url.startswith("data:"):
        header, _, payload = url.partition(",")
        mime = header[5:].split(";", 1)[0]
        kind = (mime.split("/")[-1] or "image").upper()
        size = len(payload) * 3 // 4 if ";base64" in header else len(payload)
        return f"[image: {kind}, {_size(size)}]"
    if isinstance(url, str) and url:
        return f"[image: {_shorten(url, 120)}]"
    return f"[image: file {file_id}]" if file_id else "[image]"


def _part_pieces(part: Any) -> list[Piece]:
    """One content part of a chat message / responses input (text, image, audio, file)."""
    if isinstance(part, str):
        return [("text", part)]
    if isinstance(part, list) and part and all(isinstance(x, int) for x in part):
        return [("note", f"[{len(part)} tokens]")]
    if not isinstance(part, dict):
        return [("code", _compact(part))]
    kind = part.get("type")
    if isinstance(part.get("text"), str):
        return [("text", part["text"])]
    if isinstance(part.get("refusal"), str):
        return [("note", f"refused: {part['refusal']}")]
    if kind in ("image_url", "input_image") or "image_url" in part:
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return [("note", _image_summary(url, part.get("file_id")))]
    if kind == "input_audio" or isinstance(part.get("input_audio"), dict):
        audio = part["input_audio"] if isinstance(part.get("input_audio"), dict) else part
        fmt = str(audio.get("format") or "audio").upper()
        return [("note", f"[audio: {fmt}, {_b64_size(audio.get('data'))}]")]
    if kind in ("file", "input_file"):
        file = part["file"] if isinstance(part.get("file"), dict) else part
        name = file.get("filename") or file.get("file_id") or file.get("file_url") or "attached"
        return [("note", f"[file: {name}]")]
    return [("note", f"[{kind or 'part'}]")]


def _content_pieces(content: Any) -> list[Piece]:
    if content is None:
        return []
    if isinstance(content, list) and not all(isinstance(x, int) for x in content):
        return [piece for part in content for piece in _part_pieces(part)]
    return _part_pieces(content)


def _call_summary(call: Any) -> str:
    if not isinstance(call, dict):
        return _shorten(f"calls {_compact(call)}", _CALL_CAP)
    fn = call.get("function") or call.get("custom")
    fn = fn if isinstance(fn, dict) else call
    args = fn.get("arguments", fn.get("input", ""))
    args = args if isinstance(args, str) else _compact(args)
    # Cut before collapsing whitespace: arguments can be megabytes.
    args = " ".join(args[: _CALL_CAP * 2].split())
    return _shorten(f"calls {fn.get('name') or '?'}({args})", _CALL_CAP)


def _message_pieces(message: dict[str, Any]) -> list[Piece]:
    """A chat message's content, refusal and tool calls."""
    pieces = _content_pieces(message.get("content"))
    if isinstance(message.get("refusal"), str):
        pieces.append(("note", f"refused: {message['refusal']}"))
    if isinstance(message.get("audio"), dict):
        pieces.append(("note", f"[audio] {message['audio'].get('transcript') or ''}"))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        pieces.extend(("code", _call_summary(call)) for call in calls)
    if isinstance(message.get("function_call"), dict):
        pieces.append(("code", _call_summary(message["function_call"])))
    return pieces


def _role_block(role: Any, pieces: list[Piece]) -> _Block:
    key, title = _ROLES.get(str(role).lower(), ("system", str(role).title() or "Message"))
    return _Block(key, title, pieces or [("note", "(empty)")])


def _item_pieces(item: Any) -> list[Piece]:
    """One item of a responses API input or output list."""
    if not isinstance(item, dict):
        return _part_pieces(item)
    kind = item.get("type")
    if kind in ("function_call", "custom_tool_call"):
        return [("code", _call_summary(item))]
    if kind in ("function_call_output", "custom_tool_call_output"):
        return _content_pieces(item.get("output"))
    if kind == "reasoning":
        summary = item.get("summary")
        texts = [s["text"] for s in summary if isinstance(s, dict) and isinstance(
            s.get("text"), str)] if isinstance(summary, list) else []
        return [("note", "reasoning: " + "\n".join(texts) if texts else "[reasoning]")]
    if kind == "message" or "role" in item:
        return _content_pieces(item.get("content"))
    return [("note", f"[{kind or 'item'}]")]


def _input_blocks(value: Any, user_title: str) -> list[_Block]:
    """The ``input`` of a responses, embeddings or moderations request."""
    is_items = isinstance(value, list) and value and all(
        isinstance(v, dict) and ("role" in v or str(v.get("type", "")).startswith(
            ("message", "function_call", "custom_tool_call", "reasoning", "item_reference")))
        for v in value)
    if not is_items:
        return [_Block("user", user_title, _content_pieces(value) or [("note", "(empty)")])]
    # Items without a role are the model's own (calls, reasoning) except the tool outputs.
    return [_role_block("tool" if str(item.get("type")).endswith("call_output")
                        else item.get("role", "assistant"), _item_pieces(item)) for item in value]


def _tool_names(tools: list[Any]) -> str:
    names = []
    for tool in tools:  # chat nests {"function": {"name"}}, responses has {"name"} or a type
        fn = tool.get("function") if isinstance(tool, dict) else None
        fn = fn if isinstance(fn, dict) else tool
        names.append(str((fn.get("name") or fn.get("type")) if isinstance(fn, dict) else "?"))
    more = f" +{len(names) - _NAMES_CAP} more" if len(names) > _NAMES_CAP else ""
    return ", ".join(names[:_NAMES_CAP]) + more


def _raw_block(title: str, data: Any) -> _Block:
    label = title if _loads(data) is not _BAD else f"{title} (not JSON)"
    text, _ = pretty_json(data)
    return _Block("system", label, [("code", text)] if text else [("note", "(empty)")])


def _request_blocks(endpoint: str, data: Any, meta: list[str]) -> list[_Block]:
    body = _loads(data)
    if not isinstance(body, dict):
        return [_raw_block("Request", data)]
    if isinstance(body.get("model"), str):
        meta.append(f"model: {body['model']}")
    if isinstance(body.get("tools"), list) and body["tools"]:
        meta.append(f"tools: {_tool_names(body['tools'])}")
    blocks = []
    if isinstance(body.get("instructions"), str):
        blocks.append(_Block("system", "System", [("text", body["instructions"])]))
    user_title = "Input" if endpoint in _RESULT_ENDPOINTS else "User"
    if isinstance(body.get("messages"), list):
        blocks += [_role_block(m.get("role"), _message_pieces(m)) if isinstance(m, dict)
                   else _Block("system", "Message", _part_pieces(m)) for m in body["messages"]]
    elif "input" in body:
        blocks += _input_blocks(body["input"], user_title)
    elif "prompt" in body:
        blocks.append(_Block("user", user_title, _content_pieces(body["prompt"])))
    return blocks or [_raw_block("Request", data)]


def _embedding_pieces(data: list[dict[str, Any]]) -> list[Piece]:
    first, many = data[0].get("embedding"), len(data) > 1
    if isinstance(first, str):  # encoding_format="base64"
        return [("text", f"{len(data)} embeddings" if many else "embedding"),
                ("note", f"base64, {_b64_size(first)}")]
    if not isinstance(first, list):
        return [("code", _compact(first))]
    head = (f"{len(data)} embeddings, {len(first)} dimensions each" if many
            else f"embedding, {len(first)} dimensions")
    numbers = ", ".join(f"{x:.6g}" if isinstance(x, int | float) else "?"
                        for x in first[:_NUMBERS_SHOWN])
    tail = ", …" if len(first) > _NUMBERS_SHOWN else ""
    return [("text", head), ("code", f"[{numbers}{tail}]")]


def _moderation_pieces(results: list[Any]) -> list[Piece]:
    pieces: list[Piece] = []
    for result in results:
        if not isinstance(result, dict):
            continue
        pieces.append(("text", "flagged" if result.get("flagged") else "not flagged"))
        cats, scores = result.get("categories"), result.get("category_scores")
        hits = [k for k, v in cats.items() if v is True] if isinstance(cats, dict) else []
        top = sorted(((v, k) for k, v in scores.items() if isinstance(v, int | float)),
                     reverse=True)[:3] if isinstance(scores, dict) else []
        if hits:
            pieces.append(("text", "categories: " + ", ".join(hits)))
        if top:
            pieces.append(("note", "top scores: " + ", ".join(f"{k} {v:.3f}" for v, k in top)))
    return pieces


def _answer_pieces(body: dict[str, Any]) -> list[Piece] | None:
    """The answer in a response body, or None if its shape is not one we know."""
    choices, output, data = body.get("choices"), body.get("output"), body.get("data")
    if isinstance(choices, list):
        pieces: list[Piece] = []
        for i, choice in enumerate(c for c in choices if isinstance(c, dict)):
            if len(choices) > 1:
                pieces.append(("note", f"choice {i + 1}"))
            if isinstance(choice.get("message"), dict):
                pieces += _message_pieces(choice["message"])
            elif isinstance(choice.get("text"), str):  # legacy completions
                pieces.append(("text", choice["text"]))
            if choice.get("finish_reason") not in _QUIET_FINISH:
                pieces.append(("note", f"finish reason: {choice['finish_reason']}"))
        return pieces
    if isinstance(output, list):
        pieces = [piece for item in output for piece in _item_pieces(item)]
        details = body.get("incomplete_details")
        if body.get("status") == "incomplete":
            reason = details.get("reason") if isinstance(details, dict) else None
            pieces.append(("note", f"incomplete: {reason or 'unknown reason'}"))
        return pieces
    if isinstance(data, list) and data and all(isinstance(d, dict) for d in data):
        if all("embedding" in d for d in data):
            return _embedding_pieces(data)
        if all("b64_json" in d or "url" in d for d in data):  # images
            return [("note", _image_summary(d.get("url")) if d.get("url") else
                     f"[image: {_b64_size(d.get('b64_json'))}]") for d in data]
    if isinstance(body.get("results"), list):
        return _moderation_pieces(body["results"])
    return None


def _response_blocks(endpoint: str, data: Any) -> list[_Block]:
    body = _loads(data)
    pieces = _answer_pieces(body) if isinstance(body, dict) else None
    if pieces is None:
        return [_raw_block("Response", data)]
    title = "Result" if endpoint in _RESULT_ENDPOINTS else "Assistant"
    return [_Block("assistant", title, pieces or [("note", "(empty answer)")])]


def _safe(title: str, data: Any, build: Callable[[], list[_Block]]) -> list[_Block]:
    try:
        return build()
    except Exception:
        # A body shape nobody anticipated: show its text rather than nothing.
        log.debug("cannot render %s as a conversation", title, exc_info=True)
        return [_raw_block(title, data)]


def _table(header_bg: str, header_fg: str, title: str, body: str) -> str:
    return ('<table width="100%" border="0" cellspacing="0" cellpadding="4" style="margin:4px 0">'
            f'<tr><td style="background-color:{header_bg}; color:{header_fg}">'
            f"<b>{html.escape(title)}</b></td></tr><tr><td>{body}</td></tr></table>")


def _block_html(block: _Block, colors: Colors, budget: _Budget) -> str:
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
    return _table(colors.role_bg(block.role), colors.text, block.title, "".join(lines))


def conversation_html(
    endpoint: str, request_body: bytes, response: bytes | None, error: str | None, palette: Colors
) -> str:
    """Render one prompt as a conversation for a read-only QTextBrowser.

    Args:
        endpoint: the endpoint URL (``/v1/chat/completions`` ...).
        request_body: the JSON body sent to the provider.
        response: the provider's response body, if any.
        error: why the prompt failed, shown in red at the end.
        palette: colours matching the window's light or dark mode.

    Returns:
        HTML text. Never raises; bodies that cannot be read are shown as text, and message text
        beyond TEXT_CAP characters is replaced by a note pointing to the JSON tab.
    """
    meta: list[str] = []
    blocks = _safe("Request", request_body,
                   lambda: _request_blocks(endpoint, request_body, meta))
    if response is not None:
        blocks += _safe("Response", response, lambda: _response_blocks(endpoint, response))
    budget = _Budget(TEXT_CAP)
    meta_line = html.escape(" · ".join(meta))
    parts = [f'<p style="color:{palette.muted}">{meta_line}</p>'] if meta else []
    parts += [_block_html(block, palette, budget) for block in blocks]
    if budget.skipped:
        parts.append(f'<p style="color:{palette.muted}; font-style:italic">'
                     f"… ({budget.skipped:,} more characters; see the JSON tab)</p>")
    if error:
        body = (f'<div style="white-space:pre-wrap; color:{palette.error}">'
                f"{html.escape(_shorten(error, _ERROR_CAP), quote=False)}</div>")
        parts.append(_table(palette.error_bg, palette.error, "Error", body))
    return "".join(parts)
