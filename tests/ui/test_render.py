"""The conversation renderer, pretty JSON, usage line and the highlighted JSON view."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson
import pytest
from PySide6.QtGui import QColor, QFontDatabase, QPalette, QTextDocument
from PySide6.QtWidgets import QApplication

from batcher_gui.app import render
from batcher_gui.app.render import Colors, conversation_html, pretty_json, usage_text
from batcher_gui.ui.views.json_view import HIGHLIGHT_LIMIT, JsonView

CHAT = "/v1/chat/completions"
LIGHT = Colors.from_palette(False)


def _b(value: Any) -> bytes:
    return orjson.dumps(value)


def _html(request: Any, response: Any = None, error: str | None = None,
          endpoint: str = CHAT) -> str:
    req = request if isinstance(request, bytes) else _b(request)
    resp = response if response is None or isinstance(response, bytes) else _b(response)
    return conversation_html(endpoint, req, resp, error, LIGHT)


def _plain(html_text: str) -> str:
    """What the user reads: the HTML as laid out by Qt's rich text engine."""
    doc = QTextDocument()
    doc.setHtml(html_text)
    return doc.toPlainText()


def _chat_answer(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2}}


# ---------------------------------------------------------------- conversation_html


def test_chat_renders_each_role_in_order_with_newlines_kept(qapp: QApplication) -> None:
    request = {"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "Be terse.\n  Indented rule."},
        {"role": "user", "content": "What is 2+2?"},
    ]}
    text = _plain(_html(request, _chat_answer({"role": "assistant", "content": "4"})))
    order = [text.index(s) for s in ("model: gpt-4o-mini", "System", "Be terse.", "User",
                                     "What is 2+2?", "Assistant\n4")]
    assert order == sorted(order)
    assert "Be terse.\n  Indented rule." in text  # newlines and indentation survive


def test_multimodal_image_is_summarised_never_embedded() -> None:
    payload = "iVBORw0K" * 2048  # 16,384 base64 characters = 12 KB of PNG
    request = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "Describe these"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{payload}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA" * 512, "format": "wav"}},
    ]}]}
    out = _html(request)
    assert payload[:64] not in out and "base64" not in out
    assert "[image: PNG, 12 KB]" in out
    assert "[image: https://example.com/cat.jpg]" in out
    assert "[audio: WAV, 2 KB]" in out
    assert "Describe these" in out


def test_tool_definitions_and_calls_are_summarised() -> None:
    request = {"messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "lookup", "arguments": "{\"q\": \"x\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "lookup result"},
    ], "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}},
                 {"type": "function", "function": {"name": "lookup"}}]}
    long_args = orjson.dumps({"city": "Paris", "notes": "n" * 5000}).decode()
    answer = _chat_answer({"role": "assistant", "content": None, "tool_calls": [
        {"id": "c2", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
        {"id": "c3", "type": "function", "function": {"name": "get_weather",
                                                      "arguments": long_args}},
    ]}, finish="tool_calls")
    text = _plain(_html(request, answer))
    assert "tools: get_weather, lookup" in text
    assert 'calls lookup({"q": "x"})' in text
    assert "Tool\nlookup result" in text
    assert 'calls get_weather({"city": "Paris"})' in text
    long_line = next(line for line in text.splitlines() if "notes" in line)
    assert len(long_line) <= 200 and long_line.endswith("…")
    assert "finish reason" not in text  # tool_calls is a normal ending, not worth a note


def test_responses_api_input_items_and_output_items() -> None:
    request = {"model": "gpt-5", "instructions": "You are a librarian.", "input": [
        {"role": "user", "content": [
            {"type": "input_text", "text": "Find the book."},
            {"type": "input_image", "image_url": "data:image/jpeg;base64," + "A" * 4096}]},
        {"type": "function_call", "call_id": "f1", "name": "search",
         "arguments": "{\"title\": \"Dune\"}"},
        {"type": "function_call_output", "call_id": "f1", "output": "shelf 12"},
    ], "tools": [{"type": "function", "name": "search"}, {"type": "web_search"}]}
    response = {"status": "completed", "output": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Checked shelf."}]},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "It is on shelf 12.", "annotations": []}]},
        {"type": "function_call", "name": "reserve", "arguments": "{\"id\": 7}"},
    ]}
    text = _plain(_html(request, response, endpoint="/v1/responses"))
    assert "tools: search, web_search" in text
    assert "System\nYou are a librarian." in text
    assert "User\nFind the book.\n[image: JPEG, 3 KB]" in text
    assert 'Assistant\ncalls search({"title": "Dune"})' in text
    assert "Tool\nshelf 12" in text
    assert "reasoning: Checked shelf." in text
    assert "It is on shelf 12." in text and 'calls reserve({"id": 7})' in text
    assert text.index("librarian") < text.index("Find the book") < text.index("shelf 12.")


