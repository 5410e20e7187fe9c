"""The sandbox's Anthropic face as the real anthropic SDK (strict validation) sees it."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import aiohttp
import anthropic
import orjson
import pytest
from anthropic import AsyncAnthropic

from batcher_gui.sandbox import SandboxConfig, SandboxServer

from .anthropic_helpers import (
    CLAUDE,
    AnthropicRunner,
    claude,
    claude_requests,
    make_anthropic,
    poll_ended,
    results,
    run_batch,
)


def test_create_retrieve_results_in_another_order(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        requests = claude_requests(6)
        created = await client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        assert created.id.startswith("msgbatch_")
        assert created.processing_status == "in_progress"
        assert created.request_counts.processing == 6
        assert created.request_counts.succeeded == 0
        assert created.results_url is None
        assert created.expires_at - created.created_at == timedelta(hours=24)
        seen = await poll_ended(client, created.id)
        assert [b.processing_status for b in seen] == ["in_progress", "ended"]
        # Until the end, only `processing` counts; then it is 0 and the outcomes are counted.
        assert seen[0].request_counts.processing == 6 and seen[0].request_counts.succeeded == 0
        ended = seen[-1]
        assert ended.request_counts.processing == 0 and ended.request_counts.succeeded == 6
        assert ended.ended_at is not None and ended.archived_at is None
        assert ended.results_url == (f"{server.anthropic_base_url}/v1/messages/batches/"
                                     f"{created.id}/results")
        lines = await results(client, created.id)
        ids = [line.custom_id for line in lines]
        assert sorted(ids) == sorted(r["custom_id"] for r in requests)
        assert ids != [r["custom_id"] for r in requests]
        for line in lines:
            assert line.result.type == "succeeded"
            message = line.result.message
            assert message.model == CLAUDE and message.role == "assistant"
            assert message.stop_reason == "end_turn"
            block = message.content[0]
            assert block.type == "text" and "Question number" in block.text
        stats = server.stats()["anthropic"]
        assert stats["batches_created"] == 1 and stats["batches_by_status"] == {"ended": 1}

    arun(scenario)


def test_list_pages_newest_first_both_ways(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        made = [(await client.messages.batches.create(requests=claude_requests(1))).id  # type: ignore[arg-type]
                for _ in range(5)]
        listed = [b.id async for b in client.messages.batches.list(limit=2)]
        assert listed == made[::-1]
        first = await client.messages.batches.list(limit=2)
        assert first.has_more and [b.id for b in first.data] == made[:2:-1]
        assert (first.first_id, first.last_id) == (made[4], made[3])
        older = await client.messages.batches.list(limit=2, after_id=made[1])
        assert [b.id for b in older.data] == [made[0]] and older.has_more is False
        newer = await client.messages.batches.list(limit=2, before_id=made[1])
        assert [b.id for b in newer.data] == [made[3], made[2]] and newer.has_more
        assert [b.id async for b in await client.messages.batches.list(
            limit=1, before_id=made[2])] == [made[3], made[4]]
        with pytest.raises(anthropic.BadRequestError):
            await client.messages.batches.list(limit=1001)

    arun(scenario)


def test_triggers_and_transient_errors_succeed_when_resent(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        requests = [
            claude("ok", "plain"),
            claude("bad", "please #fail"),
            claude("busy", "load #overloaded"),
            claude("crash", "boom #api_error"),
            claude("tool", "weather #tool", tools=[{
                "name": "get_weather", "description": "d",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }]),
            claude("think", "ponder", thinking={"type": "enabled", "budget_tokens": 1024},
                   max_tokens=2000),
            claude("short", "a long question that gets a long answer", max_tokens=2),
        ]
        batch, lines = await run_batch(client, requests)
        assert batch.request_counts.succeeded == 4 and batch.request_counts.errored == 3
        by_id = {line.custom_id: line.result for line in lines}
        errors = {k: r.error.error.type for k, r in by_id.items() if r.type == "errored"}
        assert errors == {"bad": "invalid_request_error", "busy": "overloaded_error",
                          "crash": "api_error"}
        tool = by_id["tool"]
        assert tool.type == "succeeded" and tool.message.stop_reason == "tool_use"
        use = tool.message.content[-1]
        assert use.type == "tool_use" and use.name == "get_weather"
        assert use.input == {"city": "sandbox city"}
        think = by_id["think"]
        assert think.type == "succeeded"
        assert [b.type for b in think.message.content] == ["thinking", "text"]
        short = by_id["short"]
        assert short.type == "succeeded" and short.message.stop_reason == "max_tokens"
        assert short.message.usage.output_tokens == 2
        assert by_id["ok"].type == "succeeded" and by_id["ok"].message.stop_reason == "end_turn"
        # Resent (a new batch): the transient ones succeed, #fail fails again.
        again, lines = await run_batch(client, requests[1:4])
        assert {line.custom_id: line.result.type for line in lines} == {
            "bad": "errored", "busy": "succeeded", "crash": "succeeded"}

    arun(scenario)


def _cached_system(text: str, ttl: str | None = None) -> list[dict[str, Any]]:
    control: dict[str, Any] = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return [{"type": "text", "text": text, "cache_control": control}]


def test_usage_matches_count_tokens_and_the_cache_is_written_once(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        shared = "You are a careful assistant. " * 40
        requests = [
            claude("plain", "How long is a piece of string?"),
            claude("w", "first", system=_cached_system(shared, "1h")),
            claude("r", "second", system=_cached_system(shared, "1h")),
            claude("five", "third", system=_cached_system(shared)),
        ]
        estimates = {}
        for request in requests:
            params = {k: v for k, v in request["params"].items() if k != "max_tokens"}
            counted = await client.messages.count_tokens(**params)
            estimates[request["custom_id"]] = counted.input_tokens
        chars = len("How long is a piece of string?")
        assert estimates["plain"] == math.ceil(chars / 4)
        assert estimates["w"] == math.ceil((len(shared) + len("first")) / 4)
        _, lines = await run_batch(client, requests)
        usage = {line.custom_id: line.result.message.usage for line in lines
                 if line.result.type == "succeeded"}
        for custom_id, use in usage.items():
            total = (use.input_tokens + (use.cache_read_input_tokens or 0)
                     + (use.cache_creation_input_tokens or 0))
            assert total == estimates[custom_id], custom_id
        cached = math.ceil(len(shared) / 4)
        assert usage["plain"].cache_creation_input_tokens == 0
        assert usage["w"].cache_creation_input_tokens == cached
        assert usage["w"].cache_creation is not None
        assert usage["w"].cache_creation.ephemeral_1h_input_tokens == cached
        assert usage["r"].cache_read_input_tokens == cached
        assert usage["r"].cache_creation_input_tokens == 0
        assert usage["five"].cache_read_input_tokens == cached
        assert usage["plain"].output_tokens > 0

    arun(scenario)


def test_count_tokens_refuses_what_anthropic_refuses(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        counted = await client.messages.count_tokens(
            model=CLAUDE, system="s" * 8, messages=[{"role": "user", "content": "x" * 8}],
            tools=[{"name": "t", "input_schema": {"type": "object"}}])
        tool_json = orjson.dumps({"input_schema": {"type": "object"}, "name": "t"})
        assert counted.input_tokens == math.ceil((16 + len(tool_json)) / 4)
        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "A" * 100_000}}
        with_image = await client.messages.count_tokens(
            model=CLAUDE, messages=[{"role": "user", "content": [image]}])
        assert with_image.input_tokens == 1600
        with pytest.raises(anthropic.BadRequestError, match="max_tokens: Extra inputs"):
            await client.messages.count_tokens(
                model=CLAUDE, messages=[{"role": "user", "content": "x"}],
                extra_body={"max_tokens": 5})
        with pytest.raises(anthropic.BadRequestError, match="messages: List should have at least"):
            await client.messages.count_tokens(model=CLAUDE, messages=[])
        assert server.stats()["anthropic"]["requests"]["messages.count_tokens"] == 4

    arun(scenario)


BAD_REQUESTS: list[tuple[str, Any, str]] = [
    ("empty", [], "requests: List should have at least 1 item"),
    ("custom_id", [claude("a b", "x")], "requests.0.custom_id: String should match pattern"),
    ("too long id", [claude("a" * 65, "x")], "requests.0.custom_id: String should match"),
    ("duplicate", [claude("a", "x"), claude("b", "y"), claude("a", "z")],
     "requests.2.custom_id: Duplicate custom_id 'a' (also at requests.0)"),
    ("no model", [claude("a", "x"), {"custom_id": "b", "params": {"max_tokens": 5, "messages": [
        {"role": "user", "content": "x"}]}}], "requests.1.params.model: Field required"),
    ("no max_tokens", [{"custom_id": "a", "params": {"model": CLAUDE, "messages": [
        {"role": "user", "content": "x"}]}}], "requests.0.params.max_tokens: Field required"),
    ("max_tokens 0", [claude("a", "x", max_tokens=0)],
     "requests.0.params.max_tokens: Input should be greater than or equal to 1"),
    ("no messages", [claude("a", "x", messages=[])],
     "requests.0.params.messages: List should have at least 1 item"),
    ("bad role", [claude("a", "x", messages=[{"role": "system", "content": "x"}])],
     "requests.0.params.messages.0.role: Input should be 'user' or 'assistant'"),
]


@pytest.mark.parametrize(("case", "requests", "message"), BAD_REQUESTS,
                         ids=[case for case, _, _ in BAD_REQUESTS])
def test_invalid_creates_are_refused_and_change_nothing(
        arun: AnthropicRunner, case: str, requests: Any, message: str) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        with pytest.raises(anthropic.BadRequestError) as info:
            await client.messages.batches.create(requests=requests)
        error = info.value
        assert isinstance(error.body, dict) and error.body["type"] == "error"
        assert error.body["error"]["type"] == "invalid_request_error"
        assert message in error.body["error"]["message"]
        assert error.request_id is not None and error.request_id == error.body["request_id"]
        stats = server.stats()["anthropic"]
        assert stats["batches_total"] == 0 and stats["creates_refused"] == 1

    arun(scenario)


def test_size_and_count_limits(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        with pytest.raises(anthropic.BadRequestError, match="at most 3 items"):
            await client.messages.batches.create(requests=claude_requests(4))  # type: ignore[arg-type]
        big = [claude("a", "x" * 5000)]
        with pytest.raises(anthropic.APIStatusError) as info:
            await client.messages.batches.create(requests=big)  # type: ignore[arg-type]
        assert info.value.status_code == 413
        assert isinstance(info.value.body, dict)
        assert info.value.body["error"]["type"] == "request_too_large"
        assert server.stats()["anthropic"]["creates_refused"] == 2
        await client.messages.batches.create(requests=claude_requests(3))  # type: ignore[arg-type]

    arun(scenario, SandboxConfig(max_message_batch_requests=3, max_message_batch_bytes=4096))


def test_wrong_key_is_refused_in_both_headers(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        async with make_anthropic(server, api_key="sk-ant-wrong") as stranger:
            with pytest.raises(anthropic.AuthenticationError) as info:
                await stranger.messages.batches.list()
        assert isinstance(info.value.body, dict)
        assert info.value.body["error"]["type"] == "authentication_error"
        url = f"{server.anthropic_base_url}/v1/messages/batches"
        async with aiohttp.ClientSession() as session:
            for headers, status in (({"x-api-key": "wrong"}, 401), ({}, 401),
                                    ({"x-api-key": server.token}, 200),
                                    ({"Authorization": "Bearer wrong"}, 401)):
                async with session.get(url, headers=headers) as response:
                    assert response.status == status, headers
                    body = await response.json()
                    assert response.headers["request-id"].startswith("req_")
                    if status == 401:
                        assert body["type"] == "error"
                        assert body["error"]["type"] == "authentication_error"
                        assert body["request_id"] == response.headers["request-id"]
        # Only the request with the right key got past the door.
        assert server.stats()["anthropic"]["requests"] == {"messages.batches.list": 1}

    arun(scenario)


def test_unknown_batch_and_unknown_path_answer_anthropic_404s(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        with pytest.raises(anthropic.NotFoundError) as info:
            await client.messages.batches.retrieve("msgbatch_01nothere")
        assert isinstance(info.value.body, dict)
        assert info.value.body["error"]["type"] == "not_found_error"
        with pytest.raises(anthropic.NotFoundError):
            await client.get("/v1/messages/nowhere", cast_to=object)

    arun(scenario)
