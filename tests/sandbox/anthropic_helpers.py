"""Request builders and SDK round-trips for the sandbox's Anthropic face (real anthropic SDK)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from anthropic import AsyncAnthropic
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse

from batcher_gui.sandbox import SandboxConfig, SandboxServer

T = TypeVar("T")
Scenario = Callable[[SandboxServer, AsyncAnthropic], Awaitable[T]]
CLAUDE: Final = "claude-sonnet-4-5"


def claude(custom_id: str, text: str, **params: Any) -> dict[str, Any]:
    body = {"model": CLAUDE, "max_tokens": 200,
            "messages": [{"role": "user", "content": text}], **params}
    return {"custom_id": custom_id, "params": body}


def claude_requests(n: int, prefix: str = "p") -> list[dict[str, Any]]:
    return [claude(f"{prefix}{i}", f"Question number {i}?") for i in range(n)]


def make_anthropic(server: SandboxServer, *, api_key: str | None = None, max_retries: int = 0,
                   timeout: float = 5.0) -> AsyncAnthropic:
    return AsyncAnthropic(
        api_key=api_key or server.token,
        base_url=server.anthropic_base_url,
        max_retries=max_retries,
        timeout=timeout,
        _strict_response_validation=True,
    )


async def poll_ended(client: AsyncAnthropic, batch_id: str, max_polls: int = 20
                     ) -> list[MessageBatch]:
    seen: list[MessageBatch] = []
    for _ in range(max_polls):
        batch = await client.messages.batches.retrieve(batch_id)
        seen.append(batch)
        if batch.processing_status == "ended":
            return seen
    raise AssertionError(f"batch {batch_id} not ended after {max_polls} polls: {seen[-1]}")


async def results(client: AsyncAnthropic, batch_id: str) -> list[MessageBatchIndividualResponse]:
    return [line async for line in await client.messages.batches.results(batch_id)]


async def run_batch(client: AsyncAnthropic, requests: list[dict[str, Any]]
                    ) -> tuple[MessageBatch, list[MessageBatchIndividualResponse]]:
    """Create, poll to the end and read the results."""
    batch = await client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
    ended = (await poll_ended(client, batch.id))[-1]
    return ended, await results(client, batch.id)


class AnthropicRunner:
    """`arun(scenario, config)`: a server on this test's state dir and an Anthropic client."""

    def __init__(self, state_dir: Any) -> None:
        self.state_dir = state_dir

    def __call__(self, scenario: Scenario[T], config: SandboxConfig | None = None,
                 **client_options: Any) -> T:
        async def main() -> T:
            async with SandboxServer(self.state_dir, config) as server:
                async with make_anthropic(server, **client_options) as client:
                    return await scenario(server, client)

        return asyncio.run(main())
