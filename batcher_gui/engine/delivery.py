"""Delivering finished results to a run's target: a results folder or a webhook.

Folder: the run's results are written as ``<run>.jsonl`` and ``<run>.csv`` (whole files, replaced
atomically) whenever prompts have finished since the files were last written.
Webhook: one POST per result with an ``Idempotency-Key`` that stays the same across retries of the
same result, so a receiver can drop duplicates (delivery is at-least-once). 2xx = delivered; other
answers, timeouts and refused connections are retried with backoff, then the prompt is failed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import aiohttp
import orjson

from batcher_gui.engine.events import EngineNotice, Listener
from batcher_gui.engine.export import ExportFormat, export_run
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.storage.delivery import (
    DeliveryStore,
    DeliveryTarget,
    PendingDelivery,
    prompt_payload,
)
from batcher_gui.storage.store import Store

log = logging.getLogger(__name__)
_SAFE = re.compile(r"[^A-Za-z0-9._ ()-]+")


def folder_files(target: DeliveryTarget) -> tuple[Path, Path]:
    """The two files a folder target holds for a run."""
    stem = _SAFE.sub("_", target.run_name).strip() or f"run-{target.run_id}"
    folder = Path(target.target).expanduser()
    return folder / f"{stem}.jsonl", folder / f"{stem}.csv"


class Deliverer:
    """Moves processed results to their run's target. One pass per engine tick."""

    def __init__(self, store: Store, settings: EngineSettings,
                 listener: Listener | None = None) -> None:
        self.store = store
        self.ds = DeliveryStore(store)
        self.settings = settings
        self.listener = listener
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run_pass(self) -> bool:
        """Deliver what is due. Returns True while some result still waits for delivery."""
        waiting = False
        for target in self.ds.targets():
            self.ds.start(target.run_id)
            if target.kind == "folder":
                await asyncio.to_thread(self._to_folder, target)
            else:
                await self._to_webhook(target)
                waiting = waiting or self.ds.count_delivering(target.run_id) > 0
        return waiting

    # -- folder ------------------------------------------------------------------------------
    def _to_folder(self, target: DeliveryTarget) -> None:
        jsonl, csv_path = folder_files(target)
        self.ds.all_delivering_delivered(target.run_id, f"written to {jsonl.parent}")
        with self.store.db.read() as conn:
            newest = conn.exec_driver_sql(
                "SELECT max(updated_at) FROM prompts WHERE run_id = ?",
                (target.run_id,)).scalar()
        # Self-healing: rewrite when a prompt changed after the files were written (also after a
        # crash between marking prompts delivered and writing the files).
        stale = [p for p in (jsonl, csv_path)
                 if not p.exists() or (newest is not None and p.stat().st_mtime < newest)]
        if not stale:
            return
        try:
            for path in stale:
                fmt = ExportFormat.CSV if path.suffix == ".csv" else ExportFormat.JSONL
                export_run(self.store, str(target.run_id), path, fmt)
        except OSError as exc:
            self._notice("error", f"cannot write results of run {target.run_name!r} to "
                                  f"{jsonl.parent}: {exc}")

    # -- webhook -----------------------------------------------------------------------------
    async def _to_webhook(self, target: DeliveryTarget) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout))
        items = self.ds.due(target.run_id)
        if not items:
            return
        gate = asyncio.Semaphore(8)
        delivered: list[int] = []

        async def one(item: PendingDelivery) -> None:
            async with gate:
                if await self._post(target, item):
                    delivered.append(item.prompt_id)

        await asyncio.gather(*(one(item) for item in items))
        self.ds.delivered(delivered, f"webhook {target.target} accepted it")

    async def _post(self, target: DeliveryTarget, item: PendingDelivery) -> bool:
        assert self._session is not None
        body = prompt_payload(item, target.run_name)
        body["response"] = orjson.Fragment(item.response) if item.response else None
        body["error"] = item.error
        headers = {"Content-Type": "application/json", "User-Agent": "Batcher",
                   "Idempotency-Key": f"batcher-{item.prompt_id}-{item.attempts}"}
        try:
            async with self._session.post(target.target, data=orjson.dumps(body),
                                          headers=headers) as response:
                if 200 <= response.status < 300:
                    return True
                problem = f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempt = item.delivery_attempts + 1
        if attempt >= self.settings.delivery_attempts:
            self.ds.attempt_failed(item.prompt_id, problem, None)
            self._notice("error", f"run {target.run_name!r}: result {item.user_custom_id!r} "
                                  f"could not be delivered ({problem}); `batcher redeliver` "
                                  "sends it again")
        else:
            self.ds.attempt_failed(item.prompt_id, problem,
                                   self.settings.delivery_retry_base * 2 ** (attempt - 1))
        return False

    def _notice(self, level: str, message: str) -> None:
        log.info(message)
        if self.listener is not None:
            self.listener(EngineNotice(level, message))
