"""Request validation (HTTP 4xx) and batch validation (status failed + errors.data)."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from openai import AsyncOpenAI, BadRequestError, NotFoundError
from openai.types import Batch

from batcher_gui.sandbox import SandboxConfig, SandboxServer

from .helpers import CHAT, Runner, chat, jsonl, poll, submit, upload

TOKEN_LIMIT_PREFIX = "Enqueued token limit reached for gpt-4o-mini in organization org-sandbox."


async def _fails_with(client: AsyncOpenAI, data: bytes, **kwargs: object) -> Batch:
    batch = await submit(client, data, **kwargs)  # type: ignore[arg-type]
    final = (await poll(client, batch.id))[-1]
    assert final.status == "failed" and final.failed_at is not None
    assert final.output_file_id is None and final.error_file_id is None
    assert final.errors is not None and final.errors.object == "list" and final.errors.data
    return final


def test_non_jsonl_upload_is_rejected(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        for file in (b'{"x": 1}\n', ("in.txt", b'{"x": 1}\n', "text/plain")):
            with pytest.raises(BadRequestError) as info:
                await client.files.create(file=file, purpose="batch")  # bare bytes = "upload"
            body = info.value.body
            assert isinstance(body, dict)
            assert body["message"] == "Invalid file format for Batch API. Must be .jsonl"
        assert server.stats()["live_files"] == 0

    run(scenario)


@pytest.mark.parametrize(
    ("lines", "code", "line", "param"),
    [
        ([orjson.dumps(chat("a", "x")), b"{not json", orjson.dumps(chat("b", "y"))],
         "invalid_json_line", 2, None),
        ([orjson.dumps(chat("a", "x")), orjson.dumps(chat("a", "y"))],
         "duplicate_custom_id", 2, "custom_id"),
        ([orjson.dumps(chat("a", "x")), orjson.dumps(chat("b", "y", model="gpt-4o"))],
         "model_mismatch", 2, "body.model"),
        ([orjson.dumps({**chat("a", "x"), "url": "/v1/embeddings"})], "url_mismatch", 1, "url"),
    ],
)  # fmt: skip
def test_line_validation_failures(
    run: Runner, lines: list[bytes], code: str, line: int, param: str | None
) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        final = await _fails_with(client, b"\n".join(lines) + b"\n")
        assert final.errors is not None and final.errors.data is not None
        error = final.errors.data[0]
        assert (error.code, error.line, error.param) == (code, line, param)
        if code == "invalid_json_line":
            assert error.message == "This line is not parseable as valid JSON."

    run(scenario)


def test_empty_file_and_too_many_tasks(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        empty = await _fails_with(client, b"")
        assert empty.errors and empty.errors.data and empty.errors.data[0].code == "empty_file"
        huge = b"{}\n" * 50_001  # counted before any line is parsed
        many = await _fails_with(client, huge)
        assert many.errors and many.errors.data and many.errors.data[0].code == "too_many_tasks"

    run(scenario)


def test_injected_batch_failure_per_batch_and_server_wide(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        data = jsonl([chat("a", "x")])
        meta = {"sandbox_batch_failure": "token_limit_exceeded"}
        final = await _fails_with(client, data, metadata=meta)
        assert final.errors and final.errors.data
        error = final.errors.data[0]
        assert error.code == "token_limit_exceeded" and error.line is None
        assert error.message is not None and error.message.startswith(TOKEN_LIMIT_PREFIX)
        assert error.message.endswith(
            "Limit: 2,000,000 enqueued tokens. Please try again once some in_progress batches "
            "have been completed."
        )
        server.config.batch_failure = "invalid_json_line"
        final = await _fails_with(client, data)
        assert final.errors and final.errors.data and final.errors.data[0].line == 1
        server.config.batch_failure = None
        assert (await poll(client, (await submit(client, data)).id))[-1].status == "completed"

    run(scenario)


def test_token_limit_failures_then_success_per_model(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        mini, big = jsonl([chat("a", "x")]), jsonl([chat("a", "x", model="gpt-4o")])
        statuses = []
        for data in (mini, mini, mini, big, big):
            statuses.append((await poll(client, (await submit(client, data)).id))[-1].status)
        assert statuses == ["failed", "failed", "completed", "failed", "failed"]

    run(scenario, SandboxConfig(token_limit_failures=2))


def test_create_parameter_errors(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        file_id = await upload(client, jsonl([chat("a", "x")]))
        cases: list[tuple[dict[str, object], str | None]] = [
            ({"completion_window": "1h"}, "completion_window"),
            ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
            ({"metadata": {"k": "v" * 513}}, "metadata.k"),
            ({"metadata": {"sandbox_outcome": "explode"}}, "metadata"),
            ({"metadata": {"sandbox_nope": "1"}}, "metadata"),
        ]
        for override, param in cases:
            kwargs: dict[str, object] = {
                "input_file_id": file_id,
                "endpoint": CHAT,
                "completion_window": "24h",
            }
            kwargs.update(override)
            with pytest.raises(BadRequestError) as info:
                await client.batches.create(**kwargs)  # type: ignore[arg-type]
            assert info.value.param == param, override
        with pytest.raises(NotFoundError):
            await client.batches.create(
                input_file_id="file-0000ffff00", endpoint=CHAT, completion_window="24h"
            )
        notes = await client.files.create(file=("n.jsonl", b"{}\n"), purpose="user_data")
        with pytest.raises(BadRequestError):
            await client.batches.create(
                input_file_id=notes.id, endpoint=CHAT, completion_window="24h"
            )
        assert server.stats()["batches_created"] == 0

    run(scenario)


def test_missing_api_key_is_401(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.base_url}/batches") as resp:
                assert resp.status == 401
                error = (await resp.json())["error"]
            async with http.get(
                f"{server.base_url}/nope", headers={"Authorization": f"Bearer {server.token}"}
            ) as r:
                assert r.status == 404 and "Invalid URL" in (await r.json())["error"]["message"]
        assert error["type"] == "invalid_request_error" and "API key" in error["message"]
        assert set(error) == {"message", "type", "param", "code"}

    run(scenario)


def test_multipart_part_order_and_malformed_bodies(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        form = aiohttp.FormData()
        form.add_field("expires_after[seconds]", "7200")
        form.add_field("file", b"{}\n", filename="late.jsonl", content_type="application/jsonl")
        form.add_field("expires_after[anchor]", "created_at")
        form.add_field("purpose", "batch")  # purpose after the file: still fine
        headers = {"Authorization": f"Bearer {server.token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.post(f"{server.base_url}/files", data=form) as resp:
                assert resp.status == 200
                file = await resp.json()
            broken = {"Content-Type": "multipart/form-data"}  # no boundary
            async with http.post(f"{server.base_url}/files", data=b"x", headers=broken) as resp:
                assert resp.status == 400
            async with http.post(f"{server.base_url}/batches", data=b"{oops") as resp:
                assert resp.status == 400
                assert "could not parse the JSON body" in (await resp.json())["error"]["message"]
        assert file["filename"] == "late.jsonl" and file["purpose"] == "batch"
        assert file["expires_at"] == file["created_at"] + 7200
        retrieved = await client.files.retrieve(file["id"])
        assert retrieved.bytes == 3
        assert server.stats()["live_files"] == 1

    run(scenario)
