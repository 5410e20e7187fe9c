"""The window's read façade: named queries over a workspace, run off the event loop.

Every view of the window reads through :class:`ViewReader`: runs with their counts and costs,
batches, a prompt's or a batch's detail, and the pages of the prompts table. Queries run on two
threads with read-only connections of their own, never on the GUI thread; results come back
as awaited values. A newer prompts query makes the running one stop (SQLite's interrupt,
PostgreSQL's cancel) and its stale answer is dropped, so typing in the search box never queues
up slow scans. The workspace is a SQLite file or a PostgreSQL database (``database`` a
``postgresql://`` URL): the same queries read both (storage/readconn.py).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from batcher_gui.config.prices import price_table
from batcher_gui.domain.models import Batch
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.review import FacetCounts
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import (
    PromptDetail,
    PromptQuery,
    PromptRow,
    RunOverview,
    Transition,
)
from batcher_gui.paths import WorkspacePaths
from batcher_gui.storage.readconn import Where, interrupted
from batcher_gui.storage.views import ViewQueries, schema_is_current

log = logging.getLogger(__name__)
T = TypeVar("T")


def data_location(paths: WorkspacePaths) -> Where:
    """What the views read: the workspace's PostgreSQL URL, or its SQLite file."""
    return paths.database_url or paths.database


class Superseded(Exception):
    """A newer query of the same kind was asked for (or the workspace closed); this one's
    answer is not wanted."""