def test_responses_api_plain_string_input_and_incomplete_status() -> None:
    response = {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
                "output": [{"type": "message", "role": "assistant",
                            "content": [{"type": "output_text", "text": "Once upon"}]}]}
    text = _plain(_html({"input": "Tell a story"}, response, endpoint="/v1/responses"))
    assert "User\nTell a story" in text
    assert "Once upon" in text and "incomplete: max_output_tokens" in text


def test_embeddings_show_dimensions_and_first_numbers() -> None:
    vector = [0.125, -0.5, 0.25, 1.0, 2.0, 3.0, 4.0] + [0.0] * 1529
    one = _plain(_html({"input": "hello"}, {"data": [{"embedding": vector, "index": 0}]},
                       endpoint="/v1/embeddings"))
    assert "Input\nhello" in one
    assert "embedding, 1536 dimensions" in one
    assert "[0.125, -0.5, 0.25, 1, 2, …]" in one and "3.0" not in one
    many = _plain(_html({"input": ["a", "b"]}, {"data": [{"embedding": vector}] * 2},
                        endpoint="/v1/embeddings"))
    assert "a\nb" in many and "2 embeddings, 1536 dimensions each" in many


def test_moderations_show_flag_and_top_categories() -> None:
    response = {"results": [{
        "flagged": True, "categories": {"violence": True, "hate": False, "self-harm": False},
        "category_scores": {"violence": 0.912, "hate": 0.2, "self-harm": 0.05, "sexual": 0.001},
    }]}
    text = _plain(_html({"input": "some text"}, response, endpoint="/v1/moderations"))
    assert "Input\nsome text" in text
    assert "Result\nflagged\ncategories: violence" in text
    assert "top scores: violence 0.912, hate 0.200, self-harm 0.050" in text
    assert "sexual" not in text  # only the top three
    calm = _html({"input": "hi"}, {"results": [{"flagged": False}]}, endpoint="/v1/moderations")
    assert "not flagged" in calm


def test_completions_prompt_and_text_answer() -> None:
    response = {"choices": [{"text": " Hi there!", "finish_reason": "length"}]}
    text = _plain(_html({"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi"}, response,
                        endpoint="/v1/completions"))
    assert "User\nSay hi" in text
    assert "Assistant\n Hi there!" in text
    assert "finish reason: length" in text


def test_malformed_request_body_shown_as_text() -> None:
    text = _plain(_html(b'{"messages": [{"role": "user", "content": "unfinished <b>'))
    assert "Request (not JSON)" in text
    assert '"content": "unfinished <b>' in text


def test_unknown_response_shape_shown_as_pretty_json() -> None:
    text = _plain(_html({"prompt": "x"}, {"object": "mystery", "value": 1},
                        endpoint="/v1/completions"))
    assert "Response\n{\n  \"object\": \"mystery\",\n  \"value\": 1\n}" in text


