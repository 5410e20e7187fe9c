"""Fixtures for the engine tests: a real sandbox server, a real workspace, a real engine.

The sandbox runs on its own thread and event loop (like a separate server process), so the
engine under test can be driven with plain ``asyncio.run`` calls, thrown away and rebuilt, and
the server restarted on the same state folder and port, without the two sharing a loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from batcher_gui.domain.models import ImportOptions, ProfileKind, ProfileLimits, Run
from batcher_gui.domain.remote import Provider
from batcher_gui.engine.engine import Engine
from batcher_gui.engine.run_import import import_file
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.providers import make_provider
from batcher_gui.sandbox.host import SandboxThread
from batcher_gui.storage import Store, open_store

#: Every delay shortened: tests run in seconds, not hours.
FAST = EngineSettings(
    poll_interval=0.0, quiet_seconds=0, retry_base=0.01, retry_cap=0.1,
    token_limit_backoff=(0.05, 0.1, 0.2, 0.4, 0.8), lease_ttl=5, tick=0.01,
    profile_retry=0.05, sandbox_poll_interval=0.0,
)
PROFILE = "sb"
CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
EMBEDDINGS = "/v1/embeddings"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxThread]:
    server = SandboxThread(tmp_path / "sandbox-state")
    server.start()
    yield server
    server.stop()


class Workspace:
    """A workspace on disk with one sandbox profile, plus engine and import helpers."""

    def __init__(self, root: Path, sandbox: SandboxThread, url: str | None = None) -> None:
        self.root = root
        self.sandbox = sandbox
        #: The PostgreSQL workspace's URL; None: a SQLite file.
        self.url = url
        self.store: Store = open_store(root / "batcher.sqlite3", url)
        self.batches_dir = root / "batches"
        self.results_dir = root / "results"
        self.store.add_profile(PROFILE, ProfileKind.OPENAI_COMPATIBLE, base_url=sandbox.base_url)
        self._files = 0
        self.max_retries = 2
        self.timeout = 3.0

    # -- engines --------------------------------------------------------------------------
    def provider_for(self, profile: Any) -> Provider:
        # The URL is read at call time: a restarted sandbox keeps its port anyway.
        return make_provider(profile, self.sandbox.token, base_url=self.sandbox.base_url,
                             max_retries=self.max_retries, timeout=self.timeout)

    def engine(self, settings: EngineSettings = FAST, **kwargs: Any) -> Engine:
        return Engine(self.store, self.provider_for, self.batches_dir, self.results_dir,
                      settings, **kwargs)

    def run(self, engine: Engine | None = None, timeout: float = 30) -> bool:
        """Drive until idle in a fresh event loop; the engine's connections are closed after."""
        engine = engine or self.engine()

        async def go() -> bool:
            try:
                return await engine.run(until_idle=True, timeout=timeout)
            finally:
                await engine.close()

        return asyncio.run(go())

    def tick_until(self, engine: Engine, done: Callable[[], bool], max_ticks: int = 200,
                   ) -> int:
        """Run single passes (no lease, no sleeping) until ``done()``; returns the count."""

        async def go() -> int:
            try:
                for n in range(1, max_ticks + 1):
                    await engine.tick()
                    if done():
                        return n
                raise AssertionError(f"condition not reached after {max_ticks} ticks")
            finally:
                await engine.close()

        return asyncio.run(go())

    # -- data -----------------------------------------------------------------------------
    def import_lines(self, lines: list[dict[str, Any]], profile: str = PROFILE) -> Run:
        self._files += 1
        path = self.root / f"input-{self._files}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
        return import_file(self.store, path, ImportOptions(), profile_name=profile).run

    def add_profile(self, name: str, max_requests: int) -> None:
        self.store.add_profile(name, ProfileKind.OPENAI_COMPATIBLE,
                               base_url=self.sandbox.base_url,
                               limits=ProfileLimits(max_requests=max_requests))

    def prompts(self) -> list[dict[str, Any]]:
        with self.store.db.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, run_id, batch_id, user_custom_id, state, attempts, response, error, "
                "input_tokens, output_tokens FROM prompts ORDER BY id").mappings().all()
        return [dict(r) for r in rows]

    def prompt_states(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for run in self.store.status().runs:
            for state, n in run.prompts_by_state.items():
                total[state] = total.get(state, 0) + n
        return total

    def batch_states(self) -> dict[str, int]:
        return self.store.status().batches_by_state

    def scalar(self, sql: str, *params: Any) -> Any:
        with self.store.db.read() as conn:
            return conn.exec_driver_sql(sql, params).scalar()

    def close(self) -> None:
        self.store.db.close()


@pytest.fixture
def ws(tmp_path: Path, sandbox: SandboxThread, backend: str | None) -> Iterator[Workspace]:
    """A workspace on SQLite, then on PostgreSQL (``backend``)."""
    root = tmp_path / "ws"
    root.mkdir()
    workspace = Workspace(root, sandbox, backend)
    yield workspace
    workspace.close()


# -- request lines --------------------------------------------------------------------------
def chat(i: int, text: str = "", model: str = "gpt-4o-mini") -> dict[str, Any]:
    return {"custom_id": f"c{i}", "method": "POST", "url": CHAT,
            "body": {"model": model,
                     "messages": [{"role": "user", "content": f"question {i} {text}".strip()}]}}


def responses(i: int) -> dict[str, Any]:
    return {"custom_id": f"r{i}", "method": "POST", "url": RESPONSES,
            "body": {"model": "gpt-4.1-mini", "input": f"tell me about {i}"}}


def embeddings(i: int) -> dict[str, Any]:
    return {"custom_id": f"e{i}", "method": "POST", "url": EMBEDDINGS,
            "body": {"model": "text-embedding-3-small", "input": f"embed {i}"}}


def assert_all_settled(ws: Workspace, *, live_files: int = 0) -> None:
    """Nothing in flight, no cleanup left, no prompt applied twice, no leaked provider file."""
    in_flight = ws.scalar(
        "SELECT count(*) FROM batches WHERE state NOT IN "
        "('completed', 'failed', 'expired', 'cancelled')")
    assert in_flight == 0
    assert ws.scalar("SELECT count(*) FROM batches WHERE intent IS NOT NULL") == 0
    processed = ws.scalar("SELECT count(*) FROM prompts WHERE state = 'processed'")
    assert ws.scalar(
        "SELECT count(*) FROM prompt_transitions WHERE to_state = 'processed'") == processed
    assert ws.scalar("SELECT count(*) FROM prompts WHERE state = 'processed' AND "
                     "response IS NULL") == 0
    assert ws.sandbox.stats()["live_files"] == live_files
    assert list(ws.batches_dir.glob("*.jsonl")) == []