class ViewReader:
    """See the module docstring. Make it with :meth:`open` (it connects in a thread).

    Two threads: one for the prompts table (whose queries can take a few hundred ms on a
    million rows and are interrupted when superseded), one for everything else (runs,
    batches, details), so neither waits for the other.
    """

    def __init__(self, database: Where, prices: PriceTable | None = None) -> None:
        self.database = database
        self.prices = prices or price_table()
        self._bulk = ThreadPoolExecutor(1, thread_name_prefix="batcher-view-bulk")
        self._quick = ThreadPoolExecutor(1, thread_name_prefix="batcher-view")
        self._bulk_queries = self._bulk.submit(ViewQueries, database).result()
        self._quick_queries = self._quick.submit(ViewQueries, database).result()
        self._generation: dict[str, int] = {}
        self._running: str | None = None  # the kind of latest() query on the bulk thread now
        self._closed = False
        # Its own thread and connection: counting facets must not hold up the table's pages.
        self._facets = _FacetThread(database)

    @classmethod
    async def open(cls, database: Where, prices: PriceTable | None = None) -> ViewReader:
        """Connect (in a thread: opening a file can wait on the disk)."""
        return await asyncio.get_running_loop().run_in_executor(None, cls, database, prices)

    @staticmethod
    async def schema_is_current(database: Where) -> bool:
        """Whether ``database`` exists with the schema these queries expect (an older one is
        read only once the service has migrated it)."""
        return await asyncio.get_running_loop().run_in_executor(
            None, schema_is_current, database)

    # -- running queries -------------------------------------------------------------------
    async def _quick_call(self, fn: Callable[..., T], *args: Any) -> T:
        self._check_open()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._quick, functools.partial(fn, self._quick_queries, *args))
        except Exception as exc:  # stopped by close(): nobody needs it now
            if self._closed and interrupted(exc):
                raise Superseded("closed") from None
            raise

    async def _latest(self, kind: str, fn: Callable[..., T], *args: Any) -> T:
        """A prompts-table query; raises Superseded if another of ``kind`` came meanwhile.

        Only one query runs at a time on that thread: asking for a new one interrupts the one
        running (the user has moved on), and anything queued behind it of the same kind is
        answered with Superseded without being run.
        """
        self._check_open()
        generation = self._generation.get(kind, 0) + 1
        self._generation[kind] = generation
        if self._running == kind:  # only a query of the same kind is worth stopping
            self._bulk_queries.interrupt()

        def call() -> T:
            if self._generation.get(kind) != generation or self._closed:
                raise Superseded(kind)
            self._running = kind
            try:
                return fn(self._bulk_queries, *args)
            except Exception as exc:
                if interrupted(exc):
                    raise Superseded(kind) from None
                raise
            finally:
                self._running = None

        result = await asyncio.get_running_loop().run_in_executor(self._bulk, call)
        if self._generation.get(kind) != generation:
            raise Superseded(kind)
        return result

    async def _bulk_call(self, fn: Callable[..., T], *args: Any) -> T:
        """A page of rows (never interrupts anything; an interrupted read is Superseded)."""
        self._check_open()

        def call() -> T:
            if self._closed:
                raise Superseded("closed")
            try:
                return fn(self._bulk_queries, *args)
            except Exception as exc:
                if interrupted(exc):
                    raise Superseded("page") from None
                raise

        return await asyncio.get_running_loop().run_in_executor(self._bulk, call)

    def _check_open(self) -> None:
        if self._closed:  # the workspace was closed: whoever asked no longer needs it
            raise Superseded("closed")

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop the running queries and close the connections (blocks: call in a thread)."""
        self._closed = True
        self._bulk_queries.interrupt()
        self._quick_queries.interrupt()
        for pool, queries in ((self._bulk, self._bulk_queries),
                              (self._quick, self._quick_queries)):
            pool.submit(queries.close)
            pool.shutdown(wait=True)
        self._facets.close()

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    # -- the workspace ---------------------------------------------------------------------
    async def data_version(self) -> int:
        """Changes whenever another connection (the engine, another process) commits."""
        return await self._quick_call(ViewQueries.data_version)

    async def run_overviews(self) -> list[RunOverview]:
        """Every visible run, newest first, with counts, usage, cost and timing."""
        runs = await self._quick_call(ViewQueries.run_overviews)
        return [run.priced(self.prices) for run in runs]

    async def batches(self, run_id: int | None) -> list[Batch]:
        """Batches of one run (or all), newest first."""
        return await self._quick_call(ViewQueries.batches, run_id)

    async def batch(self, batch_id: int) -> Batch | None:
        return await self._quick_call(ViewQueries.batch, batch_id)

    async def batch_transitions(self, batch_id: int) -> list[Transition]:
        return await self._quick_call(ViewQueries.batch_transitions, batch_id)

    async def providers(self) -> dict[int, str]:
        """Each profile id's name and provider in words ("claude (Anthropic)")."""
        return await self._quick_call(ViewQueries.providers)

    async def prompt_detail(self, prompt_id: int) -> PromptDetail | None:
        return await self._quick_call(ViewQueries.detail, prompt_id)

    async def models(self, run_id: int | None) -> list[str]:
        return await self._quick_call(ViewQueries.models, run_id)

    async def spend_by_day(self, since: float) -> list[tuple[str, str, int, int, int, int, int]]:
        return await self._quick_call(ViewQueries.spend_by_day, since)

    async def counts_by_state(self, query: PromptQuery) -> dict[PromptState, int]:
        """Counts by state of ``query`` without its state filter."""
        return await self._quick_call(ViewQueries.counts_by_state, query)

    async def label_names(self) -> dict[int, str]:
        return await self._quick_call(ViewQueries.label_names)

    async def facet_counts(self, query: PromptQuery) -> FacetCounts:
        """Counts of every facet for ``query``, on a thread and connection of their own (a
        second of counting on a million prompts must not hold up the table's pages); a newer
        facets query interrupts it (Superseded)."""
        self._check_open()
        return await self._facets.count(query)

    # -- the prompts table -----------------------------------------------------------------
    async def count(self, query: PromptQuery) -> int:
        """How many prompts match (a newer prompts query supersedes it)."""
        return await self._latest("prompts", ViewQueries.count, query)

    async def search_is_indexed(self, query: PromptQuery) -> bool:
        """Whether ``query``'s search is answered by the search index (then its count is
        quick; else it is a scan, and the snapshot counts it)."""
        return await self._latest("prompts", ViewQueries.search_is_indexed, query)

    async def first_page(self, query: PromptQuery, limit: int) -> list[PromptRow]:
        return await self._latest("prompts", ViewQueries.page, query, 0, limit)

    async def ids(self, query: PromptQuery) -> Sequence[int]:
        """Every matching id in order: the snapshot pages are read by."""
        return await self._latest("prompts", ViewQueries.ids, query)

    async def recount(self, query: PromptQuery) -> int:
        """How many match now (for "N new"; superseded only by another recount)."""
        return await self._latest("prompts-count", ViewQueries.count, query)

    async def page(self, query: PromptQuery, offset: int, limit: int) -> list[PromptRow]:
        return await self._bulk_call(ViewQueries.page, query, offset, limit)

    async def rows(self, ids: Sequence[int]) -> list[PromptRow]:
        """These prompts' rows, in the order given (deleted ones left out)."""
        return await self._bulk_call(ViewQueries.rows, ids)


class _FacetThread:
    """The facets' counting: one thread, one connection, only the newest query runs."""

    def __init__(self, database: Where) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="batcher-view-facets")
        self._queries = self._pool.submit(ViewQueries, database).result()
        self._generation = 0
        self._closed = False

    async def count(self, query: PromptQuery) -> FacetCounts:
        self._generation += 1
        generation = self._generation
        self._queries.interrupt()  # whatever runs is for an older query

        def call() -> FacetCounts:
            if generation != self._generation or self._closed:
                raise Superseded("facets")
            try:
                return self._queries.facet_counts(query)
            except Exception as exc:
                if interrupted(exc):
                    raise Superseded("facets") from None
                raise

        result = await asyncio.get_running_loop().run_in_executor(self._pool, call)
        if generation != self._generation:
            raise Superseded("facets")
        return result

    def close(self) -> None:
        self._closed = True
        self._queries.interrupt()
        self._pool.submit(self._queries.close)
        self._pool.shutdown(wait=True)