@pytest.mark.parametrize("request_body, response", [
    (b"", None),
    (b"\xff\xfe not utf-8", b"\xff"),
    (b"null", b"[1, 2]"),
    (b'{"messages": "not a list"}', b'{"choices": [null, {"message": 3}, {"text": 5}]}'),
    (b'{"messages": [1, null, {"role": 5, "content": {"odd": true}}]}',
     b'{"output": [1, {"type": "reasoning", "summary": "x"}, {"type": "web_search_call"}]}'),
    (b'{"input": [{"role": "user", "content": [{"type": "input_image"}, {"type": "?"}]}]}',
     b'{"data": [{"embedding": "AAAA"}], "results": 3}'),
    (b'{"tools": [1, {"function": 2}], "prompt": [1, 2, 3]}', b'{"data": [{"url": 5}]}'),
])
def test_odd_bodies_never_raise(request_body: bytes, response: bytes | None) -> None:
    out = conversation_html(CHAT, request_body, response, None, LIGHT)
    assert out.startswith(("<table", "<p"))
    assert _plain(out).strip()  # something readable, never an empty view


def test_unexpected_failure_falls_back_to_json_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(body: dict[str, Any]) -> None:
        raise KeyError("a shape nobody anticipated")

    monkeypatch.setattr(render, "_answer_pieces", broken)
    text = _plain(_html({"prompt": "x"}, {"choices": [{"text": "fine"}]}))
    assert "Response" in text and '"text": "fine"' in text


def test_huge_response_is_capped_with_a_note() -> None:
    answer = "x" * 1_000_000
    out = _html({"messages": [{"role": "user", "content": "hi"}]},
                _chat_answer({"role": "assistant", "content": answer}), error="late failure")
    assert len(out) < render.TEXT_CAP + 10_000
    # 2 + 1,000,000 characters of message text, 200,000 shown.
    assert "… (800,002 more characters; see the JSON tab)" in out
    assert "late failure" in out  # the error is still shown after the cut


def test_error_block_is_red_and_escaped() -> None:
    out = _html({"prompt": "x"}, error="HTTP 400 invalid_request: bad <model>")
    assert f"background-color:{LIGHT.error_bg}" in out and f"color:{LIGHT.error}" in out
    assert "bad &lt;model&gt;" in out
    assert _plain(out).endswith("Error\nHTTP 400 invalid_request: bad <model>\n")
    assert "Error" not in _html({"prompt": "x"})


def test_user_text_is_escaped() -> None:
    out = _html({"messages": [{"role": "user", "content": "<script>alert(1)</script> & co"}]})
    assert "<script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in out


def _contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("dark, window", [(False, "#ffffff"), (False, "#efefef"),
                                          (True, "#1e1e1e"), (True, "#353535")])
def test_colours_are_readable_in_light_and_dark(dark: bool, window: str) -> None:
    c = Colors.from_palette(dark)
    for role in ("system", "user", "assistant", "tool"):
        assert _contrast(c.text, c.role_bg(role)) >= 4.5, role
    for fg in (c.text, c.muted, c.error):
        assert _contrast(fg, window) >= 4.5, fg
    assert _contrast(c.error, c.error_bg) >= 4.5
    assert len({c.system_bg, c.user_bg, c.assistant_bg, c.tool_bg}) == 4  # roles tell apart
    with pytest.raises(AttributeError):
        c.text = "#000000"  # type: ignore[misc]  # frozen


def test_render_module_needs_no_qt() -> None:
    code = "import sys, batcher_gui.app.render; assert 'PySide6' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---------------------------------------------------------------- pretty_json / usage_text


def test_pretty_json_indents_and_flags_truncation() -> None:
    assert pretty_json(b'{"a":[1,true]}') == ('{\n  "a": [\n    1,\n    true\n  ]\n}', False)
    assert pretty_json(b'{"a":1}', limit=5) == ('{\n  "', True)
    assert pretty_json(b'{"a":1}', limit=12) == ('{\n  "a": 1\n}', False)
    assert pretty_json(b"\xffnot json") == ("\ufffdnot json", False)


