"""Request builders and SDK round-trips shared by the sandbox tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import orjson
from openai import AsyncOpenAI
from openai.types import Batch

from batcher_gui.sandbox import SandboxConfig, SandboxServer

T = TypeVar("T")
Scenario = Callable[[SandboxServer, AsyncOpenAI], Awaitable[T]]

TERMINAL = {"completed", "failed", "expired", "cancelled"}
CHAT: Final = "/v1/chat/completions"
MODEL = "gpt-4o-mini"


def chat(custom_id: str, text: str, model: str = MODEL) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 100}
    return {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": body}


def request(endpoint: str, custom_id: str, text: str, model: str = MODEL) -> dict[str, Any]:
    if endpoint == CHAT:
        return chat(custom_id, text, model)
    key = "prompt" if endpoint == "/v1/completions" else "input"
    body = {"model": model, key: text}
    return {"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body}


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def chat_file(n: int, prefix: str = "req") -> bytes:
    return jsonl([chat(f"{prefix}-{i}", f"Question number {i}?") for i in range(n)])


async def upload(client: AsyncOpenAI, data: bytes, name: str = "in.jsonl") -> str:
    file = await client.files.create(file=(name, data, "application/jsonl"), purpose="batch")
    return file.id


async def submit(
    client: AsyncOpenAI,
    data: bytes,
    endpoint: str = CHAT,
    metadata: dict[str, str] | None = None,
) -> Batch:
    file_id = await upload(client, data)
    return await client.batches.create(
        input_file_id=file_id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window="24h",
        metadata=metadata,
    )


async def poll(client: AsyncOpenAI, batch_id: str, max_polls: int = 50) -> list[Batch]:
    """Every state seen while polling until terminal (the last one is terminal)."""
    seen: list[Batch] = []
    for _ in range(max_polls):
        batch = await client.batches.retrieve(batch_id)
        seen.append(batch)
        if batch.status in TERMINAL:
            return seen
    raise AssertionError(f"batch {batch_id} not terminal after {max_polls} polls: {seen[-1]}")


async def download(client: AsyncOpenAI, file_id: str, path: Path) -> list[dict[str, Any]]:
    """Stream a file to disk the way the app does, then parse its JSONL lines."""
    async with client.files.with_streaming_response.content(file_id) as response:
        await response.stream_to_file(path)
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def make_client(
    server: SandboxServer, *, max_retries: int = 0, timeout: float = 5.0
) -> AsyncOpenAI:
    return AsyncOpenAI(
        api_key=server.token,
        base_url=server.base_url,
        max_retries=max_retries,
        timeout=timeout,
        _strict_response_validation=True,
    )


class Runner:
    """`run(scenario, config)` starts a server on this test's state dir and a client."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def __call__(
        self,
        scenario: Scenario[T],
        config: SandboxConfig | None = None,
        **client_options: Any,
    ) -> T:
        async def main() -> T:
            async with SandboxServer(self.state_dir, config) as server:
                async with make_client(server, **client_options) as client:
                    return await scenario(server, client)

        return asyncio.run(main())
