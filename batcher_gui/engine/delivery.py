"""Delivering finished results to a run's target: a results folder or a webhook.

Folder: ``<run>.jsonl`` and ``<run>.csv`` grow as results arrive. Each pass appends the new
results, makes the bytes durable (fsync), and only then marks those results delivered, in the
same transaction that records how long each file now is. A pass cut short by a crash is undone
by cutting the files back to the recorded length before the next append, so every result is
in each file exactly once, and a file never has a half line a reader could trip on for long.
Webhook: one POST per result with an ``Idempotency-Key`` that stays the same across retries of
the same result, so a receiver can drop duplicates (delivery is at-least-once). 2xx = delivered;
other answers, timeouts and refused connections are retried with backoff, then the result's
delivery is marked failed (the result is kept; ``redeliver`` sends it again).
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import orjson

from batcher_gui.config.prices import price_table
from batcher_gui.domain.events import Listener, Notice, NoticeLevel
from batcher_gui.engine.destination import fit_name, name_max
from batcher_gui.engine.export import CSV_HEADER, csv_row, jsonl_line
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage.db import Database
from batcher_gui.storage.delivery import (
    DeliveryStore,
    DeliveryTarget,
    PendingDelivery,
    prompt_payload,
)
from batcher_gui.storage.store import Store

log = logging.getLogger(__name__)
_SAFE = re.compile(r"[^A-Za-z0-9._ ()-]+")
#: Results appended per pass step (and per transaction marking them delivered).
_PAGE = 2000
_KINDS = ("jsonl", "csv")


def folder_files(target: DeliveryTarget, taken: Collection[str] = ()) -> dict[str, str]:
    """The two files a folder target holds for a run (kind -> path).

    Named after the run; a name too long for the file system (older Batchers took names of
    any length) is cut and the run's number added, as when another run has the plain
    names: unique, and the same on every pass."""
    stem = _SAFE.sub("_", target.run_name).strip() or f"run-{target.run_id}"
    folder = Path(target.target).expanduser()
    limit = name_max(folder)
    paths = {k: str(folder / f"{stem}.{k}") for k in _KINDS}
    if (len(f"{stem}.jsonl".encode()) > limit  # the longer of the two names
            or set(taken).intersection(paths.values())):  # never write into another run's
        paths = {k: str(folder / fit_name(stem, f" (run {target.run_id}).{k}", limit))
                 for k in _KINDS}
    return paths


class Deliverer:
    """Moves processed results to their run's target. One pass per engine tick."""

    def __init__(self, db: Database, settings: EngineSettings, listener: Listener | None,
                 workers: DbWorkers) -> None:
        self.ds = DeliveryStore(db)
        self.store = Store(db)
        self.settings = settings
        self.listener = listener
        self.workers = workers
        self._session: Any = None  # an aiohttp.ClientSession once a webhook is used
        #: run id -> why its folder could not be written, as last said (said once per cause)
        self._folder_problems: dict[int, str] = {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run_pass(self) -> bool:
        """Deliver what is due. Returns True while some result still waits for delivery."""
        waiting = False
        for target in await self.workers.read(self.ds.targets):
            await self.workers.write(self.ds.start, target.run_id)
            if target.kind == "folder":
                try:
                    await self.workers.read(self._to_folder, target)
                except OSError as exc:
                    self._folder_failed(target, exc)
                    waiting = True
                else:
                    self._folder_problems.pop(target.run_id, None)
            else:
                await self._to_webhook(target)
                waiting = waiting or await self.workers.read(
                    self.ds.count_delivering, target.run_id) > 0
        return waiting

    # -- folder (runs in a worker thread) ------------------------------------------------------
    def _to_folder(self, target: DeliveryTarget) -> None:
        wanted = folder_files(target)
        taken = self.ds.paths_in_use(list(wanted.values()), target.run_id)
        limit = name_max(Path(target.target).expanduser())
        files = self.ds.folder_files(target.run_id, folder_files(target, taken),
                                     lambda path: len(os.fsencode(Path(path).name)) <= limit)
        if any(_shorter(path, size) for path, size in files.values()):
            # The user removed or edited a file: write all of it again.
            self.workers.write_sync(self.ds.restart_files, target.run_id)
            files = {k: (p, 0) for k, (p, _) in files.items()}
        prices = price_table(self.store.get_setting("prices", {}))
        sizes = {kind: size for kind, (_, size) in files.items()}
        after = 0
        while page := self.ds.delivering_page(target.run_id, after, _PAGE):
            # Written means delivered: the files say so (the marking follows at once).
            rows = [(*r[:3], "delivered", *r[4:]) for r in page]
            jsonl = b"".join(jsonl_line(r, prices) for r in rows)
            text = io.StringIO()
            writer = csv.writer(text)
            if sizes["csv"] == 0:
                writer.writerow(CSV_HEADER)
            writer.writerows(csv_row(r, prices) for r in rows)
            for kind, data in (("jsonl", jsonl), ("csv", text.getvalue().encode("utf-8"))):
                sizes[kind] = _append(Path(files[kind][0]), sizes[kind], data)
            self.workers.write_sync(self.ds.appended, target.run_id, [r[0] for r in rows],
                                    dict(sizes), f"written to {Path(files['jsonl'][0]).parent}")
            after = rows[-1][0]

    def _folder_failed(self, target: DeliveryTarget, exc: OSError) -> None:
        """Say why a run's folder cannot be written: once per cause, not on every pass (the
        next passes try again), in a line of readable length whatever the names."""
        reason = exc.strerror or type(exc).__name__
        where = f" ({_short(os.path.basename(exc.filename))})" if isinstance(
            exc.filename, str) and os.path.basename(exc.filename) else ""
        if self._folder_problems.get(target.run_id) == reason:
            log.debug("run #%s: folder still not writable: %s", target.run_id, reason)
            return
        self._folder_problems[target.run_id] = reason
        self._notice(f"cannot write the results of run #{target.run_id} "
                     f"{_short(target.run_name)!r} to {_short(target.target)}: {reason}{where}; "
                     "Batcher keeps trying (said again only if the problem changes)")

    # -- webhook -----------------------------------------------------------------------------
    async def _to_webhook(self, target: DeliveryTarget) -> None:
        import aiohttp  # a fifth of a second to import: only when a webhook is used

        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout))
        items = await self.workers.read(self.ds.due, target.run_id)
        if not items:
            return
        gate = asyncio.Semaphore(8)
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
            await self.workers.write(self.ds.attempt_failed, item.prompt_id, problem, None)
            self._notice(f"run {target.run_name!r}: result {item.user_custom_id!r} could not be "
                         f"delivered ({problem}); `batcher redeliver #{target.run_id} --failed` "
                         "sends it again")
        else:
            await self.workers.write(self.ds.attempt_failed, item.prompt_id, problem,
                                     self.settings.delivery_retry_base * 2 ** (attempt - 1))
        return False

    def _notice(self, message: str) -> None:
        log.info(message)
        if self.listener is not None:
            self.listener(Notice(NoticeLevel.ERROR, message))


def _short(text: str, limit: int = 60) -> str:
    """``text`` for a message: its start and end when it is long."""
    return text if len(text) <= limit else f"{text[:limit - 20]}…{text[-19:]}"


def _shorter(path: str, committed: int) -> bool:
    """The file holds less than was recorded as delivered into it (removed or edited)."""
    try:
        return os.path.getsize(path) < committed
    except FileNotFoundError:
        return committed > 0


def _append(path: Path, committed: int, data: bytes) -> int:
    """Cut the file back to ``committed`` bytes (a crashed pass's tail), append ``data``, and
    make it durable. Returns the new length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask decides, as for any file
    try:
        os.ftruncate(fd, committed)
        os.lseek(fd, committed, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    return committed + len(data)
