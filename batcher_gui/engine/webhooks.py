"""Delivering results to webhooks: one POST per result, each endpoint on its own.

Each endpoint (a webhook URL) is served by a task of its own that outlives the delivery pass
starting it: an endpoint that never answers holds back only its own results, never another
endpoint's, nor the next passes. Within one endpoint the runs go in turn and results start in
the order they were made, at most :data:`IN_FLIGHT_PER_ENDPOINT` at a time; at most
:data:`ENDPOINTS_AT_ONCE` endpoints are served at once.

Each POST carries ``Idempotency-Key: batcher-<workspace id>-<prompt id>-<attempt>``: unique to
this workspace, the same on every retry and redelivery of one result (``attempt`` counts the
sends to the provider, so only a new result gets a new key). A redirect is never followed:
it would turn the POST into a GET without the result (302) or post the result to another
origin (307, 308); it fails the attempt, saying where it pointed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson

from batcher_gui.domain.wording import shortened
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage.delivery import (
    DeliveryStore,
    DeliveryTarget,
    PendingDelivery,
    prompt_payload,
)
from batcher_gui.storage.identity import workspace_id

log = logging.getLogger(__name__)
IN_FLIGHT_PER_ENDPOINT = 8
ENDPOINTS_AT_ONCE = 16


class Webhooks:
    """The webhook side of a :class:`~batcher_gui.engine.delivery.Deliverer`."""

    def __init__(self, ds: DeliveryStore, settings: EngineSettings, workers: DbWorkers,
                 notice: Callable[[str], None]) -> None:
        self.ds = ds
        self.settings = settings
        self.workers = workers
        self._notice = notice
        self._session: Any = None  # an aiohttp.ClientSession once a webhook is used
        self._workspace: str | None = None
        self._endpoints: dict[str, asyncio.Task[None]] = {}
        self._at_once = asyncio.Semaphore(ENDPOINTS_AT_ONCE)

    def busy(self) -> bool:
        """Some endpoint is still being delivered to."""
        return any(not task.done() for task in self._endpoints.values())

    async def start(self, targets: list[DeliveryTarget]) -> None:
        """Serve each endpoint of these (webhook) targets that is not being served already.
        A served endpoint that failed by a bug raises here (the engine says so)."""
        for url, task in list(self._endpoints.items()):
            if task.done():
                del self._endpoints[url]
                task.result()
        if not targets:
            return
        if self._session is None:
            import aiohttp  # a fifth of a second to import: only when a webhook is used

            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout))
        if self._workspace is None:
            self._workspace = await self.workers.read(workspace_id, self.ds.db)
        by_endpoint: dict[str, list[DeliveryTarget]] = {}
        for target in targets:
            by_endpoint.setdefault(target.target, []).append(target)
        for url, runs in by_endpoint.items():
            if url not in self._endpoints:
                self._endpoints[url] = asyncio.get_running_loop().create_task(
                    self._serve(runs), name=f"webhook {url}")

    async def close(self, grace: float) -> None:
        """Let deliveries under way end (for ``grace`` seconds), then stop them: a result
        whose POST was cut off stays to be delivered (with the same key) next time."""
        running = [t for t in self._endpoints.values() if not t.done()]
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for url, task in self._endpoints.items():
            if not task.cancelled() and task.exception() is not None:  # a bug: not lost
                log.error("delivering to webhook %s failed", url, exc_info=task.exception())
        self._endpoints.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _serve(self, runs: list[DeliveryTarget]) -> None:
        async with self._at_once:
            for target in runs:
                await self._deliver_run(target)

    async def _deliver_run(self, target: DeliveryTarget) -> None:
        items = await self.workers.read(self.ds.due, target.run_id)
        if not items:
            return
        gate = asyncio.Semaphore(IN_FLIGHT_PER_ENDPOINT)
        delivered: list[int] = []

        async def one(item: PendingDelivery) -> None:
            async with gate:
                if await self._post(target, item):
                    delivered.append(item.prompt_id)

        await asyncio.gather(*(one(item) for item in items))
        await self.workers.write(self.ds.delivered, delivered,
                                 f"webhook {target.target} accepted it")

    async def _post(self, target: DeliveryTarget, item: PendingDelivery) -> bool:
        import aiohttp

        assert self._session is not None
        body = prompt_payload(item, target.run_name)
        body["response"] = orjson.Fragment(item.response) if item.response else None
        body["error"] = item.error
        headers = {"Content-Type": "application/json", "User-Agent": "Batcher",
                   "Idempotency-Key": idempotency_key(self._workspace or "", item)}
        try:
            async with self._session.post(target.target, data=orjson.dumps(body),
                                          headers=headers, allow_redirects=False) as response:
                if 200 <= response.status < 300:
                    return True
                problem = f"HTTP {response.status}"
                if 300 <= response.status < 400:
                    where = response.headers.get("Location", "nowhere")
                    problem += (f" redirect to {shortened(where)}, not followed (set the "
                                "webhook to the address it should post to)")
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempt = item.delivery_attempts + 1
        if attempt >= self.settings.delivery_attempts:
            await self.workers.write(self.ds.attempt_failed, item.prompt_id, problem, None)
            self._notice(f"run #{target.run_id} {shortened(target.run_name)!r}: result "
                         f"{shortened(item.user_custom_id)!r} could not be delivered "
                         f"({problem}); `batcher redeliver #{target.run_id} --failed` sends it "
                         "again")
        else:
            await self.workers.write(self.ds.attempt_failed, item.prompt_id, problem,
                                     self.settings.delivery_retry_base * 2 ** (attempt - 1))
        return False


def idempotency_key(workspace: str, item: PendingDelivery) -> str:
    """The key a receiver drops duplicates by: one per result of one workspace."""
    return f"batcher-{workspace}-{item.prompt_id}-{item.attempts}"
