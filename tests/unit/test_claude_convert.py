"""OpenAI chat-completions bodies → Claude Messages params, case by case against hand-written
expected requests; and every field that cannot be carried over is named."""

from __future__ import annotations

from typing import Any

import pytest

from batcher_gui.domain.claude_convert import (
    ConversionError,
    chat_to_messages,
    openai_model_on_claude,
)

M = "claude-haiku-4-5"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
       "RU5ErkJggg==")

# (name, chat body, expected Claude params)
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("plain user message, import default max_tokens",
     {"model": M, "messages": [{"role": "user", "content": "Hello"}]},
     {"model": M, "max_tokens": 1024, "messages": [{"role": "user", "content": "Hello"}]}),
    ("max_tokens kept",
     {"model": M, "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]},
     {"model": M, "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}),
    ("max_completion_tokens becomes max_tokens",
     {"model": M, "max_completion_tokens": 77, "messages": [{"role": "user", "content": "Hi"}]},
     {"model": M, "max_tokens": 77, "messages": [{"role": "user", "content": "Hi"}]}),
    ("system and developer messages joined into system with a blank line",
     {"model": M, "messages": [
         {"role": "system", "content": "You are terse."},
         {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
         {"role": "user", "content": "Capital of Italy?"}]},
     {"model": M, "max_tokens": 1024, "system": "You are terse.\n\nAnswer in French.",
      "messages": [{"role": "user", "content": "Capital of Italy?"}]}),
    ("a conversation keeps user and assistant turns in order",
     {"model": M, "max_tokens": 20, "messages": [
         {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
         {"role": "user", "content": "times 3?"}]},
     {"model": M, "max_tokens": 20, "messages": [
         {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
         {"role": "user", "content": "times 3?"}]}),
    ("multi-part text content becomes text blocks",
     {"model": M, "messages": [{"role": "user", "content": [
         {"type": "text", "text": "First part."}, {"type": "text", "text": "Second part."}]}]},
     {"model": M, "max_tokens": 1024, "messages": [{"role": "user", "content": [
         {"type": "text", "text": "First part."}, {"type": "text", "text": "Second part."}]}]}),
    ("a data: image URL becomes a base64 image block",
     {"model": M, "messages": [{"role": "user", "content": [
         {"type": "text", "text": "What is this?"},
         {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}]},
     {"model": M, "max_tokens": 1024, "messages": [{"role": "user", "content": [
         {"type": "text", "text": "What is this?"},
         {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                      "data": PNG}}]}]}),
    ("an https image URL becomes a url image source; detail auto is OpenAI's default",
     {"model": M, "messages": [{"role": "user", "content": [
         {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg",
                                             "detail": "auto"}}]}]},
     {"model": M, "max_tokens": 1024, "messages": [{"role": "user", "content": [
         {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]}]}),
    ("stop as a string becomes stop_sequences",
     {"model": M, "stop": "END", "messages": [{"role": "user", "content": "Go"}]},
     {"model": M, "max_tokens": 1024, "stop_sequences": ["END"],
      "messages": [{"role": "user", "content": "Go"}]}),
    ("stop as a list; temperature and top_p kept",
     {"model": M, "stop": ["###", "END"], "temperature": 0.2, "top_p": 0.9,
      "messages": [{"role": "user", "content": "Go"}]},
     {"model": M, "max_tokens": 1024, "stop_sequences": ["###", "END"], "temperature": 0.2,
      "top_p": 0.9, "messages": [{"role": "user", "content": "Go"}]}),
    ("OpenAI defaults and nulls change nothing",
     {"model": M, "n": 1, "stream": False, "logprobs": False, "presence_penalty": 0,
      "frequency_penalty": 0.0, "logit_bias": {}, "response_format": {"type": "text"},
      "seed": None, "temperature": 1, "messages": [{"role": "user", "content": "Hi"}]},
     {"model": M, "max_tokens": 1024, "temperature": 1,
      "messages": [{"role": "user", "content": "Hi"}]}),
    ("user becomes metadata.user_id",
     {"model": M, "user": "analyst-7", "messages": [{"role": "user", "content": "Hi"}]},
     {"model": M, "max_tokens": 1024, "metadata": {"user_id": "analyst-7"},
      "messages": [{"role": "user", "content": "Hi"}]}),
    ("function tools become Claude tools, tool_choice and parallel calls follow",
     {"model": M, "messages": [{"role": "user", "content": "Weather in Oslo?"}],
      "tools": [{"type": "function", "function": {
          "name": "get_weather", "description": "Current weather",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                         "required": ["city"]}}},
          {"type": "function", "function": {"name": "now"}}],
      "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
      "parallel_tool_calls": False},
     {"model": M, "max_tokens": 1024,
      "messages": [{"role": "user", "content": "Weather in Oslo?"}],
      "tools": [{"name": "get_weather", "description": "Current weather",
                 "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                  "required": ["city"]}},
                {"name": "now", "input_schema": {"type": "object", "properties": {}}}],
      "tool_choice": {"type": "tool", "name": "get_weather",
                      "disable_parallel_tool_use": True}}),
    ("tool_choice required becomes any",
     {"model": M, "messages": [{"role": "user", "content": "x"}], "tool_choice": "required",
      "tools": [{"type": "function", "function": {"name": "f", "parameters": {
          "type": "object", "properties": {}}}}]},
     {"model": M, "max_tokens": 1024, "messages": [{"role": "user", "content": "x"}],
      "tools": [{"name": "f", "input_schema": {"type": "object", "properties": {}}}],
      "tool_choice": {"type": "any"}}),
    ("an empty last assistant message (a prefill) is kept",
     {"model": M, "messages": [{"role": "user", "content": "Name a colour"},
                               {"role": "assistant", "content": "The colour is"}]},
     {"model": M, "max_tokens": 1024, "messages": [
         {"role": "user", "content": "Name a colour"},
         {"role": "assistant", "content": "The colour is"}]}),
]


@pytest.mark.parametrize(("name", "chat", "expected"), CASES, ids=[c[0] for c in CASES])
def test_converts_to_the_hand_written_claude_request(
        name: str, chat: dict[str, Any], expected: dict[str, Any]) -> None:
    params, _notes = chat_to_messages(chat)
    assert params == expected


def test_notes_say_what_was_moved_or_filled_in() -> None:
    _, notes = chat_to_messages(
        {"model": M, "max_completion_tokens": 9, "stop": "x",
         "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "u"}]})
    assert set(notes) == {"max_tokens from max_completion_tokens", "stop → stop_sequences",
                          "system/developer messages → system"}
    _, notes = chat_to_messages({"model": M, "messages": [{"role": "user", "content": "u"}]},
                                default_max_tokens=300)
    assert notes == ["max_tokens from the import (the line sets none)"]


def test_the_import_default_max_tokens_is_used_when_the_line_sets_none() -> None:
    params, _ = chat_to_messages({"model": M, "messages": [{"role": "user", "content": "u"}]},
                                 default_max_tokens=300)
    assert params["max_tokens"] == 300


# (chat body, fields named, words of the reason)
UNCONVERTIBLE: list[tuple[dict[str, Any], list[str], str]] = [
    ({"n": 3}, ["body.n"], "one answer per request"),
    ({"logprobs": True, "top_logprobs": 3}, ["body.logprobs", "body.top_logprobs"],
     "log probabilities"),
    ({"response_format": {"type": "json_object"}}, ["body.response_format"], "JSON"),
    ({"seed": 7}, ["body.seed"], "seed"),
    ({"presence_penalty": 0.5, "frequency_penalty": 1},
     ["body.presence_penalty", "body.frequency_penalty"], "penalty"),
    ({"logit_bias": {"50256": -100}}, ["body.logit_bias"], "logit bias"),
    ({"temperature": 1.5}, ["body.temperature"], "above 1"),
    ({"metadata": {"team": "x"}}, ["body.metadata"], "user id"),
    ({"reasoning_effort": "high"}, ["body.reasoning_effort"], "thinking"),
    ({"something_new": 1}, ["body.something_new"], "not a chat-completions field"),
    ({"stop": ["\n\n"]}, ["body.stop"], "whitespace"),
    ({"max_tokens": 0}, ["body.max_tokens"], "at least 1"),
    ({"max_tokens": 10, "max_completion_tokens": 20}, ["body.max_completion_tokens"],
     "keep one"),
    ({"tools": [{"type": "web_search"}]}, ["body.tools[0]"], "only function tools"),
    ({"tool_choice": "auto"}, ["body.tool_choice"], "without tools"),
]


@pytest.mark.parametrize(("extra", "fields", "words"), UNCONVERTIBLE)
def test_fields_without_a_claude_counterpart_are_named(
        extra: dict[str, Any], fields: list[str], words: str) -> None:
    body = {"model": M, "messages": [{"role": "user", "content": "Hi"}], **extra}
    with pytest.raises(ConversionError) as caught:
        chat_to_messages(body)
    assert [p.field for p in caught.value.problems] == fields
    assert caught.value.field == fields[0]
    assert words in str(caught.value)


MESSAGE_PROBLEMS: list[tuple[list[Any], str, str]] = [
    ([{"role": "user", "content": "x"},
      {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
      {"role": "tool", "tool_call_id": "c1", "content": "42"}],
     "body.messages[1].tool_calls", "tool calls are not converted"),
    ([{"role": "tool", "content": "42"}], "body.messages[0].role", "tool result"),
    ([{"role": "function", "name": "f", "content": "42"}], "body.messages[0].name",
     "no name"),
    ([{"role": "critic", "content": "x"}], "body.messages[0].role", "unknown role"),
    ([{"role": "user", "name": "ann", "content": "x"}], "body.messages[0].name", "no name"),
    ([{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}],
     "body.messages[0].content[0]", "'input_audio' is not converted"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "data:image/bmp;base64,AAAA"}}]}],
     "body.messages[0].content[0].image_url.url", "image/bmp"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {
        "url": "https://x/y.png", "detail": "high"}}]}],
     "body.messages[0].content[0].image_url.detail", "detail"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}],
     "body.messages[0].content[0].image_url.url", "base64 data: URL"),
    ([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]},
      {"role": "user", "content": "x"}], "body.messages[0].content[0]", "only hold text"),
    ([{"role": "user", "content": ""}], "body.messages[0].content", "is empty"),
    ([{"role": "system", "content": "only a system prompt"}], "body.messages",
     "no user or assistant message"),
    ([], "body.messages", "non-empty list"),
]


