"""Estimates of Claude requests: no offline tokenizer, so a sample is counted by the provider's
count_tokens (an injected async counter) and scaled; without one, OpenAI's tokenizer, marked
approximate."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from batcher_gui.config.prices import price_table
from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.intake import FileEstimate
from batcher_gui.domain.models import ImportOptions, ProfileKind, ProfileLimits
from batcher_gui.domain.remote import PermanentError
from batcher_gui.engine.estimate import (
    SAMPLE_CONCURRENCY,
    RequestSample,
    count_sample,
    estimate_file,
)
from batcher_gui.tokens.counting import (
    CLAUDE_IMAGE_TOKENS,
    REPLY_PRIMING,
    TOKENS_PER_MESSAGE,
    TokenCounter,
)
from batcher_gui.tokens.vocab import encoding

CLAUDE = "claude-sonnet-5-5"
KEY = "sk-ant-api03-" + "x" * 40


def _claude_line(i: int, words: int) -> dict[str, Any]:
    return {"custom_id": f"c{i}", "method": "POST", "url": MESSAGES_ENDPOINT,
            "body": {"model": CLAUDE, "max_tokens": 200, "system": "Answer in one word.",
                     "messages": [{"role": "user",
                                   "content": " ".join(f"word{k}" for k in range(words))}]}}


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _offline(body: dict[str, Any]) -> int:
    return TokenCounter().count(MESSAGES_ENDPOINT, body["model"], body).input


def _estimate(path: Path, count: Any, per_model: int = 20) -> tuple[FileEstimate, RequestSample]:
    prices = price_table()
    sample = RequestSample(per_model=per_model)
    estimate = estimate_file(path, ImportOptions(), ProfileLimits(), prices, sample=sample,
                             kind=ProfileKind.ANTHROPIC)
    return asyncio.run(count_sample(estimate, sample, count, prices)), sample


def test_a_messages_body_is_counted_with_openais_tokenizer_marked_approximate() -> None:
    o200k = encoding("o200k_base")
    body = {"model": CLAUDE, "max_tokens": 321, "system": "Be brief.",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "iVBORw0KGgo"}}]}]}
    tokens = TokenCounter().count(MESSAGES_ENDPOINT, CLAUDE, body)
    expected = (TOKENS_PER_MESSAGE + len(o200k.encode("Be brief."))  # the system prompt
                + TOKENS_PER_MESSAGE + len(o200k.encode("user"))
                + len(o200k.encode("What is this?")) + CLAUDE_IMAGE_TOKENS + REPLY_PRIMING)
    assert (tokens.input, tokens.output_bound, tokens.exact) == (expected, 321, False)
    # text alone is still not exact: the tokenizer is not Claude's
    text_only = {"model": CLAUDE, "max_tokens": 5,
                 "messages": [{"role": "user", "content": "hello"}]}
    assert TokenCounter().count(MESSAGES_ENDPOINT, CLAUDE, text_only).exact is False
    # tool calls and their results count as text
    turns = {"model": CLAUDE, "max_tokens": 5, "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "lookup",
                                           "input": {"q": "x"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": "forty two"}]}]}
    assert TokenCounter().count(MESSAGES_ENDPOINT, CLAUDE, turns).input > \
        2 * TOKENS_PER_MESSAGE + REPLY_PRIMING + len(o200k.encode("forty two"))


def test_a_sample_counted_by_the_provider_scales_the_whole_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "claude.jsonl",
                  [_claude_line(i, words=5 + (i * 7) % 60) for i in range(100)])
    calls: list[dict[str, Any]] = []

    async def count_tokens(body: dict[str, Any]) -> int:
        calls.append(body)
        await asyncio.sleep(0)
        return 2 * _offline(body)  # Claude's tokenizer, say, makes twice as many

    offline = estimate_file(path, ImportOptions(), ProfileLimits(), price_table(),
                            kind=ProfileKind.ANTHROPIC)
    estimate, sample = _estimate(path, count_tokens)
    model = estimate.models[CLAUDE]
    assert len(calls) == 20 == model.sampled == estimate.sampled  # a sample, not the file
    assert [c["model"] for c in calls] == [CLAUDE] * 20
    assert model.requests == 100
    assert model.input == 2 * offline.models[CLAUDE].input  # the ratio, applied to all
    assert model.output_bound == 100 * 200
    assert (estimate.method, model.approximate) == ("sampled", False)
    assert estimate.how_counted() == \
        "from a sample of 20 requests counted by the provider, scaled"
    assert estimate.cost is not None and offline.cost is not None
    assert estimate.cost.low == pytest.approx(2 * offline.cost.low)  # priced on the new count
    # the same file gives the same sample
    again = RequestSample()
    estimate_file(path, ImportOptions(), ProfileLimits(), price_table(), sample=again,
                  kind=ProfileKind.ANTHROPIC)
    assert again.kept == sample.kept


def test_a_small_file_is_counted_whole_by_the_provider(tmp_path: Path) -> None:
    path = _write(tmp_path / "few.jsonl", [_claude_line(i, words=3 + i) for i in range(5)])

    async def count_tokens(body: dict[str, Any]) -> int:
        return 1000 + len(body["messages"][0]["content"])

    estimate, _ = _estimate(path, count_tokens)
    bodies = [_claude_line(i, words=3 + i)["body"] for i in range(5)]
    assert estimate.input_tokens == sum(1000 + len(b["messages"][0]["content"]) for b in bodies)
    assert (estimate.method, estimate.exact, estimate.sampled) == ("counted", True, 5)
    assert estimate.how_counted() == "counted, Claude's by the provider"


def test_without_a_counter_the_count_is_approximate(tmp_path: Path) -> None:
    lines = [_claude_line(i, words=10) for i in range(30)]
    path = _write(tmp_path / "claude.jsonl", lines)
    estimate, sample = _estimate(path, None)
    assert sample.requests == 20 and set(sample.kept) == {CLAUDE}
    assert estimate.models[CLAUDE].input == 30 * _offline(lines[0]["body"])
    assert (estimate.method, estimate.exact, estimate.sampled) == ("approximate", False, 0)
    assert estimate.how_counted() == "approximate (OpenAI tokenizer)"
    assert estimate.models[CLAUDE].approximate

    async def count_tokens(body: dict[str, Any]) -> int:
        return 3 * _offline(body)

    sampled, _ = _estimate(path, count_tokens)
    assert sampled.models[CLAUDE].input == 3 * estimate.models[CLAUDE].input


def test_a_provider_that_refuses_leaves_the_offline_count_and_says_why(tmp_path: Path) -> None:
    path = _write(tmp_path / "claude.jsonl", [_claude_line(i, words=8) for i in range(50)])
    calls = 0

    async def count_tokens(body: dict[str, Any]) -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise PermanentError(f"authentication_error: invalid x-api-key {KEY}", status=401)

    estimate, _ = _estimate(path, count_tokens)
    assert calls <= SAMPLE_CONCURRENCY  # one refusal stops the rest
    assert (estimate.method, estimate.sampled) == ("approximate", 0)
    assert estimate.sample_problem is not None
    assert estimate.sample_problem.startswith("authentication_error: invalid x-api-key")
    assert KEY not in estimate.sample_problem  # the provider's words are masked
    assert estimate.input_tokens == 50 * _offline(_claude_line(0, words=8)["body"])
