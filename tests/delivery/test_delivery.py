"""Delivery to a results folder and to a webhook, end to end through the sandbox provider."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from batcher_gui.domain.models import ImportOptions, ProfileKind
from batcher_gui.engine.delivery import Deliverer
from batcher_gui.engine.engine import Engine
from batcher_gui.engine.run_import import import_file
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.providers import make_provider
from batcher_gui.sandbox import SandboxConfig, SandboxServer
from batcher_gui.storage import Store
from batcher_gui.storage.delivery import DeliveryStore

SETTINGS = EngineSettings(poll_interval=0, quiet_seconds=0, retry_base=0.01, retry_cap=0.05,
                          tick=0.01, delivery_attempts=3, delivery_retry_base=0.01,
                          webhook_timeout=2)


def prompts_file(tmp_path: Path, n: int = 4) -> Path:
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(
        {"custom_id": f"u{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "m", "messages": [{"role": "user", "content": f"q{i}"}]}})
        for i in range(n)) + "\n")
    return path


async def run_engine(store: Store, tmp_path: Path, before: Callable[[int], None]) -> None:
    server = SandboxServer(tmp_path / "provider", SandboxConfig(instant=True))
    await server.start()
    try:
        profile = store.add_profile("sb", ProfileKind.OPENAI_COMPATIBLE, base_url=server.base_url)
        summary = import_file(store, prompts_file(tmp_path), ImportOptions(),
                              profile_name=profile.name)
        before(summary.run.id)
        engine = Engine(store, lambda p: make_provider(p, server.token, base_url=server.base_url),
                        tmp_path / "batches", tmp_path / "results", SETTINGS)
        try:
            assert await engine.run(until_idle=True, timeout=60)
        finally:
            await engine.close()
    finally:
        await server.stop()


def states(store: Store) -> dict[str, int]:
    return store.status().runs[0].prompts_by_state


def test_folder_delivery_writes_jsonl_and_csv(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ds = DeliveryStore(store.db)
    asyncio.run(run_engine(store, tmp_path, lambda run_id: ds.set_target(run_id, "folder",
                                                                         str(out))))
    assert states(store) == {"delivered": 4}
    lines = [json.loads(x) for x in (out / "p.jsonl").read_text().splitlines()]
    assert sorted(x["custom_id"] for x in lines) == ["u0", "u1", "u2", "u3"]
    assert all(x["state"] == "delivered" and x["response"]["choices"] for x in lines)
    assert (out / "p.csv").read_text().count("\n") == 5


class Receiver:
    """A local webhook that fails the first ``failures`` POSTs of each result."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key", "")
        body = await request.json()
        self.seen.append((key, body))
        tries = sum(1 for k, _ in self.seen if k == key)
        return web.Response(status=500 if tries <= self.failures else 200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def with_receiver(receiver: Receiver, body: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await receiver.start()
        try:
            await body()
        finally:
            await receiver.stop()

    asyncio.run(main())


def test_webhook_retries_then_delivers_with_a_stable_idempotency_key(
    store: Store, tmp_path: Path
) -> None:
    receiver = Receiver(failures=2)
    ds = DeliveryStore(store.db)
    with_receiver(receiver, lambda: run_engine(
        store, tmp_path, lambda run_id: ds.set_target(run_id, "webhook", receiver.url)))
    assert states(store) == {"delivered": 4}
    keys = [k for k, _ in receiver.seen]
    assert len(keys) == 12 and len(set(keys)) == 4  # 3 tries per result, one key per result
    assert all(k.startswith("batcher-") for k in keys)
    ok = receiver.seen[-1][1]
    assert ok["run"] == "p" and ok["custom_id"].startswith("u")
    assert ok["response"]["object"] == "chat.completion" and ok["error"] is None


def test_webhook_gives_up_then_redeliver_sends_again(store: Store, tmp_path: Path) -> None:
    receiver = Receiver(failures=99)
    ds = DeliveryStore(store.db)
    with_receiver(receiver, lambda: run_engine(
        store, tmp_path, lambda run_id: ds.set_target(run_id, "webhook", receiver.url)))
    assert states(store) == {"failed": 4}
    with store.db.read() as conn:
        errors = set(conn.exec_driver_sql("SELECT error, delivery_error FROM prompts").all())
    assert errors == {(None, "HTTP 500")}  # the result is fine; only its delivery failed

    run_id = store.status().runs[0].run.id
    assert ds.redeliver(run_id, failed_only=True) == 4
    receiver.failures = 0
    receiver.seen.clear()

    async def deliver_again() -> None:
        ds.set_target(run_id, "webhook", receiver.url)  # the receiver came back on a new port
        workers = DbWorkers()
        deliverer = Deliverer(store.db, SETTINGS, None, workers)
        try:
            while await deliverer.run_pass():
                await asyncio.sleep(0.01)
        finally:
            await deliverer.close()
            workers.close()

    with_receiver(receiver, deliver_again)
    assert states(store) == {"delivered": 4}
    assert len(receiver.seen) == 4
