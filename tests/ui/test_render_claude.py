"""The conversation view of Claude prompts: Messages params (system, content blocks) on the
request side; the raw Anthropic ``message`` (text, tool_use, thinking, redacted_thinking,
stop_reason, usage with the prompt cache) on the answer side."""

from __future__ import annotations

from typing import Any

import orjson
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication

from batcher_gui.app.render import TEXT_CAP, Colors, conversation_html

MESSAGES = "/v1/messages"
LIGHT = Colors.from_palette(False)


def _plain(request: Any, response: Any = None, opened: set[int] | frozenset[int] = frozenset(),
           error: str | None = None) -> str:
    html_text = conversation_html(
        MESSAGES, orjson.dumps(request),
        None if response is None else orjson.dumps(response), error, LIGHT, opened)
    doc = QTextDocument()
    doc.setHtml(html_text)
    return doc.toPlainText()


def _message(*content: dict[str, Any], stop: str | None = "end_turn",
             usage: Any = None) -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": list(content), "stop_reason": stop, "stop_sequence": None,
            "usage": usage if usage is not None else {"input_tokens": 5, "output_tokens": 7}}


REQUEST = {"model": "claude-haiku-4-5", "max_tokens": 512,
           "messages": [{"role": "user", "content": "Hello"}]}


def test_the_request_reads_system_turns_and_every_kind_of_block(qapp: QApplication) -> None:
    pdf = "JVBERi0" * 400
    request = {"model": "claude-opus-4-1", "max_tokens": 4096, "system": "Answer in French.",
               "messages": [
                   {"role": "user", "content": [
                       {"type": "text", "text": "Read this."},
                       {"type": "document", "title": "Q3 report", "source": {
                           "type": "base64", "media_type": "application/pdf", "data": pdf}},
                       {"type": "image", "source": {"type": "url",
                                                    "url": "https://example.com/a.png"}}]},
                   {"role": "assistant", "content": [
                       {"type": "thinking", "thinking": "x" * 40, "signature": "s"},
                       {"type": "tool_use", "id": "t1", "name": "search",
                        "input": {"q": "Q3"}}]},
                   {"role": "user", "content": [
                       {"type": "tool_result", "tool_use_id": "t1", "content": "42 rows"}]}]}
    text = _plain(request)
    order = [text.index(s) for s in (
        "model: claude-opus-4-1", "max_tokens: 4,096", "System", "Answer in French.", "User",
        "Read this.", "[document: PDF, 2 KB]", "[image: https://example.com/a.png]",
        "Assistant", "[thinking: 40 characters]", 'calls search({"q":"Q3"})',
        "tool result for t1", "42 rows")]
    assert order == sorted(order)
    assert pdf[:40] not in text  # a document's data is never laid out


def test_text_and_tool_calls_in_order_each_call_a_block_of_its_own(qapp: QApplication) -> None:
    answer = _message({"type": "text", "text": "First,"},
                      {"type": "tool_use", "id": "t1", "name": "lookup",
                       "input": {"city": "Oslo", "days": 2}},
                      {"type": "text", "text": "then the rest."}, stop="tool_use")
    text = _plain(REQUEST, answer)
    assert "Assistant\nFirst,\n\nTool use: lookup\n{\n  \"city\": \"Oslo\",\n  \"days\": 2\n}" \
           "\n\nAssistant\nthen the rest." in text


def test_thinking_blocks_are_folded_and_open_one_by_one(qapp: QApplication) -> None:
    answer = _message({"type": "thinking", "thinking": "first thought", "signature": "s"},
                      {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
                      {"type": "text", "text": "Done."})
    folded = _plain(REQUEST, answer)
    assert "▸ Thinking · 13 characters (click to show)" in folded
    assert "▸ Redacted thinking · 19 characters (click to show)" in folded
    assert "first thought" not in folded and "EmwKAhgBEgy3va3pzix" not in folded
    second = _plain(REQUEST, answer, opened={1})
    assert "▾ Redacted thinking" in second and "EmwKAhgBEgy3va3pzix" in second
    assert "first thought" not in second  # only the one opened
    both = _plain(REQUEST, answer, opened={0, 1})
    assert "first thought" in both and both.index("first thought") < both.index("Done.")


def test_usage_shows_the_cache_columns(qapp: QApplication) -> None:
    split = {"input_tokens": 3, "output_tokens": 40, "cache_read_input_tokens": 2000,
             "cache_creation_input_tokens": 700,
             "cache_creation": {"ephemeral_5m_input_tokens": 200,
                                "ephemeral_1h_input_tokens": 500}}
    text = _plain(REQUEST, _message({"type": "text", "text": "ok"}, usage=split))
    lines = text[text.index("Usage (tokens) · stop reason: end_turn"):].splitlines()
    assert lines[1:11] == ["Input", "Cache read", "Cache write 5 m", "Cache write 1 h",
                           "Output", "3", "2,000", "200", "500", "40"]
    # Without the 5 m / 1 h split every cache write is a 5-minute one (the default).
    plain = {"input_tokens": 3, "output_tokens": 4, "cache_creation_input_tokens": 90}
    text = _plain(REQUEST, _message({"type": "text", "text": "ok"}, usage=plain))
    assert text.splitlines()[-5:] == ["3", "0", "90", "0", "4"]


def test_an_answer_cut_at_max_tokens_says_so(qapp: QApplication) -> None:
    text = _plain(REQUEST, _message({"type": "text", "text": "Once upon"}, stop="max_tokens"))
    assert "Once upon\nstopped: max_tokens (the max_tokens limit was reached)" in text
    assert "stop reason: max_tokens" in text
    assert "stopped:" not in _plain(REQUEST, _message({"type": "text", "text": "Hi"}))


def test_odd_answers_are_shown_never_hidden(qapp: QApplication) -> None:
    unknown = _message({"type": "web_search_tool_result", "content": []},
                       {"type": "text", "text": "found it"})
    text = _plain(REQUEST, unknown)
    assert "[web_search_tool_result]" in text and "found it" in text
    assert "(empty answer)" in _plain(REQUEST, _message())
    broken_usage = _plain(REQUEST, _message({"type": "text", "text": "fine"},
                                            usage={"input_tokens": "many"}))
    assert "fine" in broken_usage and "Usage (tokens)" in broken_usage
    not_a_message = {"content": [{"type": "text", "text": "no type"}]}
    assert '"no type"' in _plain(REQUEST, not_a_message)  # shown as its JSON
    assert "overloaded_error: Overloaded" in _plain(REQUEST, None,
                                                    error="overloaded_error: Overloaded")


def test_folded_thinking_costs_nothing_of_the_text_cap(qapp: QApplication) -> None:
    huge = "t" * (TEXT_CAP + 10)
    answer = _message({"type": "thinking", "thinking": huge, "signature": "s"},
                      {"type": "text", "text": "the answer"})
    folded = _plain(REQUEST, answer)
    assert "the answer" in folded and "more characters" not in folded
    assert f"Thinking · {len(huge):,} characters" in folded
    opened = _plain(REQUEST, answer, opened={0})
    assert "more characters; see the JSON tab" in opened  # the cap still holds when open
