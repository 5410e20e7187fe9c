"""The Anthropic face's fault switches, partial outcomes, queue limit, archive and restarts."""

from __future__ import annotations

import asyncio
import time

import anthropic
import pytest
from anthropic import AsyncAnthropic

from batcher_gui.sandbox import FaultSpec, SandboxConfig, SandboxServer

from .anthropic_helpers import (
    AnthropicRunner,
    claude,
    claude_requests,
    make_anthropic,
    poll_ended,
    results,
    run_batch,
)

EXCEPTIONS: dict[str, type[Exception]] = {
    "429": anthropic.RateLimitError,
    "500": anthropic.InternalServerError,
    "529": anthropic.OverloadedError,
    "drop": anthropic.APIConnectionError,
    "timeout": anthropic.APITimeoutError,
}
ERROR_TYPES = {"429": "rate_limit_error", "500": "api_error", "529": "overloaded_error"}


def _faults(route: str, kind: str, **spec: object) -> SandboxConfig:
    return SandboxConfig(faults={route: FaultSpec(kinds=(kind,), **spec)},  # type: ignore[arg-type]
                         timeout_seconds=1.0)


async def _wait_for(condition: object, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


# Every kind once and every route once (the fault machinery itself is the OpenAI face's).
@pytest.mark.parametrize(("route", "kind"), [
    ("messages.batches.create", "429"),
    ("messages.batches.create", "drop"),
    ("messages.batches.retrieve", "500"),
    ("messages.batches.retrieve", "timeout"),
    ("messages.batches.results", "529"),
    ("messages.batches.results", "drop"),
    ("messages.count_tokens", "429"),
])
def test_fault_kinds_raise_the_sdk_exception(arun: AnthropicRunner, route: str,
                                             kind: str) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        batch, _ = await run_batch(client, claude_requests(2))
        server.config = _faults(route, kind)
        with pytest.raises(EXCEPTIONS[kind]) as info:
            if route == "messages.batches.create":
                await client.messages.batches.create(requests=claude_requests(1))  # type: ignore[arg-type]
            elif route == "messages.batches.retrieve":
                await client.messages.batches.retrieve(batch.id)
            elif route == "messages.batches.results":
                await results(client, batch.id)
            else:
                await client.messages.count_tokens(
                    model="claude-x", messages=[{"role": "user", "content": "hi"}])
        error = info.value
        if kind in ERROR_TYPES:
            assert isinstance(error, anthropic.APIStatusError)
            assert isinstance(error.body, dict) and error.body["type"] == "error"
            assert error.body["error"]["type"] == ERROR_TYPES[kind]
            assert error.request_id == error.body["request_id"]
        if kind == "429":
            assert isinstance(error, anthropic.RateLimitError)
            assert error.response.headers["retry-after"] == "0.01"
        assert server.stats()["faults_injected"] == {f"{route}:{kind}": 1}
        if route == "messages.batches.create":
            await _wait_for(lambda: server.stats()["requests"][route] == 2)
            assert server.stats()["anthropic"]["batches_created"] == 1  # the first run only

    arun(scenario, timeout=0.3)


@pytest.mark.parametrize("kind", ["429", "500", "529", "drop", "timeout"])
def test_retries_get_through_transient_faults(arun: AnthropicRunner, kind: str) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        page = await client.messages.batches.list()
        assert page.data == []
        assert server.stats()["anthropic"]["requests"]["messages.batches.list"] == 2

    arun(scenario, _faults("messages.batches.list", kind, max_count=1), max_retries=2,
         timeout=0.3)


@pytest.mark.parametrize("kind", ["drop_after", "500_after", "timeout_after"])
def test_a_create_whose_answer_is_lost_leaves_one_findable_batch(
        arun: AnthropicRunner, kind: str) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        with pytest.raises((anthropic.APIConnectionError, anthropic.InternalServerError)):
            await client.messages.batches.create(requests=claude_requests(3))  # type: ignore[arg-type]
        await _wait_for(lambda: server.stats()["anthropic"]["batches_created"] == 1)
        listed = [b async for b in client.messages.batches.list()]
        assert len(listed) == 1 and listed[0].request_counts.processing == 3
        assert server.stats()["anthropic"]["batches_created"] == 1

    arun(scenario, _faults("messages.batches.create", kind, max_count=1), timeout=0.3)


def test_cancel_keeps_what_finished(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        created = await client.messages.batches.create(requests=claude_requests(4))  # type: ignore[arg-type]
        step = await client.messages.batches.retrieve(created.id)  # one of two steps: half done
        assert step.processing_status == "in_progress"
        canceling = await client.messages.batches.cancel(created.id)
        assert canceling.processing_status == "canceling"
        assert canceling.cancel_initiated_at is not None
        assert canceling.request_counts.processing == 4
        again = await client.messages.batches.cancel(created.id)
        assert again.processing_status == "canceling"
        ended = (await poll_ended(client, created.id))[-1]
        counts = ended.request_counts
        assert (counts.succeeded, counts.canceled, counts.processing) == (2, 2, 0)
        lines = await results(client, created.id)
        assert sorted(line.result.type for line in lines) == [
            "canceled", "canceled", "succeeded", "succeeded"]
        with pytest.raises(anthropic.BadRequestError, match="already ended"):
            await client.messages.batches.cancel(created.id)

    arun(scenario)


def test_cancel_right_after_create_cancels_everything(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        created = await client.messages.batches.create(requests=claude_requests(3))  # type: ignore[arg-type]
        ended = await client.messages.batches.cancel(created.id)
        assert ended.processing_status == "ended" and ended.request_counts.canceled == 3
        assert {line.result.type for line in await results(client, created.id)} == {"canceled"}

    arun(scenario, SandboxConfig(cancel_steps=0))


@pytest.mark.parametrize(("outcome", "rest"), [("expire", "expired"),
                                               ("cancel_partial", "canceled")])
def test_partial_outcomes(arun: AnthropicRunner, outcome: str, rest: str) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        batch, lines = await run_batch(client, claude_requests(4))
        counts = batch.request_counts.model_dump()
        assert counts == {"processing": 0, "succeeded": 1, "errored": 0,
                          "canceled": 3 if rest == "canceled" else 0,
                          "expired": 3 if rest == "expired" else 0}
        assert sorted(line.result.type for line in lines) == sorted(["succeeded"] + [rest] * 3)
        assert (batch.cancel_initiated_at is not None) == (rest == "canceled")

    arun(scenario, SandboxConfig(outcome=outcome, partial_fraction=0.25))


def test_delete_only_an_ended_batch(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        created = await client.messages.batches.create(requests=claude_requests(1))  # type: ignore[arg-type]
        with pytest.raises(anthropic.BadRequestError, match="cannot be deleted while"):
            await client.messages.batches.delete(created.id)
        await poll_ended(client, created.id)
        deleted = await client.messages.batches.delete(created.id)
        assert (deleted.id, deleted.type) == (created.id, "message_batch_deleted")
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.batches.retrieve(created.id)
        assert [b async for b in client.messages.batches.list()] == []

    arun(scenario)


def test_not_found_right_after_create_then_found(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        created = await client.messages.batches.create(requests=claude_requests(2))  # type: ignore[arg-type]
        for _ in range(2):
            with pytest.raises(anthropic.NotFoundError):
                await client.messages.batches.retrieve(created.id)
        await poll_ended(client, created.id)
        url = f"/v1/messages/batches/{created.id}/results"
        for _ in range(2):
            with pytest.raises(anthropic.NotFoundError):
                await client.get(url, cast_to=object)
        assert len(await results(client, created.id)) == 2

    arun(scenario, SandboxConfig(not_found_reads=2))


def test_queue_limit_refuses_a_create_until_room_is_free(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        first = await client.messages.batches.create(requests=claude_requests(3, "a"))  # type: ignore[arg-type]
        with pytest.raises(anthropic.RateLimitError) as info:
            await client.messages.batches.create(requests=claude_requests(3, "b"))  # type: ignore[arg-type]
        assert isinstance(info.value.body, dict)
        assert info.value.body["error"]["type"] == "rate_limit_error"
        assert "processing queue" in info.value.body["error"]["message"]
        assert info.value.response.headers["retry-after"] == "0.01"
        await client.messages.batches.create(requests=claude_requests(2, "c"))  # type: ignore[arg-type]
        stats = server.stats()["anthropic"]
        assert (stats["batches_created"], stats["creates_refused"]) == (2, 1)
        await poll_ended(client, first.id)
        await client.messages.batches.create(requests=claude_requests(3, "b"))  # type: ignore[arg-type]

    arun(scenario, SandboxConfig(queue_limit=5))


def test_archived_batches_have_no_results(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        created = await client.messages.batches.create(requests=claude_requests(2))  # type: ignore[arg-type]
        assert created.processing_status == "in_progress" and created.archived_at is None
        ended = (await poll_ended(client, created.id))[-1]
        assert ended.archived_at is not None and ended.results_url is None
        assert ended.request_counts.succeeded == 2
        with pytest.raises(anthropic.AnthropicError, match="No `results_url`"):
            await results(client, created.id)
        with pytest.raises(anthropic.NotFoundError, match="archived"):
            await client.get(f"/v1/messages/batches/{created.id}/results", cast_to=object)
        assert server.stats()["anthropic"]["archived"] == 1

    arun(scenario, SandboxConfig(archive_after_seconds=0))


def test_a_new_server_on_the_same_folder_continues(arun: AnthropicRunner) -> None:
    async def main() -> None:
        requests = [claude("busy", "load #overloaded"), *claude_requests(2)]
        async with SandboxServer(arun.state_dir) as server:
            async with make_anthropic(server) as client:
                created = await client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        async with SandboxServer(arun.state_dir) as server:  # any free port: the URL follows it
            async with make_anthropic(server) as client:
                ended = (await poll_ended(client, created.id))[-1]
                assert ended.results_url is not None
                assert ended.results_url.startswith(server.anthropic_base_url)
                lines = {line.custom_id: line.result.type
                         for line in await results(client, created.id)}
                assert lines == {"busy": "errored", "p0": "succeeded", "p1": "succeeded"}
                # The transient error was spent before the restart: resent, it succeeds.
                again = await client.messages.batches.create(requests=requests[:1])  # type: ignore[arg-type]
                assert again.id != created.id
                listed = [b.id async for b in client.messages.batches.list()]
                assert listed == [again.id, created.id]
                await poll_ended(client, again.id)
                assert [line.result.type for line in await results(client, again.id)] == [
                    "succeeded"]
        files = [p for p in (arun.state_dir / "anthropic").rglob("*") if p.is_file()]
        assert files and all(p.stat().st_mode & 0o077 == 0 for p in files)

    asyncio.run(main())


def test_time_driven_steps_and_instant(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        instant = await client.messages.batches.create(requests=claude_requests(2))  # type: ignore[arg-type]
        assert instant.processing_status == "ended" and instant.results_url is not None
        server.config = SandboxConfig(steps_per_poll=0, step_seconds=0.05)
        created = await client.messages.batches.create(requests=claude_requests(2))  # type: ignore[arg-type]
        assert created.processing_status == "in_progress"
        await asyncio.sleep(0.15)
        ended = await client.messages.batches.retrieve(created.id)
        assert ended.processing_status == "ended" and ended.request_counts.succeeded == 2

    arun(scenario, SandboxConfig(instant=True))


def test_openai_face_is_unaffected_by_anthropic_batches(arun: AnthropicRunner) -> None:
    async def scenario(server: SandboxServer, client: AsyncAnthropic) -> None:
        await run_batch(client, [claude("a", "x")])
        stats = server.stats()
        assert stats["batches_created"] == 0 and stats["batches_total"] == 0
        assert stats["anthropic"]["batches_created"] == 1

    arun(scenario)
