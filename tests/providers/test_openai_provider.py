"""OpenAIProvider end to end: the real SDK against the local sandbox server over HTTP.

Sync tests drive coroutines with asyncio.run (no pytest-asyncio here).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import openai
import pytest

from batcher_gui.domain.models import Profile, ProfileKind, ProfileLimits
from batcher_gui.domain.remote import (
    METADATA_KEY,
    NotFoundRemote,
    PermanentError,
    RemoteBatch,
    RetryLater,
)
from batcher_gui.providers import OpenAIProvider, make_provider
from batcher_gui.sandbox import FaultSpec, SandboxConfig, SandboxServer

T = TypeVar("T")
KEY = "sk-provider-test-a1b2c3d4e5"
TERMINAL = {"completed", "failed", "expired", "cancelled"}
ENDPOINT = "/v1/chat/completions"
SANDBOX = Profile(id=1, name="sandbox", kind=ProfileKind.OPENAI_COMPATIBLE,
                  base_url="builtin:sandbox", key_env=None, limits=ProfileLimits())


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro
    return asyncio.run(main())


def write_input(path: Path, n: int = 3) -> Path:
    lines = [
        json.dumps({"custom_id": f"p{i}", "method": "POST", "url": ENDPOINT,
                    "body": {"model": "gpt-4o-mini",
                             "messages": [{"role": "user", "content": f"question {i}"}]}})
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@asynccontextmanager
async def sandbox(
    tmp_path: Path, config: SandboxConfig | None = None, *, max_retries: int = 0,
    timeout: float = 3.0, strict: bool = False,
) -> AsyncIterator[tuple[SandboxServer, OpenAIProvider]]:
    server = SandboxServer(tmp_path / "sandbox", config or SandboxConfig(), token=KEY)
    await server.start()
    try:
        if strict:
            # Strict validation raises on any schema drift between the sandbox and the SDK.
            client = openai.AsyncOpenAI(api_key=KEY, base_url=server.base_url,
                                        max_retries=max_retries, timeout=timeout,
                                        _strict_response_validation=True)
            provider = OpenAIProvider(client=client, profile_name="sandbox")
        else:
            provider = make_provider(SANDBOX, KEY, base_url=server.base_url,
                                     max_retries=max_retries, timeout=timeout)
        try:
            yield server, provider
        finally:
            await provider.close()
    finally:
        await server.stop()


async def poll_until_done(provider: OpenAIProvider, batch_id: str) -> list[RemoteBatch]:
    seen = []
    for _ in range(30):
        batch = await provider.retrieve_batch(batch_id)
        seen.append(batch)
        if batch.status in TERMINAL:
            return seen
    raise AssertionError(f"batch never finished: {[b.status for b in seen]}")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("strict", [False, True], ids=["lax", "strict"])
def test_full_lifecycle(tmp_path: Path, strict: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # everything, to prove the key never reaches a log
    source = write_input(tmp_path / "input.jsonl", 3)
    results = tmp_path / "results"
    results.mkdir()

    async def scenario() -> None:
        async with sandbox(tmp_path, strict=strict) as (server, provider):
            uploaded = await provider.upload_file(source, "batch-0001.jsonl")
            assert uploaded.filename == "batch-0001.jsonl"
            assert uploaded.bytes == source.stat().st_size
            assert uploaded.purpose == "batch"

            meta = {METADATA_KEY: "uuid-1234"}
            created = await provider.create_batch(uploaded.id, ENDPOINT, meta)
            assert created.status == "validating"
            assert created.metadata == meta and created.input_file_id == uploaded.id
            assert created.endpoint == ENDPOINT

            seen = await poll_until_done(provider, created.id)
            assert [b.status for b in seen][-1] == "completed"
            assert "in_progress" in {b.status for b in seen}
            done = seen[-1]
            assert (done.total, done.completed, done.failed) == (3, 3, 0)
            assert done.output_file_id and done.input_tokens and done.output_tokens
            assert isinstance(done.created_at, float) and isinstance(done.expires_at, float)

            dest = results / "out.jsonl"
            size = await provider.download_file(done.output_file_id, dest)
            assert size == dest.stat().st_size > 0
            rows = [json.loads(line) for line in dest.read_text().splitlines()]
            assert sorted(r["custom_id"] for r in rows) == ["p0", "p1", "p2"]
            assert all(r["response"]["status_code"] == 200 for r in rows)
            assert leftovers(results) == []

            found = [b async for b in provider.list_batches()
                     if b.metadata.get(METADATA_KEY) == "uuid-1234"]
            assert [b.id for b in found] == [created.id]
            assert uploaded.id in {f.id async for f in provider.list_files()}
            assert done.output_file_id in {f.id async for f in provider.list_files(purpose=None)}

            await provider.delete_file(uploaded.id)
            await provider.delete_file(done.output_file_id)
            await provider.delete_file(uploaded.id)  # already gone: still fine
            assert uploaded.id not in {f.id async for f in provider.list_files(purpose=None)}
            assert server.stats()["files_deleted"] == 2

            assert KEY not in repr(provider)

    run(scenario())
    assert caplog.records, "expected SDK debug logs"
    assert not any(KEY in record.getMessage() for record in caplog.records)


def test_cancel(tmp_path: Path) -> None:
    source = write_input(tmp_path / "input.jsonl", 2)

    async def scenario() -> None:
        # steps_per_poll=0: the batch does not move until we let it.
        async with sandbox(tmp_path, SandboxConfig(steps_per_poll=0)) as (server, provider):
            uploaded = await provider.upload_file(source, "in.jsonl")
            created = await provider.create_batch(uploaded.id, ENDPOINT, {METADATA_KEY: "c"})
            cancelling = await provider.cancel_batch(created.id)
            assert cancelling.id == created.id
            assert cancelling.status in ("cancelling", "cancelled")
            server.config.steps_per_poll = 1
            final = (await poll_until_done(provider, created.id))[-1]
            assert final.status == "cancelled"
            with pytest.raises(PermanentError) as err:  # finished batches cannot be cancelled
                await provider.cancel_batch(created.id)
            assert err.value.status == 400

    run(scenario())


def test_unknown_ids(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path) as (_, provider):
            with pytest.raises(NotFoundRemote):
                await provider.retrieve_batch("batch_unknown")
            with pytest.raises(NotFoundRemote):
                await provider.cancel_batch("batch_unknown")
            with pytest.raises(NotFoundRemote):
                await provider.download_file("file-unknown", tmp_path / "x.jsonl")
            assert not (tmp_path / "x.jsonl").exists()
            assert leftovers(tmp_path) == []
            await provider.delete_file("file-unknown")  # already gone counts as deleted
            with pytest.raises(PermanentError):
                await provider.retrieve_batch("")

    run(scenario())


@pytest.mark.parametrize("kind", ["500", "429", "timeout", "drop"])
def test_transient_faults_retry_later(tmp_path: Path, kind: str) -> None:
    config = SandboxConfig(faults={"batches.retrieve": FaultSpec(rate=1.0, kinds=(kind,))},
                           timeout_seconds=2.0)

    async def scenario() -> None:
        async with sandbox(tmp_path, config, timeout=0.5) as (server, provider):
            with pytest.raises(RetryLater) as err:
                await provider.retrieve_batch("batch_any")
            if kind == "429":
                assert err.value.status == 429
                assert err.value.retry_after == pytest.approx(0.01)
            elif kind == "500":
                assert err.value.status == 500
            else:
                assert err.value.status is None
            assert server.stats()["requests"]["batches.retrieve"] == 1  # max_retries=0

    run(scenario())


def test_other_calls_are_retried_by_the_sdk(tmp_path: Path) -> None:
    config = SandboxConfig(faults={"batches.retrieve": FaultSpec(kinds=("500",), max_count=1)})

    async def scenario() -> None:
        async with sandbox(tmp_path, config, max_retries=1) as (server, provider):
            with pytest.raises(NotFoundRemote):  # the retry got through, to a 404
                await provider.retrieve_batch("batch_any")
            assert server.stats()["requests"]["batches.retrieve"] == 2

    run(scenario())


def test_create_is_never_retried(tmp_path: Path) -> None:
    source = write_input(tmp_path / "input.jsonl", 1)
    config = SandboxConfig(faults={"batches.create": FaultSpec(kinds=("500",))})

    async def scenario() -> None:
        async with sandbox(tmp_path, config, max_retries=2) as (server, provider):
            uploaded = await provider.upload_file(source, "in.jsonl")
            with pytest.raises(RetryLater):
                await provider.create_batch(uploaded.id, ENDPOINT, {METADATA_KEY: "once"})
            stats = server.stats()
            assert stats["requests"]["batches.create"] == 1
            assert stats["faults_injected"] == {"batches.create:500": 1}
            assert stats["batches_created"] == 0

    run(scenario())


def test_lost_create_answer_is_found_by_metadata(tmp_path: Path) -> None:
    """The create happened but its answer was lost: the engine reconciles via list_batches."""
    source = write_input(tmp_path / "input.jsonl", 1)
    config = SandboxConfig(faults={"batches.create": FaultSpec(kinds=("500_after",))})

    async def scenario() -> None:
        async with sandbox(tmp_path, config, max_retries=2) as (server, provider):
            uploaded = await provider.upload_file(source, "in.jsonl")
            with pytest.raises(RetryLater):
                await provider.create_batch(uploaded.id, ENDPOINT, {METADATA_KEY: "lost"})
            assert server.stats()["batches_created"] == 1
            found = [b async for b in provider.list_batches(page_size=1)
                     if b.metadata.get(METADATA_KEY) == "lost"]
            assert len(found) == 1

    run(scenario())


def test_upload_is_not_retried_by_the_sdk(tmp_path: Path) -> None:
    """A retried upload after a lost answer would leave an extra copy: the engine retries."""
    source = write_input(tmp_path / "input.jsonl", 50)
    config = SandboxConfig(faults={"files.create": FaultSpec(kinds=("500",), max_count=1)})

    async def scenario() -> None:
        async with sandbox(tmp_path, config, max_retries=2) as (server, provider):
            with pytest.raises(RetryLater):
                await provider.upload_file(source, "in.jsonl")
            assert server.stats()["requests"]["files.create"] == 1
            uploaded = await provider.upload_file(source, "in.jsonl")
            assert uploaded.bytes == source.stat().st_size
            copy = tmp_path / "copy.jsonl"
            await provider.download_file(uploaded.id, copy)
            assert copy.read_bytes() == source.read_bytes()

    run(scenario())


def test_upload_rejects_non_jsonl_names_and_missing_files(tmp_path: Path) -> None:
    source = write_input(tmp_path / "input.jsonl", 1)

    async def scenario() -> None:
        async with sandbox(tmp_path) as (server, provider):
            with pytest.raises(PermanentError, match=r"\.jsonl"):
                await provider.upload_file(source, "input.txt")
            with pytest.raises(PermanentError, match="Cannot read"):
                await provider.upload_file(tmp_path / "missing.jsonl", "missing.jsonl")
            assert server.stats()["requests"].get("files.create", 0) == 0

    run(scenario())


@pytest.mark.parametrize("kind", ["drop", "500"])
def test_failed_download_leaves_dest_untouched(tmp_path: Path, kind: str) -> None:
    source = write_input(tmp_path / "input.jsonl", 5)
    results = tmp_path / "results"
    results.mkdir()
    dest = results / "out.jsonl"
    dest.write_text("previous download\n")

    async def scenario() -> None:
        async with sandbox(tmp_path) as (server, provider):
            uploaded = await provider.upload_file(source, "in.jsonl")
            server.config.faults = {"files.content": FaultSpec(kinds=(kind,))}
            with pytest.raises(RetryLater):
                await provider.download_file(uploaded.id, dest)
            assert dest.read_text() == "previous download\n"
            assert leftovers(results) == []
            server.config.faults = {}
            assert await provider.download_file(uploaded.id, dest) == source.stat().st_size
            assert dest.read_bytes() == source.read_bytes()

    run(scenario())


def test_list_batches_pages_and_stops_early(tmp_path: Path) -> None:
    source = write_input(tmp_path / "input.jsonl", 1)

    async def scenario() -> None:
        async with sandbox(tmp_path, SandboxConfig(instant=True)) as (server, provider):
            uploaded = await provider.upload_file(source, "in.jsonl")
            ids = [(await provider.create_batch(uploaded.id, ENDPOINT, {METADATA_KEY: str(i)})).id
                   for i in range(5)]
            listed = [b.id async for b in provider.list_batches(page_size=2)]
            assert listed == ids[::-1]  # newest first, across three pages
            assert server.stats()["requests"]["batches.list"] == 3
            async for first in provider.list_batches(page_size=2):
                assert first.id == ids[-1]
                break

    run(scenario())


def test_listing_error_maps(tmp_path: Path) -> None:
    config = SandboxConfig(faults={"files.list": FaultSpec(kinds=("429",))})

    async def scenario() -> None:
        async with sandbox(tmp_path, config) as (_, provider):
            with pytest.raises(RetryLater):
                [f async for f in provider.list_files()]

    run(scenario())


def test_connection_refused_is_retry_later(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sandbox(tmp_path) as (server, _):
            url = server.base_url
        provider = make_provider(SANDBOX, KEY, base_url=url, max_retries=0, timeout=1.0)
        try:
            with pytest.raises(RetryLater) as err:
                await provider.retrieve_batch("batch_x")
            assert err.value.code == "connection_error"
        finally:
            await provider.close()

    run(scenario())


def test_env_does_not_leak_into_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://evil.invalid/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-env")
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-env")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "Authorization: Bearer sk-hdr\nX-Leak: yes")

    async def scenario() -> None:
        provider = make_provider(SANDBOX, KEY, base_url="http://127.0.0.1:9/v1")
        try:
            for client in (provider._client, provider._create_client):
                headers = {k.lower(): v for k, v in client.default_headers.items()
                           if isinstance(v, str)}
                assert "x-leak" not in headers
                assert "openai-organization" not in headers
                assert "openai-project" not in headers
                assert headers.get("authorization", f"Bearer {KEY}") == f"Bearer {KEY}"
                assert client.auth_headers == {"Authorization": f"Bearer {KEY}"}
                assert client.api_key == KEY and client.admin_api_key is None
                assert str(client.base_url) == "http://127.0.0.1:9/v1/"
            assert provider._create_client.max_retries == 0
            assert provider._client.max_retries == 2
        finally:
            await provider.close()

    run(scenario())

