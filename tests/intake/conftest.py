"""A real service (SQLite or PostgreSQL, the built-in sandbox) with the intake API listening on
a free loopback port, and an aiohttp client holding a fresh bearer token."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from batcher_gui.app import Service
from batcher_gui.app.intake import Intake
from batcher_gui.config.secrets import SecretStore
from batcher_gui.paths import WorkspacePaths
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.sandbox.host import SandboxThread
from batcher_gui.server.intake import IntakeHandle, start_intake
from tests.app.conftest import FAST
from tests.fakes import MemoryKeyring


@dataclass
class Serving:
    service: Service
    intake: Intake
    handle: IntakeHandle
    client: aiohttp.ClientSession
    token: str

    async def post(self, obj: Any, **kwargs: Any) -> tuple[int, Any]:
        async with self.client.post("/api/requests", data=orjson.dumps(obj), **kwargs) as r:
            return r.status, await r.json()

    async def bulk(self, data: bytes, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Content-Type": "application/x-ndjson", **kwargs.pop("headers", {})}
        async with self.client.post("/api/requests/bulk", data=io.BytesIO(data),
                                    headers=headers,
                                    **kwargs) as r:
            return r.status, await r.json()

    async def get(self, custom_id: str) -> tuple[int, Any]:
        async with self.client.get(f"/api/requests/{custom_id}") as r:
            return r.status, await r.json()


def line(custom_id: str, model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    """A valid chat request in the predecessor's shape."""
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": f"q {custom_id}"}]},
            **extra}


def jsonl(objs: Any) -> bytes:
    return b"".join(orjson.dumps(o) + b"\n" for o in objs)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "ws"


def paths_for(root: Path, backend: str | None) -> WorkspacePaths:
    return WorkspacePaths(root, root / "batcher.sqlite3", database_url=backend)


@asynccontextmanager
async def serving(root: Path, backend: str | None, *, engine: bool = False,
                  engine_overrides: dict[str, Any] | None = None,
                  **opts: Any) -> AsyncIterator[Serving]:
    """The service, the intake API (``opts``: its limits) and a client for the sandbox
    profile; the engine runs if ``engine``."""
    service = await Service.open(
        paths_for(root, backend), secrets=SecretStore(backend=MemoryKeyring()),
        engine_overrides={**FAST, **(engine_overrides or {})},
        sandbox_config=SandboxConfig(instant=True), sandbox_host=SandboxThread)
    try:
        intake = Intake(service)
        _, token = await intake.create_token("tests")
        handle = await start_intake(service, "127.0.0.1", 0, **opts)
        if engine:
            await service.start_engine()
        try:
            headers = {"Authorization": f"Bearer {token}", "X-Batcher-Profile": "sandbox"}
            async with aiohttp.ClientSession(base_url=handle.url, headers=headers) as client:
                yield Serving(service, intake, handle, client, token)
        finally:
            await handle.stop()
    finally:
        await service.close()
