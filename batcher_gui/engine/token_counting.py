"""Tokens counted off the import's path, and the token-queue admission of batches.

After an import, every prompt's input tokens and output bound are counted in the background
(``BackgroundCounter``): in chunks, read in a database thread, counted in a worker thread
(tiktoken releases the GIL while it encodes), written in the write thread — so the window's
loop never waits. It resumes where it stopped after a restart (an uncounted prompt has NULL
counts, found by a partial index).

Before a batch is created at the provider, ``Admission`` counts whatever of it is still
uncounted and sends it only if its input tokens fit beside the model's batches already in the
provider's queue (``domain.capacity``); a batch bigger than the limit on its own keeps the
prompts that fit and gives the rest back to be packed into new batches. A
``token_limit_exceeded`` teaches it: the limit for
that profile and model is lowered to what was in the queue when the provider said no.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from batcher_gui.config.prices import price_table
from batcher_gui.domain.budget import budget_words, caps, month_start, over_budget
from batcher_gui.domain.capacity import Admission, admits, admits_requests, queue_limit, token_limit
from batcher_gui.domain.events import Listener, TokensCounted
from batcher_gui.domain.models import Batch, Profile, ProfileKind
from batcher_gui.domain.outcomes import BudgetExceeded
from batcher_gui.domain.wording import plural
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage.token_book import Counted, TokenBook, Uncounted
from batcher_gui.tokens.counting import TokenCounter

log = logging.getLogger(__name__)

#: Prompts read, counted and written together.
CHUNK = 2048
#: Chunks per engine pass (the next pass goes on): ~16k prompts.
CHUNKS_PER_PASS = 8


def count_rows(counter: TokenCounter, rows: list[Uncounted]) -> list[Counted]:
    counts = counter.count_many((endpoint, model, body) for _, endpoint, model, body, _ in rows)
    return [(row[0], c.input, c.output_bound, row[4], row[2])
            for row, c in zip(rows, counts, strict=True)]


class BackgroundCounter:
    def __init__(self, book: TokenBook, workers: DbWorkers, listener: Listener | None,
                 counter: TokenCounter | None = None) -> None:
        self.book, self.workers, self.listener = book, workers, listener
        self.counter = counter or TokenCounter()
        self._after = 0  # the last id counted: the next chunk starts past it

    async def run_pass(self) -> int:
        """Count up to CHUNKS_PER_PASS chunks; returns how many prompts were counted."""
        loop = asyncio.get_running_loop()
        done = 0
        for _ in range(CHUNKS_PER_PASS):
            rows = await self.workers.read(self.book.uncounted, CHUNK, self._after)
            if not rows:
                if self._after == 0:
                    break
                self._after = 0  # wrapped: earlier ids may have come (a new import)
                continue
            counts = await loop.run_in_executor(None, count_rows, self.counter, rows)
            await self.workers.write(self.book.store_counts, counts)
            self._after = rows[-1][0]
            done += len(rows)
        if done and self.listener is not None:
            remaining = await self.workers.read(self.book.uncounted_total)
            self.listener(TokensCounted(done, remaining))
        return done


class TokenGate:
    """Decides, one batch at a time per (profile, model), whether a batch may be created."""

    def __init__(self, book: TokenBook, workers: DbWorkers,
                 limits: Callable[[], Mapping[str, int]],
                 counter: TokenCounter | None = None,
                 prices: Callable[[], Mapping[str, Any]] = dict) -> None:
        self.book, self.workers, self.limits, self.prices = book, workers, limits, prices
        self.counter = counter or TokenCounter()
        self.locks: dict[tuple[int, str], asyncio.Lock] = {}
        #: (profile id, model) -> a limit learned from token_limit_exceeded.
        self.learned: dict[tuple[int, str], int] = {}

    def lock(self, batch: Batch, profile: Profile) -> AbstractAsyncContextManager[Any]:
        """Held from the verdict until the batch is recorded as in the queue (one verdict at a
        time per model); nothing to hold where the model has no limit."""
        if profile.kind is ProfileKind.ANTHROPIC:  # one queue for every model of the profile
            return self.locks.setdefault((batch.profile_id, "*"), asyncio.Lock())
        if self.limit(profile, batch.model) is None:
            return contextlib.nullcontext()
        return self.locks.setdefault((batch.profile_id, batch.model), asyncio.Lock())

    def limit(self, profile: Profile, model: str) -> int | None:
        tiered = profile.kind in (ProfileKind.OPENAI, ProfileKind.AZURE) \
            and not profile.is_builtin_sandbox
        limit = token_limit(profile.name, model, self.limits(), tiered=tiered)
        learned = self.learned.get((profile.id, model))
        if learned is not None:
            limit = learned if limit is None else min(limit, learned)
        return limit

    async def check(self, batch: Batch, profile: Profile) -> Admission:
        if batch.run_id is not None:
            held = await self.budget_problem(batch.run_id, profile)
            if held is not None:  # kept as the batch's wait reason: in words
                return Admission(False, 0, 0, None, budget_words(held) + " — submit the run in "
                                 "the window (it asks) or with `batcher submit "
                                 "--allow-over-budget`")
        if profile.kind is ProfileKind.ANTHROPIC:
            return await self._queue_room(batch, profile)
        limit = self.limit(profile, batch.model)
        if limit is None:  # nothing to check: no tokenizer on the way (it loads in ~1 s)
            return admits(await self.workers.read(self.book.batch_needs, batch.id), 0, None)
        await self._count(await self.workers.read(self.book.batch_uncounted, batch.id))
        needed = await self.workers.read(self.book.batch_needs, batch.id)
        if needed > limit:  # too big to ever fit: keep what fits, the rest makes new batches
            moved = await self.workers.write(self.book.split_to_fit, batch.id, limit)
            if moved:
                log.info("batch %s: %s moved to new batches to fit the token limit %s of %s",
                         batch.id, plural(moved, "prompt"), limit, batch.model)
                needed = await self.workers.read(self.book.batch_needs, batch.id)
        queued = await self.workers.read(self.book.queued_tokens, batch.profile_id, batch.model,
                                         batch.id)
        return admits(needed, queued, limit)

    async def _queue_room(self, batch: Batch, profile: Profile) -> Admission:
        """Anthropic counts its processing queue in requests, shared by all models: a batch
        goes when its requests fit beside those of the profile's batches still there."""
        requests = await self.workers.read(self.book.batch_requests, batch.id)
        waiting = await self.workers.read(self.book.queued_requests, batch.profile_id, batch.id)
        verdict = admits_requests(requests, waiting, queue_limit(profile.options))
        needed = await self.workers.read(self.book.batch_needs, batch.id)
        return Admission(verdict.admitted, needed, 0, None, held=verdict.reason)

    async def _count(self, rows: list[Uncounted]) -> None:
        if rows:
            counts = await asyncio.get_running_loop().run_in_executor(
                None, count_rows, self.counter, rows)
            await self.workers.write(self.book.store_counts, counts)

    async def budget_problem(self, run_id: int, profile: Profile) -> BudgetExceeded | None:
        """Which cap the run would pass, so it may not be sent without the user's word (None:
        it may)."""
        run_cap, month_cap = caps(profile.options)
        if (run_cap is None and month_cap is None) \
                or await self.workers.read(self.book.budget_approved, run_id):
            return None
        await self._count(await self.workers.read(self.book.run_uncounted, run_id))
        prices = price_table(self.prices())
        pending = await self.workers.read(self.book.run_pending_tokens, run_id)
        spent = await self.workers.read(self.book.month_usage, profile.id, month_start())
        month_spent = sum(prices.cost(model, tokens_in, tokens_out) or 0.0
                          for model, (tokens_in, tokens_out) in spent.items())
        return over_budget(profile.name, prices.estimate(pending).high, month_spent,
                           run_cap, month_cap)

    async def refused(self, batch: Batch) -> None:
        """The provider said ``token_limit_exceeded``: what was queued beside this batch is
        more than the real limit allows; the next try needs more room. (Alone in the queue,
        the batch keeps its size: the provider's queue may hold others' batches for a while,
        and the backoff waits for them.)"""
        queued = await self.workers.read(self.book.queued_tokens, batch.profile_id,
                                         batch.model, batch.id)
        key = (batch.profile_id, batch.model)
        needed = batch.est_input_tokens or 0
        if not queued:  # nothing of ours beside it: the backoff decides, nothing to learn
            return
        learned = max(queued + needed - 1, needed)  # the real limit is below what was asked
        if learned > 0:
            self.learned[key] = min(self.learned.get(key, learned), learned)
            log.info("token limit for %s on profile %s learned: %s", batch.model,
                     batch.profile_id, self.learned[key])
