"""Draft batches: packing prompts to retry into new drafts, sealing drafts, reading a batch's
pending requests for its file."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, insert, select, update

from batcher_gui.domain.models import ProfileLimits
from batcher_gui.domain.packing import DraftPacker, OpenDraft
from batcher_gui.domain.states import BatchState, check_batch_transition
from batcher_gui.storage.db import Database
from batcher_gui.storage.moves import move_batch
from batcher_gui.storage.rows import profile_from_row
from batcher_gui.storage.tables import batch_transitions, batches, profiles

B = BatchState
_DRAFT = B.DRAFT.value


class Drafts:
    """Draft-batch reads and writes of one workspace."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def rebatch_orphans(self) -> list[int]:
        """Pending prompts without a batch (retries) go into new drafts, sealed at once.

        Skipped (returns []) while an import runs: it has handed out the next batch ids.
        """
        with self.db.import_lock(wait=False) as free:
            if not free:
                return []
            sealed: list[int] = []
            with self.db.write() as conn:
                groups = conn.exec_driver_sql(
                    "SELECT p.run_id, r.profile_id, p.endpoint, p.model FROM prompts p "
                    "JOIN runs r ON r.id = p.run_id WHERE p.batch_id IS NULL AND "
                    "p.state = 'pending' AND r.status = 'ready' "
                    "GROUP BY p.run_id, r.profile_id, p.endpoint, p.model").all()
                for run_id, profile_id, endpoint, model in groups:
                    sealed += self._pack_group(conn, run_id, profile_id, endpoint, model)
            return sealed

    def _pack_group(self, conn: Connection, run_id: int, profile_id: int, endpoint: str,
                    model: str) -> list[int]:
        row = conn.execute(select(profiles).where(profiles.c.id == profile_id)).one()
        limits: ProfileLimits = profile_from_row(row).limits
        now = time.time()
        created: list[int] = []

        def new_batch(_key: tuple[str, str]) -> int:
            check_batch_transition("new", None, B.DRAFT)
            key = conn.execute(insert(batches).values(
                uuid=str(uuid.uuid4()), profile_id=profile_id, endpoint=endpoint, model=model,
                state=_DRAFT, created_at=now, updated_at=now, run_id=run_id,
            )).inserted_primary_key
            assert key is not None
            batch_id = int(key[0])
            conn.execute(insert(batch_transitions).values(
                batch_id=batch_id, from_state=None, to_state=_DRAFT, at=now,
                reason="created for prompts to retry"))
            created.append(batch_id)
            return batch_id

        packer = DraftPacker(limits, list[OpenDraft](), new_batch)
        rows = conn.exec_driver_sql(
            "SELECT id, request_bytes FROM prompts WHERE batch_id IS NULL AND state = 'pending' "
            "AND run_id = ? AND endpoint = ? AND model = ? ORDER BY id",
            (run_id, endpoint, model)).all()
        assignments = [(packer.place((endpoint, model), nbytes), pid) for pid, nbytes in rows]
        conn.exec_driver_sql("UPDATE prompts SET batch_id = ? WHERE id = ?", assignments)
        for draft in packer.touched:
            conn.execute(update(batches).where(batches.c.id == draft.batch_id).values(
                request_count=draft.count, bytes=draft.bytes))
            move_batch(conn, draft.batch_id, B.DRAFT, B.READY_FOR_UPLOAD,
                       "sealed at once: prompts to retry", sealed_at=now)
        return created

    def due_to_seal(self, quiet_seconds: float) -> list[int]:
        """Drafts that are full, or have not grown for ``quiet_seconds``."""
        cutoff = time.time() - quiet_seconds
        with self.db.read() as conn:
            rows = conn.execute(
                select(batches.c.id, batches.c.request_count, batches.c.bytes,
                       batches.c.updated_at, profiles.c.max_requests, profiles.c.max_batch_bytes)
                .join(profiles, profiles.c.id == batches.c.profile_id)
                .where(batches.c.state == _DRAFT, batches.c.request_count > 0)).all()
        return [r.id for r in rows
                if r.updated_at <= cutoff or r.request_count >= r.max_requests
                or r.bytes >= r.max_batch_bytes * 0.99]

    def seal(self, batch_ids: Sequence[int] | None = None, *, run_id: int | None = None,
             reason: str = "sealed on request") -> list[int]:
        """Seal drafts (all, the given ones, or a run's) so the engine sends them."""
        query = select(batches.c.id).where(batches.c.state == _DRAFT,
                                           batches.c.request_count > 0)
        if batch_ids is not None:
            query = query.where(batches.c.id.in_(list(batch_ids)))
        if run_id is not None:
            query = query.where(batches.c.run_id == run_id)
        sealed: list[int] = []
        with self.db.write() as conn:
            now = time.time()
            for batch_id in conn.scalars(query).all():
                move_batch(conn, batch_id, B.DRAFT, B.READY_FOR_UPLOAD, reason, sealed_at=now)
                sealed.append(batch_id)
        return sealed

    def any_waiting(self) -> bool:
        """Drafts with prompts that are not sealed yet."""
        with self.db.read() as conn:
            first = conn.execute(select(batches.c.id).where(
                batches.c.state == _DRAFT, batches.c.request_count > 0).limit(1)).first()
        return first is not None

    def pending_bodies(self, batch_id: int, after: int, limit: int) -> list[tuple[int, bytes]]:
        """(prompt id, body) of a batch's pending prompts after ``after``, by id."""
        with self.db.read() as conn:
            return [(pid, body) for pid, body in conn.exec_driver_sql(
                "SELECT id, body FROM prompts WHERE batch_id = ? AND state = 'pending' "
                "AND id > ? ORDER BY id LIMIT ?", (batch_id, after, limit))]
