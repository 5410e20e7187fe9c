"""Bulk writing of one import: a run, its prompts and the drafts they fill, in one transaction.

This is the hot path of a million-line import, so it talks to SQLite through
``exec_driver_sql`` with tuples (no per-row ORM or dict work). Rows come from a
:class:`~batcher_gui.storage.import_rows.RowBuilder`, in this process or another.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import Connection, insert, select, update

from batcher_gui.domain.models import ImportSummary, Profile, Run
from batcher_gui.domain.packing import OpenDraft
from batcher_gui.domain.states import BatchState, check_batch_transition
from batcher_gui.storage.import_rows import ROW_COLUMNS, BuildResult, BuildStart
from batcher_gui.storage.tables import batch_transitions, batches, prompts, runs

_INSERT_PROMPT = (
    f"INSERT INTO prompts ({', '.join(ROW_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in ROW_COLUMNS)})"
)


class ImportWriter:
    """Writes an import's rows inside an open write transaction.

    Use through :meth:`batcher_gui.storage.store.Store.importing`, which owns the transaction:
    leaving it with an exception rolls everything back.

    Attributes:
        start: numbering and open drafts for the RowBuilder.
        count: prompt rows written so far.
    """

    def __init__(self, conn: Connection, run: Run, profile: Profile,
                 expected_rows: int = 0) -> None:
        self._conn = conn
        self.run = run
        self._profile = profile
        self._now = time.time()
        self.count = 0
        max_prompt = conn.scalar(select(prompts.c.id).order_by(prompts.c.id.desc()).limit(1))
        max_batch = conn.scalar(select(batches.c.id).order_by(batches.c.id.desc()).limit(1))
        open_drafts = tuple(
            OpenDraft(r.id, (r.endpoint, r.model), r.request_count, r.bytes)
            for r in conn.execute(
                select(batches.c.id, batches.c.endpoint, batches.c.model,
                       batches.c.request_count, batches.c.bytes).where(
                    batches.c.profile_id == profile.id,
                    batches.c.state == BatchState.DRAFT.value,
                )
            )
        )
        self.start = BuildStart(run.id, (max_prompt or 0) + 1, (max_batch or 0) + 1,
                                profile.limits, open_drafts)
        # Updating two indexes per inserted row costs more than the row itself; when the import
        # is at least as big as the table, building them once at the end is cheaper. DDL is
        # transactional in SQLite: a failed import gets its indexes back on rollback.
        self._rebuild_indexes = expected_rows > 0 and expected_rows >= self.start.next_prompt_id
        if self._rebuild_indexes:
            for index in prompts.indexes:
                index.drop(conn)

    def write(self, rows: list[Any]) -> None:
        """Insert one chunk of rows made by a RowBuilder from :attr:`start`."""
        self._conn.exec_driver_sql(_INSERT_PROMPT, rows)
        self.count += len(rows)

    def _create_draft(self, batch_id: int, endpoint: str, model: str) -> None:
        check_batch_transition(batch_id, None, BatchState.DRAFT)
        self._conn.execute(insert(batches).values(
            id=batch_id, uuid=str(uuid.uuid4()), profile_id=self._profile.id, endpoint=endpoint,
            model=model, state=BatchState.DRAFT.value, created_at=self._now,
            updated_at=self._now))
        self._conn.execute(insert(batch_transitions).values(
            batch_id=batch_id, from_state=None, to_state=BatchState.DRAFT.value, at=self._now,
            reason=f"created by import of run {self.run.name!r}"))

    def finish(self, result: BuildResult) -> ImportSummary:
        """Record the drafts and totals; the caller's transaction then commits."""
        if result.count != self.count:
            raise RuntimeError(f"import wrote {self.count} rows but built {result.count}")
        for batch_id, (endpoint, model) in result.created:
            self._create_draft(batch_id, endpoint, model)
        if self._rebuild_indexes:
            for index in sorted(prompts.indexes, key=lambda i: str(i.name)):
                index.create(self._conn)
            self._rebuild_indexes = False
        for draft in result.touched:
            self._conn.execute(
                update(batches).where(batches.c.id == draft.batch_id)
                .values(request_count=draft.count, bytes=draft.bytes, updated_at=self._now))
        self._conn.execute(
            update(runs).where(runs.c.id == self.run.id).values(prompt_count=self.count))
        run = Run(self.run.id, self.run.name, self.run.source_path, self.run.source_format,
                  self.run.profile_id, self.run.created_at, self.count)
        return ImportSummary(run=run, prompts=self.count,
                             drafts=[d.batch_id for d in result.touched])