@pytest.mark.parametrize(("messages", "field", "words"), MESSAGE_PROBLEMS)
def test_messages_that_cannot_be_converted_are_named(
        messages: list[Any], field: str, words: str) -> None:
    with pytest.raises(ConversionError) as caught:
        chat_to_messages({"model": M, "messages": messages})
    assert caught.value.field == field
    assert words in str(caught.value)


def test_every_problem_of_a_line_is_named_not_only_the_first() -> None:
    with pytest.raises(ConversionError) as caught:
        chat_to_messages({"model": M, "n": 2, "seed": 1, "messages": [
            {"role": "tool", "content": "x"}, {"role": "user", "content": "q"}]})
    assert [p.field for p in caught.value.problems] == [
        "body.messages[0].role", "body.n", "body.seed"]
    message = str(caught.value)
    assert "also body.n:" in message and "also body.seed:" in message


def test_an_openai_model_is_named_not_sent_to_claude() -> None:
    with pytest.raises(ConversionError) as caught:
        chat_to_messages({"model": "gpt-4o-mini", "messages": [{"role": "user",
                                                                 "content": "x"}]})
    assert caught.value.field == "body.model"
    assert "OpenAI model" in str(caught.value)
    assert openai_model_on_claude("o3-mini") is not None
    assert openai_model_on_claude("claude-sonnet-4-5") is None
    assert openai_model_on_claude("my-finetune") is None  # unknown names are not refused


def test_the_input_body_is_not_changed() -> None:
    body = {"model": M, "stop": "x", "messages": [{"role": "system", "content": "S"},
                                                  {"role": "user", "content": "u"}]}
    before = repr(body)
    chat_to_messages(body)
    assert repr(body) == before
