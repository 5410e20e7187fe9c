"""Shared steps of the delivery tests: a run imported, its prompts answered, delivery passes
made as the engine makes them, and a loopback web server to deliver to."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from aiohttp import web

from batcher_gui.domain.events import Event, Notice
from batcher_gui.domain.models import ImportOptions
from batcher_gui.engine.delivery import Deliverer
from batcher_gui.engine.run_import import import_file
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage import Store


def import_prompts(store: Store, path: Path, ids: list[str]) -> int:
    """A run of chat prompts with these custom_ids; returns its id."""
    path.write_bytes(b"".join(orjson.dumps({
        "custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "q"}]}})
        + b"\n" for cid in ids))
    return import_file(store, path, ImportOptions()).run.id


def finish(store: Store, run_id: int, text: str = "fine", limit: int = -1) -> None:
    """The provider answered the run's pending prompts (the first ``limit`` of them, or all),
    as applying a batch's results does."""
    body = orjson.dumps({"object": "chat.completion", "choices": [
        {"message": {"role": "assistant", "content": text}}]})
    with store.db.write() as conn:
        conn.exec_driver_sql("UPDATE prompts SET state = 'processed', response = ?, "
                             "input_tokens = 3, output_tokens = 1, updated_at = ? WHERE id IN "
                             "(SELECT id FROM prompts WHERE run_id = ? AND state = 'pending' "
                             "ORDER BY id LIMIT ?)",
                             (body, time.time(), run_id, limit if limit >= 0 else 2**62))


def passes(store: Store, n: int = 1, before: Callable[[int], object] = lambda _: None,
           settings: EngineSettings | None = None) -> list[Notice]:
    """``n`` delivery passes of one deliverer (as the engine makes them), ``before(i)`` called
    before pass ``i``; the notices said."""
    said: list[Notice] = []

    def listen(event: Event) -> None:
        if isinstance(event, Notice):
            said.append(event)

    async def go() -> None:
        workers = DbWorkers()
        deliverer = Deliverer(store.db, settings or EngineSettings(), listen, workers)
        try:
            for i in range(n):
                before(i)
                await deliverer.run_pass()
        finally:
            await deliverer.close()
            workers.close()

    asyncio.run(go())
    return said


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Loopback:
    """A web server on 127.0.0.1 answering every request with ``handler``; ``seen`` lists
    (method, path, Idempotency-Key, body) of each request."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler
        self.seen: list[tuple[str, str, str, bytes]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.path,
                          request.headers.get("Idempotency-Key", ""), await request.read()))
        if self.handler is None:
            return web.Response(status=200)
        return await self.handler(request)

    async def start(self) -> Loopback:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def keys(self) -> list[str]:
        return [key for _, _, key, _ in self.seen]
