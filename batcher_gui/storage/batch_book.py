"""The engine's bookkeeping of batches at the provider: intents, outcomes, problems.

Every remote call is bracketed: the engine records its *intent* here before calling the provider
and the *outcome* after, so a crash between the two can be resolved on the next start.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update

from batcher_gui.domain.models import Batch
from batcher_gui.domain.secrecy import mask
from batcher_gui.domain.states import BATCH_TERMINAL, BatchState, PromptState
from batcher_gui.storage.db import Database
from batcher_gui.storage.moves import (
    masked_fields,
    move_batch,
    move_prompts,
    move_prompts_in_chunks,
)
from batcher_gui.storage.rows import batch_from_row
from batcher_gui.storage.tables import batch_transitions, batches, runs

B, P = BatchState, PromptState


class BatchBook:
    """Engine-side writes on batches (and the prompts moving with them)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, batch_id: int) -> Batch:
        with self.db.read() as conn:
            return batch_from_row(conn.execute(
                select(batches).where(batches.c.id == batch_id)).one())

    def in_states(self, states: Iterable[BatchState]) -> list[Batch]:
        """Batches in these states whose run is visible (not being imported or deleted)."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(batches).where(batches.c.state.in_([s.value for s in states]))
                .where(batches.c.run_id.is_(None) | batches.c.run_id.in_(
                    select(runs.c.id).where(runs.c.status == "ready")))
                .order_by(batches.c.id))
            return [batch_from_row(r) for r in rows]

    def cleanup_candidates(self) -> list[Batch]:
        """Ended batches whose provider files are still to be deleted."""
        with self.db.read() as conn:
            rows = conn.execute(select(batches).where(
                batches.c.state.in_([s.value for s in BATCH_TERMINAL]),
                batches.c.intent == "cleanup"))
            return [batch_from_row(r) for r in rows]

    def provider_ids(self, profile_id: int, except_batch: int) -> set[str]:
        """Provider batch ids other batches of a profile hold (a lost create is never
        matched to one of them)."""
        with self.db.read() as conn:
            return {row[0] for row in conn.execute(
                select(batches.c.provider_batch_id).where(
                    batches.c.profile_id == profile_id, batches.c.id != except_batch,
                    batches.c.provider_batch_id.is_not(None)))}

    def send_ahead(self, batch: Batch) -> int | None:
        """Another batch of the profile begun sending before ``batch`` and not confirmed by the
        provider yet (its create may have happened), if any."""
        mine = batch.intent_at if batch.intent == "create" and batch.intent_at else None
        query = select(batches.c.id).where(
            batches.c.profile_id == batch.profile_id, batches.c.id != batch.id,
            batches.c.state == B.UPLOADING.value, batches.c.intent == "create")
        if mine is not None:
            query = query.where((batches.c.intent_at < mine) | (
                (batches.c.intent_at == mine) & (batches.c.id < batch.id)))
        with self.db.read() as conn:
            return conn.scalar(query.order_by(batches.c.intent_at, batches.c.id).limit(1))

    def set_fields(self, batch_id: int, **fields: Any) -> None:
        with self.db.write() as conn:
            conn.execute(update(batches).where(batches.c.id == batch_id)
                         .values(**masked_fields(fields)))

    def move(self, batch_id: int, src: BatchState, dst: BatchState, reason: str,
             **fields: Any) -> None:
        with self.db.write() as conn:
            move_batch(conn, batch_id, src, dst, reason, **fields)

    def send_number(self, batch_id: int) -> int:
        """Which send of the batch this is (1 for the first): its moves into ``uploading``."""
        with self.db.read() as conn:
            return int(conn.scalar(
                select(func.count()).select_from(batch_transitions).where(
                    batch_transitions.c.batch_id == batch_id,
                    batch_transitions.c.to_state == B.UPLOADING.value)) or 0)

    def mark_sent(self, batch_id: int, src: BatchState, dst: BatchState, remote_id: str,
                  reason: str, **fields: Any) -> int:
        """The provider created the batch: move its pending prompts along, then record it.

        Prompts first (in short transactions), the batch last: after a crash in between, the
        batch is still ``uploading``, is found again at the provider, and this runs again for
        the prompts not moved yet. Returns how many prompts were sent.
        """
        sent = move_prompts_in_chunks(
            self.db, "batch_id = :b", {"b": batch_id}, P.PROCESSING,
            f"sent in provider batch {remote_id}", from_states=[P.PENDING],
            set_sql="attempts = attempts + 1", while_batch=(batch_id, src))
        with self.db.write() as conn:
            move_batch(conn, batch_id, src, dst, reason, provider_batch_id=remote_id,
                       intent=None, intent_at=None, problem=None, **fields)
        return sent

    def wait_for_token_room(self, batch_id: int, src: BatchState, reason: str, until: float,
                            waits: int) -> None:
        """``token_limit_exceeded``: the batch waits in ready_for_upload until ``until``.

        Its prompts never ran, so that send does not count against their attempts. Prompts
        first, the batch last: a crash in between leaves the batch as it was, to be seen failed
        again at the provider.
        """
        move_prompts_in_chunks(self.db, "batch_id = :b", {"b": batch_id}, P.PENDING,
                               "token limit: will resend", from_states=[P.PROCESSING],
                               set_sql="attempts = MAX(attempts - 1, 0)",
                               while_batch=(batch_id, src))
        with self.db.write() as conn:
            move_batch(conn, batch_id, src, B.READY_FOR_UPLOAD, reason, not_before=until,
                       wait_reason=reason, provider_batch_id=None, intent=None,
                       token_limit_attempts=waits)

    def fail(self, batch_id: int, src: BatchState, error: str) -> None:
        """The batch failed for good: its unfinished prompts fail with the same error."""
        error = mask(error)
        move_prompts_in_chunks(
            self.db, "batch_id = :b", {"b": batch_id, "e": f"batch failed: {error}"},
            P.FAILED, f"batch failed: {error}", from_states=[P.PENDING, P.PROCESSING],
            set_sql="error = :e, error_kind = 'batch_failed'", while_batch=(batch_id, src))
        with self.db.write() as conn:
            move_batch(conn, batch_id, src, B.FAILED, error, error=error, intent="cleanup",
                       not_before=None, problem=None)

    def cancel_unsent(self, batch_id: int, src: BatchState, reason: str) -> None:
        """Cancel a batch the provider never got; its prompts are cancelled with it.

        Cleanup follows: a batch file may be on disk, an input file at the provider.
        """
        with self.db.write() as conn:
            move_batch(conn, batch_id, src, B.CANCELLED, reason, intent="cleanup",
                       not_before=None, wait_reason=None, problem=None)
            move_prompts(conn, "batch_id = :b", {"b": batch_id}, P.CANCELLED,
                         "batch cancelled by the user", from_states=[P.PENDING])
