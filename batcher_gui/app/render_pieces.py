"""The parts of a request or response body (content parts, messages, tool calls, responses API
items, embeddings, moderations) as pieces of text for the conversation view
(:mod:`batcher_gui.app.render`, which makes blocks of them).

Pure functions (no widgets, no QApplication); a shape they do not know is summarised as a note
or shown as compact JSON, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from batcher_gui.app.render_text import base64_size, byte_size, compact_json, shorten

_CALL_CAP = 200  # a tool call summary is a one-line hint; the JSON tab has the full arguments
_NAMES_CAP = 20
_NUMBERS_SHOWN = 5

Piece = tuple[str, str]
"""One line of a block: (kind, text) where kind is "text", "note" (muted) or "code"."""


@dataclass(slots=True)
class Block:
    """One titled block of the conversation view: a message of a role, a tool call, a result.

    Attributes:
        role: "system", "user", "assistant" or "tool" (its header's colour).
        fold: set for a block shown folded until asked for (a model's thinking): its title
            and size show; the text only once the user opens it.
    """

    role: str
    title: str
    pieces: list[Piece]
    fold: bool = False


def image_summary(url: Any, file_id: Any = None) -> str:
    if isinstance(url, str) and url.startswith("data:"):
        header, _, payload = url.partition(",")
        mime = header[5:].split(";", 1)[0]
        kind = (mime.split("/")[-1] or "image").upper()
        size = len(payload) * 3 // 4 if ";base64" in header else len(payload)
        return f"[image: {kind}, {byte_size(size)}]"
    if isinstance(url, str) and url:
        return f"[image: {shorten(url, 120)}]"
    return f"[image: file {file_id}]" if file_id else "[image]"


def part_pieces(part: Any) -> list[Piece]:
    """One content part of a chat message / responses input (text, image, audio, file)."""
    if isinstance(part, str):
        return [("text", part)]
    if isinstance(part, list) and part and all(isinstance(x, int) for x in part):
        return [("note", f"[{len(part)} tokens]")]
    if not isinstance(part, dict):
        return [("code", compact_json(part))]
    kind = part.get("type")
    if isinstance(part.get("text"), str):
        return [("text", part["text"])]
    if isinstance(part.get("refusal"), str):
        return [("note", f"refused: {part['refusal']}")]
    if kind in ("image_url", "input_image") or "image_url" in part:
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return [("note", image_summary(url, part.get("file_id")))]
    if kind == "input_audio" or isinstance(part.get("input_audio"), dict):
        audio = part["input_audio"] if isinstance(part.get("input_audio"), dict) else part
        fmt = str(audio.get("format") or "audio").upper()
        return [("note", f"[audio: {fmt}, {base64_size(audio.get('data'))}]")]
    if kind in ("file", "input_file"):
        file = part["file"] if isinstance(part.get("file"), dict) else part
        name = file.get("filename") or file.get("file_id") or file.get("file_url") or "attached"
        return [("note", f"[file: {name}]")]
    return claude_part_pieces(kind, part)


def source_summary(kind: Any, source: dict[str, Any], title: Any = None) -> str:
    """A Claude image or document block's ``source`` in one line, never its data."""
    what = "image" if kind == "image" else "document"
    media = str(source.get("media_type") or "").split("/")[-1].upper()
    if source.get("type") == "base64":
        return f"[{what}: {media or '?'}, {base64_size(source.get('data'))}]"
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return f"[{what}: {shorten(source['url'], 120)}]"
    if source.get("type") == "text" and isinstance(source.get("data"), str):
        return f"[{what}: {title or 'text'}, {len(source['data']):,} characters]"
    if source.get("file_id"):
        return f"[{what}: file {source['file_id']}]"
    return f"[{what}: {title}]" if title else f"[{what}]"


def claude_part_pieces(kind: Any, part: dict[str, Any]) -> list[Piece]:
    """A content block of a Claude (Messages) request that is not text: images and documents
    (summarised), tool calls and results, thinking (its size: the answer view unfolds it)."""
    if isinstance(part.get("source"), dict):
        return [("note", source_summary(kind, part["source"], part.get("title")))]
    if kind in ("tool_use", "server_tool_use"):
        return [("code", call_summary(part))]
    if kind == "tool_result":
        said = "tool error" if part.get("is_error") else "tool result"
        return [("note", f"{said} for {part.get('tool_use_id') or '?'}"),
                *content_pieces(part.get("content"))]
    if kind == "thinking" and isinstance(part.get("thinking"), str):
        return [("note", f"[thinking: {len(part['thinking']):,} characters]")]
    if kind == "redacted_thinking":
        return [("note", "[redacted thinking]")]
    return [("note", f"[{kind or 'part'}]")]


def content_pieces(content: Any) -> list[Piece]:
    if content is None:
        return []
    if isinstance(content, list) and not all(isinstance(x, int) for x in content):
        return [piece for part in content for piece in part_pieces(part)]
    return part_pieces(content)


def call_summary(call: Any) -> str:
    if not isinstance(call, dict):
        return shorten(f"calls {compact_json(call)}", _CALL_CAP)
    fn = call.get("function") or call.get("custom")
    fn = fn if isinstance(fn, dict) else call
    args = fn.get("arguments", fn.get("input", ""))
    args = args if isinstance(args, str) else compact_json(args)
    # Cut before collapsing whitespace: arguments can be megabytes.
    args = " ".join(args[: _CALL_CAP * 2].split())
    return shorten(f"calls {fn.get('name') or '?'}({args})", _CALL_CAP)


def message_pieces(message: dict[str, Any]) -> list[Piece]:
    """A chat message's content, refusal and tool calls."""
    pieces = content_pieces(message.get("content"))
    if isinstance(message.get("refusal"), str):
        pieces.append(("note", f"refused: {message['refusal']}"))
    if isinstance(message.get("audio"), dict):
        pieces.append(("note", f"[audio] {message['audio'].get('transcript') or ''}"))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        pieces.extend(("code", call_summary(call)) for call in calls)
    if isinstance(message.get("function_call"), dict):
        pieces.append(("code", call_summary(message["function_call"])))
    return pieces


def item_pieces(item: Any) -> list[Piece]:
    """One item of a responses API input or output list."""
    if not isinstance(item, dict):
        return part_pieces(item)
    kind = item.get("type")
    if kind in ("function_call", "custom_tool_call"):
        return [("code", call_summary(item))]
    if kind in ("function_call_output", "custom_tool_call_output"):
        return content_pieces(item.get("output"))
    if kind == "reasoning":
        summary = item.get("summary")
        texts = [s["text"] for s in summary if isinstance(s, dict) and isinstance(
            s.get("text"), str)] if isinstance(summary, list) else []
        return [("note", "reasoning: " + "\n".join(texts) if texts else "[reasoning]")]
    if kind == "message" or "role" in item:
        return content_pieces(item.get("content"))
    return [("note", f"[{kind or 'item'}]")]

def tool_names(tools: list[Any]) -> str:
    names = []
    for tool in tools:  # chat nests {"function": {"name"}}, responses has {"name"} or a type
        fn = tool.get("function") if isinstance(tool, dict) else None
        fn = fn if isinstance(fn, dict) else tool
        names.append(str((fn.get("name") or fn.get("type")) if isinstance(fn, dict) else "?"))
    more = f" +{len(names) - _NAMES_CAP} more" if len(names) > _NAMES_CAP else ""
    return ", ".join(names[:_NAMES_CAP]) + more

def embedding_pieces(data: list[dict[str, Any]]) -> list[Piece]:
    first, many = data[0].get("embedding"), len(data) > 1
    if isinstance(first, str):  # encoding_format="base64"
        return [("text", f"{len(data)} embeddings" if many else "embedding"),
                ("note", f"base64, {base64_size(first)}")]
    if not isinstance(first, list):
        return [("code", compact_json(first))]
    head = (f"{len(data)} embeddings, {len(first)} dimensions each" if many
            else f"embedding, {len(first)} dimensions")
    numbers = ", ".join(f"{x:.6g}" if isinstance(x, int | float) else "?"
                        for x in first[:_NUMBERS_SHOWN])
    tail = ", …" if len(first) > _NUMBERS_SHOWN else ""
    return [("text", head), ("code", f"[{numbers}{tail}]")]


def moderation_pieces(results: list[Any]) -> list[Piece]:
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
