"""Comparing two runs, for the window and the ``batcher compare`` command.

A :class:`Comparison` is one open compare: a thread and a read-only connection of its own
(never the prompts table's), where the pairs are built once (seconds on a million prompts,
with progress) and then paged. The window keeps it while the Compare tab is open; the
command builds it, prints the summary and writes the pairs.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from batcher_gui.app.reader import Superseded
from batcher_gui.config.prices import price_table
from batcher_gui.domain.compare import (
    CompareFilter,
    CompareSummary,
    PairDetail,
    PairRow,
    PairRule,
    RunSide,
)
from batcher_gui.domain.errors import Cancelled
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.views import RunOverview
from batcher_gui.engine.compare_export import write_pairs
from batcher_gui.engine.export import check_destination, format_for
from batcher_gui.storage.compare import CompareQueries
from batcher_gui.storage.readconn import Where, interrupted

T = TypeVar("T")
#: Called (on the event loop) with (pairs done, pairs in all) while a compare is built.
Progress = Callable[[int, int], None]


def check_out(out: str) -> None:
    """Refuse a file the pairs cannot be written to (before any work): its format unknown,
    a folder, an unwritable place."""
    format_for(out, None)
    check_destination(out)


def run_side(run: RunOverview) -> RunSide:
    """A run's figures for the top of a compare."""
    tokens_in, tokens_out = run.tokens
    return RunSide(run.run.id, run.run.label, run.total, run.groups.done, run.groups.failed,
                   tokens_in, tokens_out, run.cost, run.models)


class Comparison:
    """See the module docstring. Make it with :meth:`open`."""

    def __init__(self, database: Where, run_a: int, run_b: int,
                 prices: PriceTable | None = None) -> None:
        self.run_a, self.run_b = run_a, run_b
        self.prices = prices or price_table()
        # Two threads, each with its connection: the pairs are built (and then paged) on one,
        # while the other reads the first page and details at once.
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="batcher-compare")
        self._queries = self._pool.submit(CompareQueries, database, self.prices).result()
        self._quick_pool = ThreadPoolExecutor(1, thread_name_prefix="batcher-compare-quick")
        self._quick = self._quick_pool.submit(CompareQueries, database, self.prices, 2).result()
        self._stop = threading.Event()
        self._closed = False
        self.summary: CompareSummary | None = None
        self.sides: tuple[RunSide, RunSide] | None = None
        self.label_names: dict[int, str] = {}

    @classmethod
    async def open(cls, database: Where, run_a: int, run_b: int,
                   prices: PriceTable | None = None) -> Comparison:
        return await asyncio.get_running_loop().run_in_executor(
            None, cls, database, run_a, run_b, prices)

    async def _call(self, fn: Callable[..., T], *args: Any, quick: bool = False) -> T:
        if self._closed:
            raise Superseded("closed")
        queries = self._quick if quick else self._queries

        def call() -> T:
            if self._closed:
                raise Superseded("closed")
            try:
                return fn(queries, *args)
            except Exception as exc:
                if interrupted(exc):
                    raise Superseded("compare") from None
                raise

        return await asyncio.get_running_loop().run_in_executor(
            self._quick_pool if quick else self._pool, functools.partial(call))

    async def build(self, progress: Progress | None = None, rule: PairRule | None = None,
                    partial: Callable[[CompareSummary], None] | None = None
                    ) -> CompareSummary:
        """Pair the runs and count agreement (in the compare's thread; progress and the
        counts so far come back on the event loop)."""
        loop = asyncio.get_running_loop()

        def said(done: int, total: int) -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress, done, total)

        def so_far(summary: CompareSummary) -> None:
            if partial is not None:
                loop.call_soon_threadsafe(partial, summary)

        runs = {r.run.id: r for r in await self._call(CompareQueries.run_overviews, quick=True)}
        for run_id in (self.run_a, self.run_b):
            if run_id not in runs:
                raise Superseded(f"run {run_id} is gone")
        self.sides = (run_side(runs[self.run_a].priced(self.prices)),
                      run_side(runs[self.run_b].priced(self.prices)))
        self.label_names = await self._call(CompareQueries.label_names, quick=True)
        try:
            self.summary = await self._call(CompareQueries.build, self.run_a, self.run_b, rule,
                                            said, self._stop.is_set, so_far)
        except Cancelled:
            raise Superseded("compare stopped") from None
        return self.summary

    async def pair_page(self, only: CompareFilter, after: int, limit: int) -> list[PairRow]:
        return await self._call(CompareQueries.pair_page, only, after, limit)

    async def positions(self, only: CompareFilter) -> Sequence[int]:
        return await self._call(CompareQueries.positions, only)

    async def side_ids(self, only: CompareFilter, side: str = "a") -> list[int]:
        """Prompt ids of one side of the pairs under ``only`` (what a re-run of them takes)."""
        return await self._call(CompareQueries.side_ids, only, side)

    async def pairs_at(self, positions: Sequence[int]) -> list[PairRow]:
        return await self._call(CompareQueries.pairs_at, positions)

    async def preview(self, limit: int) -> list[PairRow] | None:
        """The first pairs at once, before the build ends (None: they wait for it)."""
        return await self._call(CompareQueries.preview, self.run_a, self.run_b, limit,
                                quick=True)

    async def pair_detail(self, row: PairRow) -> PairDetail:
        return await self._call(CompareQueries.pair_detail, row, quick=True)

    async def write(self, only: CompareFilter, out: str, fmt: str | None = None) -> int:
        """Write the pairs under ``only`` to ``out`` (JSONL or CSV); returns how many."""
        return await self._call(lambda q: write_pairs(q, only, out, self.label_names, fmt))

    def close(self) -> None:
        """Stop what runs and close the connection (blocks: call in a thread)."""
        self._closed = True
        self._stop.set()
        for pool, queries in ((self._pool, self._queries), (self._quick_pool, self._quick)):
            queries.interrupt()
            pool.submit(queries.close)
            pool.shutdown(wait=True)

    async def aclose(self) -> None:
        if not self._closed:
            await asyncio.get_running_loop().run_in_executor(None, self.close)
