"""Bulk writing of one import: a run, its prompts and the drafts they fill, in one transaction.

This is the hot path of a million-line import, so it talks to SQLite through
``exec_driver_sql`` with tuples (no per-row ORM or dict work) and assigns ids itself: it holds
the write lock for the whole import, so ``max(id) + 1`` cannot race.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, insert, select, update

from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import (
    LINE_OVERHEAD,
    ImportSummary,
    ParsedRequest,
    Profile,
    Run,
)
from batcher_gui.domain.packing import DraftPacker, GroupKey, OpenDraft
from batcher_gui.domain.states import BatchState, PromptState, check_batch_transition
from batcher_gui.storage.tables import batch_transitions, batches, prompts, runs

_CHUNK = 5000
_INSERT_PROMPT = (
    "INSERT INTO prompts (id, run_id, batch_id, line_no, user_custom_id, endpoint, model, state,"
    " request_bytes, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_PENDING = PromptState.PENDING.value


class ImportWriter:
    """Adds parsed requests to a new run inside an open write transaction.

    Use through :meth:`batcher_gui.storage.store.Store.importing`, which owns the transaction:
    leaving it with an exception (or calling nothing) rolls everything back.
    """

    def __init__(self, conn: Connection, run: Run, profile: Profile,
                 expected_rows: int = 0) -> None:
        self._conn = conn
        self.run = run
        self._now = time.time()
        self._buffer: list[tuple[Any, ...]] = []
        self._count = 0
        max_prompt = conn.scalar(select(prompts.c.id).order_by(prompts.c.id.desc()).limit(1))
        self._next_prompt_id = (max_prompt or 0) + 1
        max_batch = conn.scalar(select(batches.c.id).order_by(batches.c.id.desc()).limit(1))
        self._next_batch_id = (max_batch or 0) + 1
        existing = [
            OpenDraft(r.id, (r.endpoint, r.model), r.request_count, r.bytes)
            for r in conn.execute(
                select(batches.c.id, batches.c.endpoint, batches.c.model,
                       batches.c.request_count, batches.c.bytes).where(
                    batches.c.profile_id == profile.id,
                    batches.c.state == BatchState.DRAFT.value,
                )
            )
        ]
        self._profile = profile
        self._run_id = run.id
        # LINE_OVERHEAD + "p" + the id's digits; grows by one at each power of ten.
        digits = len(str(self._next_prompt_id))
        self._fixed_overhead = LINE_OVERHEAD + 1 + digits
        self._next_digit_step = 10**digits
        self._packer = DraftPacker(profile.limits, existing, self._create_draft)
        # Updating two indexes per inserted row costs more than the row itself; when the import
        # is at least as big as the table, building them once at the end is cheaper. DDL is
        # transactional in SQLite: a failed import gets its indexes back on rollback.
        self._rebuild_indexes = expected_rows > 0 and expected_rows >= self._next_prompt_id
        if self._rebuild_indexes:
            for index in prompts.indexes:
                index.drop(conn)

    def _create_draft(self, key: GroupKey) -> int:
        batch_id = self._next_batch_id
        self._next_batch_id += 1
        check_batch_transition(batch_id, None, BatchState.DRAFT)
        endpoint, model = key
        self._conn.execute(
            insert(batches).values(
                id=batch_id,
                uuid=str(uuid.uuid4()),
                profile_id=self._profile.id,
                endpoint=endpoint,
                model=model,
                state=BatchState.DRAFT.value,
                created_at=self._now,
                updated_at=self._now,
            )
        )
        self._conn.execute(
            insert(batch_transitions).values(
                batch_id=batch_id,
                from_state=None,
                to_state=BatchState.DRAFT.value,
                at=self._now,
                reason=f"created by import of run {self.run.name!r}",
            )
        )
        return batch_id

    def add(self, req: ParsedRequest) -> None:
        """Add one request as a pending prompt (buffered; written in chunks)."""
        self.consume((req,))

    def consume(
        self,
        items: Iterable[ParsedRequest | tuple[int, str, str, str, bytes] | LineError],
        on_error: Callable[[LineError], bool] | None = None,
        on_chunk: Callable[[], None] | None = None,
    ) -> None:
        """Add every request of ``items`` (the hot loop of a million-line import).

        Args:
            on_error: called for each LineError; once it returns False, later requests are
                only read, not added (an atomic import that already failed).
            on_chunk: called after each chunk is written (progress, cancellation).
        """
        buffer = self._buffer
        append = buffer.append
        packer = self._packer
        limits = self._profile.limits
        max_requests, max_bytes = limits.max_requests, limits.max_batch_bytes
        run_id = self._run_id
        next_id = self._next_prompt_id
        overhead = self._fixed_overhead
        digit_step = self._next_digit_step
        adding = True
        # The open draft of the last (endpoint, model): most files use one of each, so the
        # packer is consulted only when the group changes or the draft is full.
        last_endpoint = last_model = None
        draft: OpenDraft | None = None
        for item in items:
            if isinstance(item, LineError):
                adding = on_error(item) if on_error is not None else False
                continue
            if not adding:
                continue
            line_no, user_id, endpoint, model, body = item
            if next_id >= digit_step:
                overhead += 1
                digit_step *= 10
            # Size of the line Batcher will send: {"custom_id":"p<id>",...,"body":<body>}\n
            line_bytes = overhead + len(endpoint) + len(body)
            if (draft is not None and endpoint == last_endpoint and model == last_model
                    and draft.count < max_requests and draft.bytes + line_bytes <= max_bytes):
                # The packer's own rule (DraftPacker.place), without a call per row.
                draft.count += 1
                draft.bytes += line_bytes
                draft.added += 1
            else:
                packer.place((endpoint, model), line_bytes)
                draft = packer.last
                last_endpoint, last_model = endpoint, model
            draft_id = draft.batch_id
            append((next_id, run_id, draft_id, line_no, user_id, endpoint, model, _PENDING,
                    line_bytes, body))
            next_id += 1
            if len(buffer) >= _CHUNK:
                self.flush()
                if on_chunk is not None:
                    on_chunk()
        self._next_prompt_id = next_id
        self._fixed_overhead = overhead
        self._next_digit_step = digit_step

    def flush(self) -> None:
        if self._buffer:
            self._conn.exec_driver_sql(_INSERT_PROMPT, self._buffer)
            self._count += len(self._buffer)
            self._buffer.clear()

    @property
    def count(self) -> int:
        return self._count + len(self._buffer)

    def finish(self) -> ImportSummary:
        """Write what is buffered and the draft totals; the caller's transaction commits."""
        self.flush()
        if self._rebuild_indexes:
            for index in sorted(prompts.indexes, key=lambda i: str(i.name)):
                index.create(self._conn)
            self._rebuild_indexes = False
        for draft in self._packer.touched:
            self._conn.execute(
                update(batches)
                .where(batches.c.id == draft.batch_id)
                .values(request_count=draft.count, bytes=draft.bytes, updated_at=self._now)
            )
        self._conn.execute(
            update(runs).where(runs.c.id == self.run.id).values(prompt_count=self._count)
        )
        run = Run(**{**_run_fields(self.run), "prompt_count": self._count})
        return ImportSummary(
            run=run,
            prompts=self._count,
            drafts=[d.batch_id for d in self._packer.touched],
        )


def _run_fields(run: Run) -> dict[str, Any]:
    return {f: getattr(run, f) for f in run.__dataclass_fields__}
