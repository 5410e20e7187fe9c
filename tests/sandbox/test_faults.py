"""HTTP fault injection as the SDK experiences it, before and after the request applies."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import openai
import pytest
from openai import AsyncOpenAI

from batcher_gui.sandbox import FaultSpec, SandboxConfig, SandboxServer

from .helpers import CHAT, Runner, chat_file, make_client, submit, upload

EXCEPTIONS: dict[str, type[Exception]] = {
    "429": openai.RateLimitError,
    "500": openai.InternalServerError,
    "drop": openai.APIConnectionError,
    "timeout": openai.APITimeoutError,
}


def _config(route: str, kind: str, **spec: object) -> SandboxConfig:
    return SandboxConfig(faults={route: FaultSpec(kinds=(kind,), **spec)}, timeout_seconds=1.0)  # type: ignore[arg-type]


async def _wait_for(condition: object, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("kind", sorted(EXCEPTIONS))
@pytest.mark.parametrize("route", ["files.list", "batches.retrieve", "files.create"])
def test_fault_kinds_raise_the_sdk_exception(run: Runner, route: str, kind: str) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        batch = await submit(client, chat_file(1)) if route == "batches.retrieve" else None
        server.config = _config(route, kind)
        with pytest.raises(EXCEPTIONS[kind]) as info:
            if route == "files.list":
                await client.files.list()
            elif route == "files.create":
                await upload(client, b"{}\n")
            else:
                assert batch is not None
                await client.batches.retrieve(batch.id)
        if kind == "429":
            assert isinstance(info.value, openai.RateLimitError)
            assert info.value.code == "rate_limit_exceeded"
            assert info.value.response.headers["retry-after-ms"] == "10"
        assert server.stats()["faults_injected"] == {f"{route}:{kind}": 1}
        if route == "files.create":
            await _wait_for(lambda: server.stats()["requests"]["files.create"] == 1)
            assert server.stats()["files_created"] == 0  # faulted before applying

    run(scenario, timeout=0.2)


@pytest.mark.parametrize("kind", ["429", "500", "drop", "timeout"])
def test_retries_get_through_transient_faults(run: Runner, kind: str) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        page = await client.files.list()
        assert page.data == []
        assert server.stats()["requests"]["files.list"] == 2

    config = _config("files.list", kind, max_count=1)
    run(scenario, config, max_retries=2, timeout=0.2)


def test_drop_after_apply_on_create_leaves_a_findable_batch(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        file_id = await upload(client, chat_file(2))
        server.config.faults = {"batches.create": FaultSpec(kinds=("drop_after",), max_count=1)}
        with pytest.raises(openai.APIConnectionError):
            await client.batches.create(
                input_file_id=file_id, endpoint=CHAT, completion_window="24h",
                metadata={"job": "job-42"},
            )  # fmt: skip
        # The app's reconciliation path: find the batch by its metadata tag.
        found = [
            b async for b in client.batches.list() if (b.metadata or {}).get("job") == "job-42"
        ]
        assert len(found) == 1 and found[0].input_file_id == file_id
        assert server.stats()["batches_created"] == 1

    run(scenario)


def test_timeout_after_apply_with_retries_duplicates_the_batch(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        file_id = await upload(client, chat_file(1))
        server.config = _config("batches.create", "timeout_after", max_count=1)
        await client.batches.create(input_file_id=file_id, endpoint=CHAT, completion_window="24h")
        assert server.stats()["batches_created"] == 2  # no idempotency key: a duplicate

    run(scenario, max_retries=1, timeout=0.2)


def test_timeout_before_apply_is_never_applied(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        file_id = await upload(client, chat_file(1))
        server.config = _config("batches.create", "timeout", max_count=1)
        await client.batches.create(input_file_id=file_id, endpoint=CHAT, completion_window="24h")
        await asyncio.sleep(0.1)  # let the stalled handler notice its client left
        assert server.stats()["batches_created"] == 1

    run(scenario, max_retries=1, timeout=0.2)


def test_fault_after_apply_knob_on_file_upload(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        with pytest.raises(openai.InternalServerError):
            await upload(client, b"{}\n", "orphan.jsonl")
        names = [f.filename async for f in client.files.list()]
        assert names == ["orphan.jsonl"]

    config = _config("files.create", "500", max_count=1)
    config.fault_after_apply = True
    run(scenario, config)


def test_wildcard_route_and_seeded_reproducibility(tmp_path: object) -> None:
    async def pattern(seed: int, index: int) -> list[bool]:
        config = SandboxConfig(faults={"*": FaultSpec(rate=0.5, kinds=("500",))}, seed=seed)
        async with SandboxServer(tmp_path / f"s{index}", config) as server:  # type: ignore[operator]
            async with make_client(server) as client:
                outcomes = []
                for _ in range(16):
                    try:
                        await client.batches.list()
                        outcomes.append(True)
                    except openai.InternalServerError:
                        outcomes.append(False)
                return outcomes

    async def main() -> None:
        first, second, other = await pattern(7, 0), await pattern(7, 1), await pattern(8, 2)
        assert first == second and not all(first) and any(first)
        assert first != other

    asyncio.run(main())


def test_stats_route_is_never_faulted(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        headers = {"Authorization": f"Bearer {server.token}"}  # its token, like every route
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(f"{server.base_url}/sandbox/stats") as resp:
                assert resp.status == 200
                stats = await resp.json()
        assert stats["batches_created"] == 0 and stats["live_files"] == 0
        assert set(stats) >= {"files_created", "files_deleted", "requests", "faults_injected"}

    run(scenario, _config("*", "500"))
