"""What the user asks of batches and runs: cancel, restart, retry, delete."""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import func, select, update

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.outcomes import BatchCancel, CancelKind, CancelOutcome, RetryOutcome
from batcher_gui.domain.progress import GROUP_STATES, RESTARTABLE, StateGroup, may_restart
from batcher_gui.domain.states import BATCH_TERMINAL, BatchState, PromptState
from batcher_gui.storage.db import Database
from batcher_gui.storage.import_session import DELETING, READY, remove_run_rows
from batcher_gui.storage.moves import move_batch, move_prompts
from batcher_gui.storage.rows import batch_from_row
from batcher_gui.storage.tables import batches, prompts, runs

B, P = BatchState, PromptState
#: Batches the provider has (or may have): cancelling them needs the provider.
_REMOTE = (B.UPLOADING, B.VALIDATING, B.IN_PROGRESS, B.FINALIZING)


class UserActions:
    """Writes the user asks for (each refuses what the states do not allow, saying why)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def request_cancel(self, batch_id: int) -> BatchCancel:
        """Cancel a batch: at once if it never left the machine, else ask the engine to.

        Returns what was done, with the prompts cancelled at once or still waiting for the
        provider. Raises BatcherError when it cannot be cancelled.
        """
        with self.db.write() as conn:
            row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
            if row is None:
                raise BatcherError(f"no batch #{batch_id} (`batcher batches` lists them)")
            batch = batch_from_row(row)
            if batch.state in (B.DRAFT, B.READY_FOR_UPLOAD):
                move_batch(conn, batch_id, batch.state, B.CANCELLED, "cancelled by the user",
                           intent="cleanup", not_before=None, wait_reason=None)
                cancelled = move_prompts(conn, "batch_id = :b", {"b": batch_id}, P.CANCELLED,
                                         "batch cancelled by the user", from_states=[P.PENDING])
                return BatchCancel(batch_id, CancelKind.CANCELLED, batch.state, cancelled)
            if batch.state in _REMOTE:
                conn.execute(update(batches).where(batches.c.id == batch_id)
                             .values(cancel_requested_at=time.time()))
                waiting = conn.scalar(select(func.count()).select_from(prompts).where(
                    prompts.c.batch_id == batch_id,
                    prompts.c.state.in_([P.PENDING.value, P.PROCESSING.value])))
                return BatchCancel(batch_id, CancelKind.REQUESTED, batch.state,
                                   int(waiting or 0))
        raise BatcherError(f"batch #{batch_id} is {batch.state.value}: too late to cancel")

    def cancel_run(self, run_id: int) -> CancelOutcome:
        """Cancel every batch of a run that has not ended; returns what was done to each
        (nothing: every batch had ended, or was already asked to stop)."""
        with self.db.read() as conn:
            ids = list(conn.scalars(select(batches.c.id).where(
                batches.c.run_id == run_id,
                batches.c.state.in_([s.value for s in (B.DRAFT, B.READY_FOR_UPLOAD, *_REMOTE)]),
                batches.c.cancel_requested_at.is_(None))))
        return CancelOutcome(tuple(self.request_cancel(batch_id) for batch_id in ids))

    def restart_batch(self, batch_id: int) -> int:
        """A failed batch goes back into the queue with its prompts (fresh upload).

        Returns how many prompts it will send. Refused for a batch that may not be restarted
        (:func:`~batcher_gui.domain.progress.may_restart`), and while the failed send's
        provider files are still to be deleted: a restart would forget them (a leak).
        """
        with self.db.write() as conn:
            row = conn.execute(select(batches.c.state, batches.c.intent)
                               .where(batches.c.id == batch_id)).first()
            if row is None:
                raise BatcherError(f"no batch #{batch_id} (`batcher batches` lists them)")
            state = B(row.state)
            if not may_restart(state):
                raise BatcherError(f"batch #{batch_id} is {state.value}: only a failed batch "
                                   "can be restarted")
            if row.intent == "cleanup":
                raise BatcherError(
                    f"batch #{batch_id} is still deleting its files at the provider; run "
                    "`batcher sync` (or wait for the open window), then restart it")
            move_batch(conn, batch_id, state, B.READY_FOR_UPLOAD, "restarted by the user",
                       error=None, intent=None, intent_at=None, provider_batch_id=None,
                       input_file_id=None, output_file_id=None, error_file_id=None,
                       provider_status=None, not_before=None, wait_reason=None, problem=None,
                       token_limit_attempts=0, cancel_requested_at=None)
            return move_prompts(conn, "batch_id = :b AND delivery_error IS NULL",
                                {"b": batch_id}, P.PENDING, "batch restarted by the user",
                                from_states=[P.FAILED],
                                set_sql="error = NULL, error_kind = NULL, attempt_base = attempts")

    def retry(self, run_id: int | None, *, prompts_too: bool) -> RetryOutcome:
        """Restart failed batches (of a run, or all); with ``prompts_too`` also send failed and
        expired prompts again in new batches. Failed *deliveries* are left alone: their result
        is here, and sending the prompt again would be paid twice (``redeliver`` them)."""
        with self.db.read() as conn:
            query = select(batches.c.id).where(
                batches.c.state.in_([s.value for s in RESTARTABLE]))
            if run_id is not None:
                query = query.where(batches.c.run_id == run_id)
            failed = list(conn.scalars(query))
        in_restarted = sum(self.restart_batch(batch_id) for batch_id in failed)
        requeued = 0
        if prompts_too:
            requeued = self.retry_prompts(run_id, GROUP_STATES[StateGroup.FAILED])
        with self.db.read() as conn:
            query = select(func.count()).select_from(prompts).where(
                prompts.c.state == P.FAILED.value, prompts.c.delivery_error.is_not(None))
            if run_id is not None:
                query = query.where(prompts.c.run_id == run_id)
            left = int(conn.scalar(query) or 0)
        return RetryOutcome(len(failed), in_restarted, requeued, left)

    def retry_prompts(self, run_id: int | None, states: Iterable[PromptState]) -> int:
        """Failed/expired/cancelled prompts go back to pending, into new batches."""
        where = "delivery_error IS NULL"
        params: dict[str, object] = {}
        if run_id is not None:
            where += " AND run_id = :r"
            params["r"] = run_id
        with self.db.write() as conn:
            return move_prompts(conn, where, params, P.PENDING, "retried by the user",
                                from_states=list(states),
                                set_sql="batch_id = NULL, error = NULL, error_kind = NULL, "
                                "attempt_base = attempts")

    def delete_run(self, run_id: int) -> tuple[int, tuple[int, ...]]:
        """Delete a run, its prompts, results and batches; returns (prompts, batch ids) that
        went with it.

        Refused while one of its batches is at the provider (cancel it first) or still has
        provider files to delete. Drafts and batches waiting to be sent are cancelled in the
        same transaction that hides the run, so the engine cannot start sending them.
        """
        with self.db.write() as conn:
            rows = conn.execute(select(batches.c.id, batches.c.state, batches.c.intent)
                                .where(batches.c.run_id == run_id)).all()
            busy = [r.id for r in rows if B(r.state) in (*_REMOTE, B.DOWNLOADING)
                    or (B(r.state) is B.READY_FOR_UPLOAD and r.intent is not None)]
            if busy:
                which = (f"batch #{busy[0]} of this run is" if len(busy) == 1 else
                         f"batches {', '.join(f'#{b}' for b in busy)} of this run are")
                raise BatcherError(f"{which} at the provider: cancel the run first, and delete "
                                   "it once nothing of it is at the provider any more")
            if any(r.intent == "cleanup" and B(r.state) in BATCH_TERMINAL for r in rows):
                raise BatcherError("this run's provider files are still being deleted; try "
                                   "again in a minute (the engine must be running)")
            for r in rows:
                if B(r.state) in (B.DRAFT, B.READY_FOR_UPLOAD):
                    move_batch(conn, r.id, B(r.state), B.CANCELLED, "run deleted")
            prompt_count = conn.scalar(select(runs.c.prompt_count).where(
                runs.c.id == run_id, runs.c.status == READY))
            hidden = conn.execute(update(runs).where(runs.c.id == run_id,
                                                     runs.c.status == READY)
                                  .values(status=DELETING)).rowcount
            if not hidden:
                raise BatcherError(f"no run #{run_id}")
        remove_run_rows(self.db, run_id)
        return int(prompt_count or 0), tuple(r.id for r in rows)
