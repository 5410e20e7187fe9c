"""State survives restarts; time-driven progress runs on while nobody polls."""

from __future__ import annotations

import asyncio
from pathlib import Path

from openai import AsyncOpenAI

from batcher_gui.sandbox import SandboxConfig, SandboxServer

from .helpers import chat_file, download, make_client, poll, submit, upload


def test_restart_continues_batches_and_keeps_files(tmp_path: Path) -> None:
    state = tmp_path / "state"

    async def main() -> None:
        async with SandboxServer(state) as first, make_client(first) as client:
            keep = await upload(client, b'{"keep": true}\n', "keep.jsonl")
            batch = await submit(client, chat_file(4), metadata={"job": "restart"})
            assert (await client.batches.retrieve(batch.id)).status == "in_progress"
        async with SandboxServer(state) as second, make_client(second) as client:
            assert (await client.files.content(keep)).content == b'{"keep": true}\n'
            final = (await poll(client, batch.id))[-1]
            assert final.status == "completed" and final.metadata == {"job": "restart"}
            assert final.output_file_id is not None
            lines = await download(client, final.output_file_id, tmp_path / "out.jsonl")
            assert len(lines) == 4
            fresh = await upload(client, b"{}\n")
            listed = [f.id async for f in client.files.list(order="asc")]
            assert listed[0] == keep and listed[-1] == fresh and len(set(listed)) == len(listed)
            assert [b.id async for b in client.batches.list()] == [batch.id]

    asyncio.run(main())


def test_step_seconds_progress_without_polling(tmp_path: Path) -> None:
    config = SandboxConfig(steps_per_poll=0, step_seconds=0.05)

    async def main() -> None:
        async with SandboxServer(tmp_path / "s", config) as server, make_client(server) as client:
            batch = await submit(client, chat_file(3))
            assert batch.status == "validating"
            await asyncio.sleep(0.3)  # 4 steps (0.2 s) take it to completed; nobody polls
            final = await client.batches.retrieve(batch.id)
            assert final.status == "completed"
            stamps = [
                final.created_at,
                final.in_progress_at,
                final.finalizing_at,
                final.completed_at,
            ]
            assert all(s is not None for s in stamps) and stamps == sorted(stamps)  # type: ignore[type-var]

    asyncio.run(main())


def test_time_moves_on_while_the_server_is_down(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = SandboxConfig(steps_per_poll=0, step_seconds=0.05)

    async def main() -> None:
        async with SandboxServer(state, config) as server, make_client(server) as client:
            batch = await submit(client, chat_file(2))
        await asyncio.sleep(0.3)
        async with SandboxServer(state, config) as server, make_client(server) as client:
            assert (await client.batches.retrieve(batch.id)).status == "completed"

    asyncio.run(main())


def test_frozen_batches_and_runtime_knob_flips(tmp_path: Path) -> None:
    config = SandboxConfig(steps_per_poll=0)

    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        batch = await submit(client, chat_file(2))
        for _ in range(5):
            assert (await client.batches.retrieve(batch.id)).status == "validating"
        server.config.steps_per_poll = 10
        assert (await client.batches.retrieve(batch.id)).status == "completed"

    async def main() -> None:
        async with SandboxServer(tmp_path / "s", config) as server, make_client(server) as client:
            await scenario(server, client)

    asyncio.run(main())


def test_state_files_are_plain_json(tmp_path: Path) -> None:
    state = tmp_path / "state"

    async def main() -> str:
        async with SandboxServer(state, SandboxConfig(instant=True)) as server:
            async with make_client(server) as client:
                return (await submit(client, chat_file(2))).id

    batch_id = asyncio.run(main())
    record = (state / "batches" / f"{batch_id}.json").read_text()
    assert '"status":"completed"' in record
    assert not list(state.rglob(".tmp-*"))  # every write went through temp + os.replace
