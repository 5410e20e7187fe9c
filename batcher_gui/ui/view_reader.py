"""The views' reader: one thread with its own read-only connection, for every view query.

Queries run there, never on the GUI thread; results come back to the GUI thread as awaited
values. A newer query of the same kind makes the running one stop (SQLite interrupt) and the
stale answer is dropped, so typing in the search box never queues up slow scans.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from batcher_gui.storage.views import ViewQueries

log = logging.getLogger(__name__)
T = TypeVar("T")


class Superseded(Exception):
    """A newer query of the same kind was asked for; this one's answer is not wanted."""


class ViewReader:
    """Runs :class:`ViewQueries` calls on two threads: one for the prompts table (whose
    queries can take a few hundred ms on a million rows and are interrupted when superseded),
    one for everything else (runs, batches, details), so neither waits for the other."""

    def __init__(self, database: Path) -> None:
        self._bulk = ThreadPoolExecutor(1, thread_name_prefix="batcher-view-bulk")
        self._quick = ThreadPoolExecutor(1, thread_name_prefix="batcher-view")
        self.bulk = self._bulk.submit(ViewQueries, database).result()
        self.quick = self._quick.submit(ViewQueries, database).result()
        self._generation: dict[str, int] = {}
        self._running: str | None = None  # the kind of latest() query on the bulk thread now
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """A quick query (runs, batches, a prompt's detail)."""
        self._check_open()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._quick, functools.partial(fn, self.quick, *args))

    async def latest(self, kind: str, fn: Callable[..., T], *args: Any) -> T:
        """A prompts-table query; raises Superseded if another of ``kind`` came meanwhile.

        Only one query runs at a time on that thread: asking for a new one interrupts the one
        running (the user has moved on), and anything queued behind it of the same kind is
        answered with Superseded without being run.
        """
        self._check_open()
        generation = self._generation.get(kind, 0) + 1
        self._generation[kind] = generation
        if self._running == kind:  # only a query of the same kind is worth stopping
            self.bulk.interrupt()

        def call() -> T:
            if self._generation.get(kind) != generation:
                raise Superseded(kind)
            self._running = kind
            try:
                return fn(self.bulk, *args)
            except sqlite3.OperationalError as exc:
                if "interrupted" in str(exc):
                    raise Superseded(kind) from None
                raise
            finally:
                self._running = None

        result = await asyncio.get_running_loop().run_in_executor(self._bulk, call)
        if self._generation.get(kind) != generation:
            raise Superseded(kind)
        return result

    async def page(self, fn: Callable[..., T], *args: Any) -> T:
        """A page of rows for the prompts table (never interrupts anything)."""
        self._check_open()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._bulk, functools.partial(fn, self.bulk, *args))

    def _check_open(self) -> None:
        if self._closed:  # the workspace was closed: whoever asked no longer needs it
            raise Superseded("closed")

    def close(self) -> None:
        self._closed = True
        self.bulk.interrupt()
        for pool, queries in ((self._bulk, self.bulk), (self._quick, self.quick)):
            pool.submit(queries.close)
            pool.shutdown(wait=True)
