"""Upload -> create -> poll -> download, per endpoint, with strict SDK validation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from openai import AsyncOpenAI

from batcher_gui.sandbox import SandboxConfig, SandboxServer

from .helpers import CHAT, MODEL, Runner, chat_file, download, jsonl, poll, request, submit, upload

ENDPOINT_OBJECTS = {
    "/v1/chat/completions": "chat.completion",
    "/v1/responses": "response",
    "/v1/embeddings": "list",
    "/v1/completions": "text_completion",
}


def test_chat_batch_lifecycle_and_output(run: Runner, tmp_path: Path) -> None:
    data = chat_file(6)

    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        file = await client.files.create(
            file=("in.jsonl", data, "application/jsonl"), purpose="batch"
        )
        assert file.bytes == len(data) and file.filename == "in.jsonl"
        assert file.purpose == "batch" and file.status == "processed"
        assert file.expires_at == file.created_at + 30 * 24 * 3600
        batch = await client.batches.create(
            input_file_id=file.id, endpoint=CHAT, completion_window="24h", metadata={"job": "j1"}
        )
        assert batch.status == "validating" and batch.metadata == {"job": "j1"}
        assert batch.expires_at == batch.created_at + 24 * 3600
        seen = await poll(client, batch.id)
        statuses = [b.status for b in seen]
        assert statuses == ["in_progress", "in_progress", "finalizing", "completed"]
        done = [b.request_counts.completed for b in seen if b.request_counts]
        assert done == sorted(done) and 0 < done[1] < 6  # counts grow while in progress
        final = seen[-1]
        assert final.model == MODEL and final.error_file_id is None and final.errors is None
        assert final.request_counts is not None and final.request_counts.total == 6
        assert final.request_counts.completed == 6 and final.request_counts.failed == 0
        for stamp in (final.in_progress_at, final.finalizing_at, final.completed_at):
            assert stamp is not None and stamp >= final.created_at
        assert final.output_file_id is not None
        lines = await download(client, final.output_file_id, tmp_path / "out.jsonl")
        ids = [line["custom_id"] for line in lines]
        expected = [f"req-{i}" for i in range(6)]
        assert sorted(ids) == sorted(expected) and ids != expected  # join on custom_id!
        usage_in = usage_out = 0
        for line in lines:
            assert line["id"].startswith("batch_req_") and line["error"] is None
            response = line["response"]
            assert response["status_code"] == 200 and response["request_id"].startswith("req_")
            body = response["body"]
            assert body["object"] == "chat.completion" and body["model"] == MODEL
            assert body["choices"][0]["message"]["role"] == "assistant"
            usage = body["usage"]
            assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
            usage_in += usage["prompt_tokens"]
            usage_out += usage["completion_tokens"]
        assert final.usage is not None
        assert (final.usage.input_tokens, final.usage.output_tokens) == (usage_in, usage_out)
        assert final.usage.total_tokens == usage_in + usage_out
        out_file = await client.files.retrieve(final.output_file_id)
        assert out_file.purpose == "batch_output"
        assert out_file.bytes == (tmp_path / "out.jsonl").stat().st_size
        assert out_file.filename == f"{batch.id}_output.jsonl"

    run(scenario)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_OBJECTS) + ["/v1/moderations"])
def test_every_endpoint_answers_realistically(run: Runner, tmp_path: Path, endpoint: str) -> None:
    rows = [request(endpoint, f"c{i}", f"text number {i}") for i in range(4)]

    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        batch = await submit(client, jsonl(rows), endpoint)
        final = (await poll(client, batch.id))[-1]
        assert final.status == "completed" and final.output_file_id
        lines = await download(client, final.output_file_id, tmp_path / "out.jsonl")
        bodies = {line["custom_id"]: line["response"]["body"] for line in lines}
        assert set(bodies) == {"c0", "c1", "c2", "c3"}
        body = bodies["c1"]
        if endpoint == "/v1/moderations":
            assert body["results"][0]["flagged"] is False and "categories" in body["results"][0]
            return
        assert body["object"] == ENDPOINT_OBJECTS[endpoint]
        if endpoint == "/v1/responses":
            assert body["output"][0]["content"][0]["type"] == "output_text"
            assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0
        elif endpoint == "/v1/embeddings":
            vector = body["data"][0]["embedding"]
            assert len(vector) == 8 and abs(sum(v * v for v in vector) - 1) < 1e-3
            assert vector != bodies["c2"]["data"][0]["embedding"]
        elif endpoint == "/v1/completions":
            assert body["choices"][0]["text"]
        assert final.usage is not None and final.usage.input_tokens > 0

    run(scenario)


def test_answers_are_deterministic_across_batches(run: Runner, tmp_path: Path) -> None:
    rows = [request("/v1/embeddings", f"e{i}", f"same text {i}") for i in range(3)]

    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        vectors = []
        for attempt in range(2):
            batch = await submit(client, jsonl(rows), "/v1/embeddings")
            final = (await poll(client, batch.id))[-1]
            assert final.output_file_id is not None
            lines = await download(client, final.output_file_id, tmp_path / f"o{attempt}.jsonl")
            vectors.append(
                {ln["custom_id"]: ln["response"]["body"]["data"][0]["embedding"] for ln in lines}
            )
        assert vectors[0] == vectors[1]

    run(scenario)


def test_file_crud_and_not_found(run: Runner, tmp_path: Path) -> None:
    from openai import NotFoundError

    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        file_id = await upload(client, b'{"a": 1}\n')
        assert (await client.files.retrieve(file_id)).id == file_id
        content = await client.files.content(file_id)
        assert content.content == b'{"a": 1}\n'
        deleted = await client.files.delete(file_id)
        assert deleted.deleted is True and deleted.id == file_id and deleted.object == "file"
        for call in (client.files.retrieve, client.files.delete, client.files.content):
            with pytest.raises(NotFoundError) as info:
                await call(file_id)
            assert info.value.code is None and info.value.type == "invalid_request_error"
            assert file_id in info.value.message
        with pytest.raises(NotFoundError):
            await client.batches.retrieve("batch_doesnotexist")

    run(scenario)


def test_upload_with_expiry_and_other_purpose(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        file = await client.files.create(
            file=("in.jsonl", b"{}\n", "application/jsonl"),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )
        assert file.expires_at == file.created_at + 3600
        other = await client.files.create(file=("notes.txt", b"hello"), purpose="user_data")
        assert other.purpose == "user_data" and other.expires_at is None and other.bytes == 5

    run(scenario)


def test_output_expires_after_sets_output_file_expiry(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        file_id = await upload(client, chat_file(2))
        batch = await client.batches.create(
            input_file_id=file_id,
            endpoint=CHAT,
            completion_window="24h",
            output_expires_after={"anchor": "created_at", "seconds": 7200},
        )
        assert batch.output_file_id is not None
        out = await client.files.retrieve(batch.output_file_id)
        assert out.expires_at == out.created_at + 7200

    run(scenario, SandboxConfig(instant=True))


def test_concurrent_clients_do_not_corrupt_state(run: Runner) -> None:
    async def one(client: AsyncOpenAI, i: int) -> str:
        batch = await submit(client, chat_file(3, prefix=f"c{i}"), metadata={"i": str(i)})
        statuses = await poll(client, batch.id)
        assert statuses[-1].status == "completed"
        return batch.id

    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        ids = await asyncio.gather(*(one(client, i) for i in range(12)))
        assert len(set(ids)) == 12
        stats = server.stats()
        assert stats["batches_created"] == 12 and stats["batches_by_status"] == {"completed": 12}
        assert stats["live_files"] == 24  # 12 inputs + 12 outputs

    run(scenario)
