"""Builds and keeps up to date the workspace's optional search index, in the background.

One connection of its own, used from one worker thread at a time: each step is a short write
transaction (see storage/search.py), so the engine's writes wait at most a step. Between
steps the event loop runs; with nothing to index it looks again every few seconds (answers
arriving are queued by a trigger, a new run shows up as a run not indexed yet).

The index is SQLite's (FTS5): on a PostgreSQL workspace there is none to build (searches scan
there); the indexer then only says so ("not available on a PostgreSQL workspace") and does no
work.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from batcher_gui.domain.search import SearchStatus
from batcher_gui.storage import search
from batcher_gui.storage.readconn import Where, is_postgres

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Seconds between looks when there is nothing to index.
IDLE = 2.0
#: Seconds between status reports while building (each measures the index's size).
REPORT_EVERY = 1.0


class SearchIndexer:
    """See the module docstring. ``on_status`` is called on the event loop."""

    def __init__(self, database: Where,
                 on_status: Callable[[SearchStatus], None] | None = None) -> None:
        self._database = database
        self.available = not is_postgres(database)
        self._on_status = on_status
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.last_status: SearchStatus | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(str(self._database), isolation_level=None,
                                         check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout = 10000")
        return self._conn

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        async with self._lock:
            return await asyncio.to_thread(lambda: fn(self._connection()))

    # -- what the window asks ----------------------------------------------------------------
    async def status(self) -> SearchStatus:
        found = (await self._call(search.status) if self.available else
                 SearchStatus(False, 0, 0, 0, available=False))
        self.last_status = found
        return found

    async def set_enabled(self, on: bool) -> SearchStatus:
        """Turn the index on (built from now on) or off (dropped at once)."""
        if not self.available:
            return await self._report()
        await self._call(search.turn_on if on else search.turn_off)
        self._wake.set()
        return await self._report()

    async def build_now(self) -> None:
        """Index everything there is to index now (for the CLI and tests)."""
        while self.available and await self._call(lambda c: search.step(c)):
            pass
        await self._report()

    # -- the background loop -----------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="search-index")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        async with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def _report(self) -> SearchStatus:
        found = await self.status()
        if self._on_status is not None and not self._stopping:
            self._on_status(found)
        return found

    async def _run(self) -> None:
        await self._report()
        if not self.available:
            return
        reported = time.monotonic()
        dirty = False  # indexed since the last report
        while not self._stopping:
            try:
                worked = await self._call(lambda c: search.step(c))
            except sqlite3.Error as exc:  # busy for 10 s, disk full...: try again later
                log.info("search index: %s; trying again shortly", exc)
                worked = False
            dirty = dirty or worked
            if self._stopping:
                break
            if dirty and (not worked or time.monotonic() - reported >= REPORT_EVERY):
                await self._report()
                reported, dirty = time.monotonic(), False
            if worked:
                await asyncio.sleep(0)  # let the loop breathe between steps
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), IDLE)
            except TimeoutError:
                pass