@pytest.mark.parametrize("tokens_in, tokens_out, cost, expected", [
    (41, 1, 0.000006, "41 in / 1 out tokens · $0.000006"),
    (None, None, None, "no usage yet"),
    (41, 1, None, "41 in / 1 out tokens · cost unknown"),
    (1_234_567, 890, 12.5, "1,234,567 in / 890 out tokens · $12.50"),
    (10, None, 0.05, "10 in / ? out tokens · $0.0500"),
    (0, 0, 0.0, "0 in / 0 out tokens · $0.000000"),
])
def test_usage_text(tokens_in: int | None, tokens_out: int | None, cost: float | None,
                    expected: str) -> None:
    assert usage_text(tokens_in, tokens_out, cost) == expected


# ---------------------------------------------------------------- JsonView


def _formats(view: JsonView, block_number: int) -> list[tuple[int, int, str]]:
    block = view.document().findBlockByNumber(block_number)
    return [(r.start, r.length, r.format.foreground().color().name())
            for r in block.layout().formats()]


def test_json_view_highlights_small_json(qtbot: Any) -> None:
    view = JsonView()
    qtbot.addWidget(view)
    view.set_json(b'{"name": "x\xf0\x9f\x98\x80y", "n": -1.5e3, "ok": true, "none": null}')
    QApplication.processEvents()
    assert view.isReadOnly()
    assert view.font() == QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    assert view.lineWrapMode() == view.LineWrapMode.NoWrap
    assert view.highlighter.document() is view.document()
    key, string = _formats(view, 1)  # '  "name": "x😀y",'
    assert key[:2] == (2, 6) and string[:2] == (10, 6)  # emoji counts as 2 UTF-16 units
    assert key[2] != string[2]
    assert view.document().findBlockByNumber(2).text() == '  "n": -1500.0,'
    assert [f[:2] for f in _formats(view, 2)] == [(2, 3), (7, 7)]
    assert [f[:2] for f in _formats(view, 4)] == [(2, 6), (10, 4)]  # '  "none": null'
    assert view.text_for_copy() == view.toPlainText()


def test_json_view_leaves_big_json_plain(qtbot: Any) -> None:
    view = JsonView()
    qtbot.addWidget(view)
    rows = [{"id": i, "text": "lorem ipsum " * 10, "ok": True} for i in range(11_000)]
    data = orjson.dumps(rows)
    assert len(data) > 1_500_000
    view.set_json(data)
    QApplication.processEvents()
    assert view.highlighter.document() is None
    assert len(view.toPlainText()) > HIGHLIGHT_LIMIT
    assert _formats(view, 1) == [] and _formats(view, 2) == []
    assert view.text_for_copy() == pretty_json(data)[0]
    view.set_json(b'{"a": 1}')  # small again: highlighting comes back
    QApplication.processEvents()
    assert view.highlighter.document() is view.document() and _formats(view, 1)


def test_json_view_truncation_note_not_copied(qtbot: Any) -> None:
    view = JsonView()
    qtbot.addWidget(view)
    view.set_json(orjson.dumps(["y" * 2_100_000]))
    assert view.toPlainText().endswith("… (cut at 2,000,000 characters)")
    assert len(view.text_for_copy()) == 2_000_000
    assert view.highlighter.document() is None


def test_json_view_placeholder_and_plain_text(qtbot: Any) -> None:
    view = JsonView()
    qtbot.addWidget(view)
    view.set_json(b'{"a": 1}')
    view.set_json(None)
    assert view.toPlainText() == "" and view.text_for_copy() == ""
    assert view.placeholderText() == "(nothing yet)"
    view.set_json(b"not json at all")
    QApplication.processEvents()
    assert view.toPlainText() == "not json at all"
    assert view.highlighter.document() is None  # no JSON colours on plain text


def test_json_view_follows_dark_palette(qtbot: Any) -> None:
    view = JsonView()
    qtbot.addWidget(view)
    view.set_json(b'{"key": 1}')
    QApplication.processEvents()
    light_key = _formats(view, 1)[0][2]
    dark = QPalette(view.palette())
    dark.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    view.setPalette(dark)
    QApplication.processEvents()
    dark_key = _formats(view, 1)[0][2]
    assert QColor(dark_key).lightness() > QColor(light_key).lightness()
