"""A real service on a real workspace: SQLite file, the built-in sandbox, the real engine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest

from batcher_gui.app import Service
from batcher_gui.config.secrets import SecretStore
from batcher_gui.paths import WorkspacePaths
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.sandbox.host import SandboxThread
from tests.fakes import MemoryKeyring

T = TypeVar("T")

#: Every delay shortened: tests run in seconds, not hours.
FAST = {"poll_interval": 0.1, "sandbox_poll_interval": 0.0, "quiet_seconds": 0,
        "retry_base": 0.01, "retry_cap": 0.1, "profile_retry": 0.05, "tick": 0.02,
        "lease_ttl": 5}


def write_chat(path: Path, n: int, model: str | Callable[[int], str] = "gpt-4o-mini",
               start: int = 0, *, prefix: str = "c",
               text: Callable[[int], str] = lambda i: f"q {i}") -> Path:
    """``n`` chat prompts, custom_ids ``{prefix}{start}``…; ``model`` and ``text`` may vary
    with the line's number."""
    with path.open("wb") as fh:
        for i in range(start, start + n):
            fh.write(orjson.dumps({
                "custom_id": f"{prefix}{i}", "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": model(i) if callable(model) else model,
                         "messages": [{"role": "user", "content": text(i)}]},
            }) + b"\n")
    return path


OpenService = Callable[..., Coroutine[Any, Any, Service]]


@pytest.fixture
def keyring_memory() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def open_service(tmp_path: Path, keyring_memory: MemoryKeyring, backend: str | None,
                 ) -> Iterator[OpenService]:
    """``await open_service(**overrides)``: a service on ``tmp_path/ws`` (closed by the test),
    its database a SQLite file, then PostgreSQL (``backend``: local files stay in the folder).
    """

    async def opener(**kwargs: Any) -> Service:
        root = tmp_path / "ws"
        options: dict[str, Any] = {
            "secrets": SecretStore(backend=keyring_memory),
            "engine_overrides": FAST,
            "sandbox_config": SandboxConfig(instant=True),
            "sandbox_host": SandboxThread,
        }
        options.update(kwargs)
        paths = WorkspacePaths(root, root / "batcher.sqlite3", database_url=backend)
        return await Service.open(paths, **options)

    yield opener


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def database_args(service: Service) -> tuple[str, ...]:
    """The CLI options that point another process at ``service``'s database when it is
    PostgreSQL (``--data-dir`` names the folder; on SQLite it holds the database too)."""
    url = service.paths.database_url
    return ("--database", url) if url else ()
