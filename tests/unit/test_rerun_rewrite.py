"""Each request of a re-run rewritten: model, system prompt, options, OpenAI chat → Claude;
refused with the reason when a request cannot take the change."""

from __future__ import annotations

import pytest

from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.rerun import (
    RerunChange,
    RerunRefused,
    RerunScope,
    change_words,
    default_name,
    lineage_text,
    origin_record,
    parse_option,
    rewrite_body,
)

CHAT = {"model": "gpt-4o-mini", "temperature": 1,
        "messages": [{"role": "developer", "content": "old"},
                     {"role": "user", "content": "hi"},
                     {"role": "system", "content": "later system note"}]}


def test_system_prompt_replaces_the_first_system_or_developer_message_only() -> None:
    endpoint, body = rewrite_body("/v1/chat/completions", CHAT, RerunChange(system="new"),
                                  "openai", 1024)
    assert endpoint == "/v1/chat/completions"
    assert body["messages"] == [{"role": "system", "content": "new"},
                                {"role": "user", "content": "hi"},
                                {"role": "system", "content": "later system note"}]
    _, removed = rewrite_body("/v1/chat/completions", CHAT, RerunChange(system=""), "openai",
                              1024)
    assert removed["messages"][0] == {"role": "user", "content": "hi"}
    assert CHAT["messages"][0]["content"] == "old"  # the origin's body is not touched


def test_responses_and_claude_system_fields_and_endpoints_without_one() -> None:
    _, body = rewrite_body("/v1/responses", {"model": "m", "input": "x"},
                           RerunChange(system="be brief"), "openai", 1024)
    assert body == {"model": "m", "input": "x", "instructions": "be brief"}
    _, body = rewrite_body("/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 9,
                                            "system": "a", "messages": []},
                           RerunChange(system="b"), "anthropic", 1024)
    assert body["system"] == "b"
    with pytest.raises(RerunRefused, match="/v1/embeddings requests have no system prompt"):
        rewrite_body("/v1/embeddings", {"model": "e", "input": "x"}, RerunChange(system="s"),
                     "openai", 1024)


def test_options_set_and_removed_and_model_changed() -> None:
    _, body = rewrite_body("/v1/chat/completions", CHAT,
                           RerunChange(model="gpt-4o", options={"temperature": None,
                                                                "max_tokens": 50}),
                           "openai", 1024)
    assert body == {"model": "gpt-4o", "max_tokens": 50, "messages": CHAT["messages"]}


def test_chat_to_claude_is_converted_and_claude_to_openai_refused() -> None:
    endpoint, body = rewrite_body(
        "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [
            {"role": "user", "content": "hi"}]},
        RerunChange(model="claude-haiku-4-5", options={"max_tokens": 64}), "anthropic", 1024)
    assert endpoint == "/v1/messages"
    assert body == {"model": "claude-haiku-4-5", "max_tokens": 64,
                    "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(RerunRefused, match="only chat requests are converted"):
        rewrite_body("/v1/embeddings", {"model": "e", "input": "x"},
                     RerunChange(model="claude-haiku-4-5"), "anthropic", 1024)
    with pytest.raises(RerunRefused, match="no converter"):
        rewrite_body("/v1/messages", {"model": "claude-haiku-4-5", "messages": []},
                     RerunChange(model="gpt-4o"), "openai", 1024)


def test_options_as_typed_and_words() -> None:
    assert parse_option("temperature=0.2") == ("temperature", 0.2)
    assert parse_option("stop=[\"\\n\"]") == ("stop", ["\n"])
    assert parse_option("seed=null") == ("seed", None)
    assert parse_option("user = alice") == ("user", "alice")
    with pytest.raises(InvalidInput, match="use --system to change it"):
        parse_option("system=x")
    change = RerunChange(profile="claude", model="claude-haiku-4-5", system="",
                         options={"temperature": 0.2, "seed": None})
    assert change_words(change) == ("profile → claude, model → claude-haiku-4-5, no system "
                                    "prompt, temperature → 0.2, no seed")
    record = origin_record(change, RerunScope.failed_checks(), 18)
    assert record["only"] == "failed checks" and record["prompts"] == 18
    assert lineage_text(3, record).startswith("re-run of #3 (profile → claude, ")
    assert lineage_text(3, record).endswith("; 18 failed checks)")
    assert lineage_text(3, None) == "re-run of #3" and lineage_text(None, record) == ""
    assert default_name("reviews", RerunChange(system="x")) == "reviews → new system prompt"
    with pytest.raises(RerunRefused, match="no prompts are selected"):
        RerunScope.of_ids([])
