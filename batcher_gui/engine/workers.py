"""Where database work runs: one writer thread and a few reader threads, never the event loop.

The window and the engine share one event loop; anything that can take more than a few
milliseconds (a bulk move of 50,000 prompts, applying results, reading a page of a big table)
runs here instead, and the loop only awaits the result. All writes of a process go through
the single writer thread, so they queue in order instead of contending for SQLite's lock; reads
run alongside them (WAL). ``DatabaseBusy`` (another *process* held the lock past the busy
timeout) is transient: the call is repeated with backoff, never fatal.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from batcher_gui.domain.errors import DatabaseBusy

log = logging.getLogger(__name__)
T = TypeVar("T")

#: First and longest wait before repeating a call that found the database busy.
_BUSY_FIRST, _BUSY_CAP = 0.05, 5.0


def _busy_delay(attempt: int) -> float:
    return min(_BUSY_FIRST * 2 ** attempt, _BUSY_CAP) * random.uniform(0.5, 1.0)


class DbWorkers:
    """Runs storage calls off the event loop (see the module docstring)."""

    def __init__(self, readers: int = 2) -> None:
        self._reader_count = readers
        self._lock = threading.Lock()
        self._writer_pool: ThreadPoolExecutor | None = None
        self._reader_pool: ThreadPoolExecutor | None = None
        self._writer_thread: threading.Thread | None = None

    @property
    def _writer(self) -> ThreadPoolExecutor:
        with self._lock:  # made on first use (again after close: an engine can be reused)
            if self._writer_pool is None:
                self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="batcher-db-writer")
                self._writer_pool.submit(self._note_writer).result()
            return self._writer_pool

    @property
    def _readers(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._reader_pool is None:
                self._reader_pool = ThreadPoolExecutor(self._reader_count,
                                                       thread_name_prefix="batcher-db-reader")
            return self._reader_pool

    def _note_writer(self) -> None:
        self._writer_thread = threading.current_thread()

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a write in the writer thread; repeated while the database is busy."""
        return await self._run(self._writer, functools.partial(fn, *args, **kwargs))

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a read (or other blocking work) in a reader thread."""
        return await self._run(self._readers, functools.partial(fn, *args, **kwargs))

    async def _run(self, pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            try:
                return await loop.run_in_executor(pool, call)
            except DatabaseBusy as exc:
                delay = _busy_delay(attempt)
                attempt += 1
                log.info("%s; again in %.2f s", exc, delay)
                await asyncio.sleep(delay)

    def write_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a write in the writer thread from another worker thread, and wait for it."""
        if threading.current_thread() is self._writer_thread:
            return fn(*args)
        attempt = 0
        while True:
            try:
                return self._writer.submit(fn, *args).result()
            except DatabaseBusy as exc:
                delay = _busy_delay(attempt)
                attempt += 1
                log.info("%s; again in %.2f s", exc, delay)
                time.sleep(delay)

    def close(self) -> None:
        """Wait for running work, then stop the threads (the next call starts new ones)."""
        with self._lock:
            pools, self._writer_pool, self._reader_pool = (
                (self._writer_pool, self._reader_pool), None, None)
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=True)
