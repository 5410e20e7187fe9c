"""Writing one import as a hidden run, over many short transactions.

A million-line import cannot be one transaction: it would hold the workspace's write lock for
many seconds and stall the engine (and the window) meanwhile. Instead:

1. :meth:`ImportSession.begin` creates the run with status ``importing``: every listing and the
   engine ignore it, and its draft batches stay empty (``request_count`` 0) until the end.
2. :meth:`ImportSession.write` inserts a chunk of rows (and the new drafts they fill) in a
   short transaction of its own.
3. :meth:`ImportSession.finish` fills in the drafts' counts and makes the run ``ready`` in one
   short transaction: the user sees all of it at once, or nothing.

A failed or cancelled import is removed with :meth:`ImportSession.discard`; one cut short by a
crash is removed by :func:`discard_abandoned` when the workspace is next opened. Prompt and
batch ids are handed out at the start, so an import holds :meth:`Database.import_lock` (one
import at a time; nothing else adds batches meanwhile) from :meth:`begin` to the end.

This is the hot path of a big import, so rows go through ``exec_driver_sql`` as tuples.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from batcher_gui.domain.errors import BatcherError, ImportValidationError, LineError
from batcher_gui.domain.models import ImportSummary, Profile, Run
from batcher_gui.domain.packing import GroupKey
from batcher_gui.domain.progress import unique_name
from batcher_gui.domain.states import BatchState, check_batch_transition
from batcher_gui.storage.bulk import (
    RowRefused,
    advance_sequence,
    create_staging,
    drop_staging,
    insert_rows,
    move_staged,
)
from batcher_gui.storage.db import Database
from batcher_gui.storage.import_rows import ROW_COLUMNS, BuildResult, BuildStart
from batcher_gui.storage.tables import batch_transitions, batches, prompts, runs

IMPORTING, DELETING, READY = "importing", "deleting", "ready"
#: Prompts removed per transaction when an import (or a run) is taken away.
DELETE_CHUNK = 5000


def _unique_run_name(conn: Connection, wanted: str) -> str:
    return unique_name(wanted, conn.scalars(select(runs.c.name)
                                            .where(runs.c.name.like(f"{wanted}%"))))


class ImportSession:
    """One import being written. Use :meth:`begin`; the caller holds the import lock."""

    def __init__(self, db: Database, run: Run, profile: Profile, start: BuildStart) -> None:
        self.db = db
        self.run = run
        self.profile = profile
        self.start = start
        self.count = 0
        self._now = time.time()
        #: PostgreSQL: the table this import's rows wait in until :meth:`finish` (None: they
        #: go straight into ``prompts``).
        self.staging: str | None = None

    @classmethod
    def begin(cls, db: Database, name: str, source_path: str | None, source_format: str,
              profile: Profile, options: dict[str, Any] | None = None, *,
              exact_name: bool = False) -> ImportSession:
        """Create the hidden run and hand out the ids the import will use.

        Args:
            exact_name: refuse a taken name instead of adding " (2)".
        """
        import orjson

        with db.write() as conn:
            final = _unique_run_name(conn, name)
            if exact_name and final != name:
                raise BatcherError(f"a run named {name!r} already exists; choose another name")
            now = time.time()
            key = conn.execute(insert(runs).values(
                name=final, source_path=source_path, source_format=source_format,
                profile_id=profile.id, created_at=now, status=IMPORTING,
                options=orjson.dumps(options).decode() if options else None,
            )).inserted_primary_key
            assert key is not None
            max_prompt = conn.scalar(select(prompts.c.id).order_by(prompts.c.id.desc()).limit(1))
            max_batch = conn.scalar(select(batches.c.id).order_by(batches.c.id.desc()).limit(1))
            # The first import into a PostgreSQL workspace is staged (see storage.bulk).
            staging = (create_staging(conn, int(key[0]), ROW_COLUMNS)
                       if db.dialect.postgres and max_prompt is None else None)
        run = Run(int(key[0]), final, source_path, source_format, profile.id, now, 0)
        # Each import fills drafts of its own: a draft shared with a visible run could be sealed
        # and sent while this import's prompts in it are still hidden.
        start = BuildStart(run.id, (max_prompt or 0) + 1, (max_batch or 0) + 1, profile.limits)
        session = cls(db, run, profile, start)
        session.staging = staging
        return session

    def write(self, rows: Sequence[Any], new_drafts: Sequence[tuple[int, GroupKey]]) -> None:
        """Insert one chunk of rows, and first the drafts they are the first to use."""
        # Foreign keys off: the rows reference this run and drafts inserted just before them,
        # and SQLite's per-row lookups would cost as much as the insert itself.
        dialect = self.db.dialect
        try:
            with self.db.write(foreign_keys=False) as conn:
                for batch_id, (endpoint, model) in new_drafts:
                    self._create_draft(conn, batch_id, endpoint, model)
                insert_rows(conn, dialect, self.staging or "prompts", ROW_COLUMNS, rows)
                # Ids handed out by the builder, not by PostgreSQL's sequences: move them on.
                if new_drafts:
                    advance_sequence(conn, dialect, "batches", new_drafts[-1][0])
                if rows:
                    advance_sequence(conn, dialect, "prompts", rows[-1][0])
        except RowRefused as exc:
            self._refuse_nul(rows, exc)
            raise
        self.count += len(rows)

    def _refuse_nul(self, rows: Sequence[Any], exc: RowRefused) -> None:
        """PostgreSQL's text cannot hold a NUL character (SQLite's can): the line that has one
        in a text field is refused by name, as a validation error (nothing is imported)."""
        text_fields = [i for i, name in enumerate(ROW_COLUMNS)
                       if name in ("user_custom_id", "endpoint", "model")]
        for row in rows:
            for i in text_fields:
                if isinstance(row[i], str) and "\0" in row[i]:
                    field = "custom_id" if ROW_COLUMNS[i] == "user_custom_id" else ROW_COLUMNS[i]
                    raise ImportValidationError([LineError(
                        self.run.source_path or self.run.name, int(row[3]), field,
                        "contains a NUL character (\\0), which a PostgreSQL workspace cannot "
                        "store; remove it")]) from exc

    def _create_draft(self, conn: Connection, batch_id: int, endpoint: str, model: str) -> None:
        check_batch_transition(batch_id, None, BatchState.DRAFT)
        conn.execute(insert(batches).values(
            id=batch_id, uuid=str(uuid.uuid4()), profile_id=self.profile.id, endpoint=endpoint,
            model=model, state=BatchState.DRAFT.value, created_at=self._now,
            updated_at=self._now, run_id=self.run.id))
        conn.execute(insert(batch_transitions).values(
            batch_id=batch_id, from_state=None, to_state=BatchState.DRAFT.value, at=self._now,
            reason=f"created by the import of run {self.run.label}"))

    def finish(self, result: BuildResult) -> ImportSummary:
        """Fill in the drafts and show the run: the import becomes visible all at once."""
        if result.count != self.count:
            raise RuntimeError(f"import wrote {self.count} rows but built {result.count}")
        now = time.time()
        with self.db.write() as conn:
            if self.staging is not None:
                move_staged(conn, self.staging, ROW_COLUMNS)
            for draft in result.touched:
                conn.execute(update(batches).where(batches.c.id == draft.batch_id).values(
                    request_count=draft.count, bytes=draft.bytes, updated_at=now))
            conn.execute(update(runs).where(runs.c.id == self.run.id).values(
                prompt_count=self.count, status=READY))
        run = Run(self.run.id, self.run.name, self.run.source_path, self.run.source_format,
                  self.run.profile_id, self.run.created_at, self.count)
        return ImportSummary(run=run, prompts=self.count,
                             drafts=[d.batch_id for d in result.touched])

    def discard(self) -> None:
        """Remove everything this import wrote."""
        remove_run_rows(self.db, self.run.id)


def remove_run_rows(db: Database, run_id: int) -> None:
    """Delete a hidden run, its prompts (a chunk per transaction) and its batches."""
    with db.write() as conn:
        drop_staging(conn, db.dialect, run_id)
    while True:
        with db.write() as conn:
            gone = conn.exec_driver_sql(
                "DELETE FROM prompts WHERE id IN (SELECT id FROM prompts WHERE run_id = ? "
                "LIMIT ?)", (run_id, DELETE_CHUNK)).rowcount
        if not gone:
            break
    with db.write() as conn:
        # Batches of older workspaces may also hold other runs' prompts: keep those.
        conn.exec_driver_sql(
            "DELETE FROM batches WHERE run_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM prompts WHERE prompts.batch_id = batches.id)", (run_id,))
        conn.exec_driver_sql("UPDATE batches SET run_id = NULL WHERE run_id = ?", (run_id,))
        conn.execute(runs.delete().where(runs.c.id == run_id))


def discard_abandoned(db: Database) -> int:
    """Remove runs an import or a delete left hidden when its process died; returns how many.

    Does nothing while another process imports (its run is not abandoned).
    """
    with db.import_lock(wait=False) as free:
        if not free:
            return 0
        with db.read() as conn:
            leftovers = list(conn.scalars(
                select(runs.c.id).where(runs.c.status.in_([IMPORTING, DELETING]))))
        for run_id in leftovers:
            remove_run_rows(db, run_id)
        return len(leftovers)
