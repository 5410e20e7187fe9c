"""AnthropicProvider end to end: the real ``anthropic`` SDK against the sandbox's Claude face."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from batcher_gui.domain.models import Profile, ProfileKind, ProfileLimits
from batcher_gui.domain.remote import (
    RESULTS_ARCHIVED,
    NotFoundRemote,
    PermanentError,
    RetryLater,
)
from batcher_gui.providers import make_provider
from batcher_gui.providers.anthropic_provider import AnthropicProvider
from batcher_gui.sandbox import FaultSpec, SandboxConfig, SandboxServer

T = TypeVar("T")
KEY = "sk-ant-provider-test-a1b2c3d4e5"
CLAUDE = Profile(id=1, name="claude", kind=ProfileKind.ANTHROPIC, base_url=None,
                 key_env=None, limits=ProfileLimits(max_requests=100_000))


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro
    return asyncio.run(main())


def batch_file(path: Path, n: int = 3, text: str = "") -> Path:
    """A Claude batch file as the engine writes it: one Message Batches request a line."""
    path.write_text("".join(json.dumps(
        {"custom_id": f"p{i}", "params": {
            "model": "claude-haiku-4-5", "max_tokens": 20,
            "messages": [{"role": "user", "content": f"question {i} {text}".strip()}]}}) + "\n"
        for i in range(n)))
    return path


@asynccontextmanager
async def claude(tmp_path: Path, config: SandboxConfig | None = None,
                 max_retries: int = 0) -> AsyncIterator[tuple[SandboxServer, AnthropicProvider]]:
    server = SandboxServer(tmp_path / "sandbox", config or SandboxConfig(), token=KEY)
    await server.start()
    # The sandbox's OpenAI URL (with /v1) on purpose: the factory takes the root without it.
    provider = make_provider(CLAUDE, KEY, base_url=server.base_url, max_retries=max_retries,
                             timeout=2.0)
    assert isinstance(provider, AnthropicProvider)
    try:
        yield server, provider
    finally:
        await provider.close()
        await server.stop()


def test_create_poll_download_and_clean_up(tmp_path: Path) -> None:
    async def go() -> None:
        async with claude(tmp_path, SandboxConfig(steps_per_poll=1)) as (server, provider):
            path = batch_file(tmp_path / "batch-x.jsonl", 5)
            local = await provider.upload_file(path, path.name)
            assert local.id.startswith("local:") and local.bytes == path.stat().st_size
            assert [f async for f in provider.list_files()] == []  # nothing ever uploaded
            remote = await provider.create_batch(local.id, "/v1/messages", {"ignored": "x"})
            assert (remote.status, remote.total, remote.output_file_id) == (
                "in_progress", 5, None)
            while remote.status != "completed":
                remote = await provider.retrieve_batch(remote.id)
            assert (remote.completed, remote.failed) == (5, 0)
            assert [b.id async for b in provider.list_batches(page_size=1)] == [remote.id]
            assert remote.output_file_id is not None
            dest = tmp_path / "out.jsonl"
            size = await provider.download_file(remote.output_file_id, dest)
            lines = [json.loads(x) for x in dest.read_text().splitlines()]
            assert size == dest.stat().st_size and len(lines) == 5
            assert {x["custom_id"] for x in lines} == {f"p{i}" for i in range(5)}
            assert {x["result"]["type"] for x in lines} == {"succeeded"}
            await provider.delete_file(remote.output_file_id)  # deletes the ended batch
            await provider.delete_file(remote.output_file_id)  # already gone: no error
            assert server.stats()["anthropic"]["batches_total"] == 0
    run(go())


def test_statuses_the_engine_understands(tmp_path: Path) -> None:
    async def go() -> None:
        config = SandboxConfig(steps_per_poll=1, outcome="expire", partial_fraction=0.5)
        async with claude(tmp_path, config) as (server, provider):
            local = await provider.upload_file(batch_file(tmp_path / "a.jsonl", 4), "a.jsonl")
            remote = await provider.create_batch(local.id, "/v1/messages", {})
            while remote.status == "in_progress":
                remote = await provider.retrieve_batch(remote.id)
            assert remote.status == "expired" and remote.failed == 2

            server.config.outcome = "complete"
            server.config.progress_steps = 20
            remote = await provider.create_batch(local.id, "/v1/messages", {})
            cancelling = await provider.cancel_batch(remote.id)
            assert cancelling.status in ("cancelling", "cancelled")
            while cancelling.status == "cancelling":
                cancelling = await provider.retrieve_batch(remote.id)
            assert cancelling.status == "cancelled"
    run(go())


def test_refusals_and_faults_map_to_the_engines_kinds(tmp_path: Path) -> None:
    async def go() -> None:
        async with claude(tmp_path) as (server, provider):
            with pytest.raises(PermanentError, match="Anthropic batches run /v1/messages"):
                await provider.create_batch("local:/x", "/v1/chat/completions", {})
            with pytest.raises(NotFoundRemote):
                await provider.retrieve_batch("msgbatch_nope")
            with pytest.raises(NotFoundRemote, match="is gone"):  # the engine writes it again
                await provider.create_batch(f"local:{tmp_path / 'gone.jsonl'}",
                                            "/v1/messages", {})
            server.config.faults = {"messages.batches.retrieve": FaultSpec(kinds=("529",))}
            with pytest.raises(RetryLater) as busy:
                await provider.retrieve_batch("msgbatch_nope")
            assert busy.value.status == 529 and busy.value.code == "overloaded_error"
            server.config.faults = {"messages.batches.list": FaultSpec(kinds=("429",))}
            with pytest.raises(RetryLater) as limited:
                _ = [b async for b in provider.list_batches()]
            assert limited.value.retry_after is not None
            server.config.faults = {}
            bad = tmp_path / "bad.jsonl"
            bad.write_text(json.dumps({"custom_id": "p1", "params": {
                "model": "m", "messages": [{"role": "user", "content": "x"}]}}) + "\n")
            local = await provider.upload_file(bad, bad.name)
            with pytest.raises(PermanentError, match="max_tokens") as refused:
                await provider.create_batch(local.id, "/v1/messages", {})
            assert refused.value.status == 400
        wrong = make_provider(CLAUDE, "sk-ant-wrong-key-0000000000", base_url=server.base_url,
                              max_retries=0)
        try:
            await server.start()
            with pytest.raises(PermanentError, match="rejected the API key") as denied:
                await wrong.retrieve_batch("msgbatch_x")
            assert denied.value.status == 401 and "sk-ant-wrong-key" not in str(denied.value)
        finally:
            await wrong.close()
            await server.stop()
    run(go())


def test_a_create_is_never_retried_by_the_sdk(tmp_path: Path) -> None:
    async def go() -> None:
        async with claude(tmp_path, max_retries=2) as (server, provider):
            server.config.faults = {"messages.batches.create": FaultSpec(kinds=("500_after",),
                                                                          max_count=1)}
            local = await provider.upload_file(batch_file(tmp_path / "a.jsonl"), "a.jsonl")
            with pytest.raises(RetryLater):
                await provider.create_batch(local.id, "/v1/messages", {})
            # Applied once, its answer lost, not sent again: one batch, found by listing.
            assert server.stats()["anthropic"]["batches_created"] == 1
            assert [b.total async for b in provider.list_batches()] == [3]
    run(go())


def test_archived_results_and_a_fresh_404(tmp_path: Path) -> None:
    async def go() -> None:
        config = SandboxConfig(instant=True, not_found_reads=1)
        async with claude(tmp_path, config) as (server, provider):
            local = await provider.upload_file(batch_file(tmp_path / "a.jsonl"), "a.jsonl")
            remote = await provider.create_batch(local.id, "/v1/messages", {})
            with pytest.raises(NotFoundRemote):  # the engine waits this out (steps.py)
                await provider.retrieve_batch(remote.id)
            remote = await provider.retrieve_batch(remote.id)
            assert remote.status == "completed" and remote.output_file_id
            # The results' first read is a 404 too: a hiccup, not "gone".
            with pytest.raises(RetryLater, match="not ready"):
                await provider.download_file(remote.output_file_id, tmp_path / "o.jsonl")
            assert not (tmp_path / "o.jsonl").exists()
            assert await provider.download_file(remote.output_file_id, tmp_path / "o.jsonl")

            server.config.archive_after_seconds = 0
            archived = await provider.retrieve_batch(remote.id)
            assert archived.output_file_id is None
            assert [e.code for e in archived.errors] == [RESULTS_ARCHIVED]
    run(go())


def test_count_tokens_sends_only_what_counting_takes(tmp_path: Path) -> None:
    async def go() -> None:
        async with claude(tmp_path) as (_, provider):
            body = {"model": "claude-haiku-4-5", "max_tokens": 99, "temperature": 0.2,
                    "system": "Be brief.",
                    "messages": [{"role": "user", "content": "How many tokens is this?"}]}
            assert await provider.count_tokens(body) > 0
    run(go())
