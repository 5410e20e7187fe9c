"""The engine's reads and writes: sealing, batch files, remote bookkeeping, results, leases.

Every remote call is bracketed: the engine records its *intent* here before calling the provider
and the *outcome* after, so a crash between the two can be resolved on the next start.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.models import Batch, provider_custom_id
from batcher_gui.domain.packing import DraftPacker, OpenDraft
from batcher_gui.domain.states import (
    BATCH_TERMINAL,
    BatchState,
    PromptState,
    check_batch_transition,
)
from batcher_gui.storage.convert import batch_from_row
from batcher_gui.storage.prompt_moves import move_prompts
from batcher_gui.storage.store import Store
from batcher_gui.storage.tables import batch_transitions, batches, engine_lease, profiles

B, P = BatchState, PromptState


def _new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lifecycle:
    """Engine-side operations on one workspace."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db
        self.holder = _new_holder()

    # -- lease -----------------------------------------------------------------------------
    def acquire_lease(self, ttl: float) -> bool:
        """Take or renew the right to drive this workspace; False if another engine has it.

        A lease whose holder is a dead process on this machine is taken over at once, so a
        killed engine does not block its restart for a whole TTL.
        """
        now = time.time()
        with self.db.write() as conn:
            row = conn.execute(select(engine_lease).where(engine_lease.c.id == 1)).first()
            if (row is not None and row.holder != self.holder and row.expires_at > now
                    and not self._holder_is_dead(row.holder, row.pid)):
                return False
            values = {"holder": self.holder, "pid": os.getpid(), "expires_at": now + ttl}
            if row is None:
                conn.execute(insert(engine_lease).values(id=1, **values))
            else:
                conn.execute(update(engine_lease).where(engine_lease.c.id == 1).values(**values))
        return True

    @staticmethod
    def _holder_is_dead(holder: str, pid: int) -> bool:
        host = holder.split(":", 1)[0]
        if host != socket.gethostname():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def release_lease(self) -> None:
        with self.db.write() as conn:
            conn.execute(engine_lease.delete().where(engine_lease.c.holder == self.holder))

    def lease_holder(self) -> str | None:
        with self.db.read() as conn:
            row = conn.execute(select(engine_lease)).first()
        return row.holder if row is not None and row.expires_at > time.time() else None

    # -- batches to drive --------------------------------------------------------------------
    def batches_in(self, states: Iterable[BatchState]) -> list[Batch]:
        return self.store.list_batches(list(states))

    def cleanup_candidates(self) -> list[Batch]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(batches).where(
                    batches.c.state.in_([s.value for s in BATCH_TERMINAL]),
                    batches.c.intent == "cleanup",
                )
            )
            return [batch_from_row(r) for r in rows]

    def set_fields(self, batch_id: int, **fields: Any) -> None:
        with self.db.write() as conn:
            conn.execute(update(batches).where(batches.c.id == batch_id).values(**fields))

    def move(self, batch_id: int, src: BatchState, dst: BatchState, reason: str,
             **fields: Any) -> None:
        with self.db.write() as conn:
            self.store.set_batch_state(conn, batch_id, src, dst, reason, **fields)

    # -- drafts --------------------------------------------------------------------------------
    def rebatch_orphans(self) -> list[int]:
        """Put pending prompts that have no batch (retries) into new drafts and seal them."""
        sealed: list[int] = []
        with self.db.write() as conn:
            groups = conn.exec_driver_sql(
                "SELECT r.profile_id, p.endpoint, p.model FROM prompts p JOIN runs r "
                "ON r.id = p.run_id WHERE p.batch_id IS NULL AND p.state = 'pending' "
                "GROUP BY r.profile_id, p.endpoint, p.model"
            ).all()
            for profile_id, endpoint, model in groups:
                sealed += self._pack_group(conn, profile_id, endpoint, model)
        return sealed

    def _pack_group(self, conn: Connection, profile_id: int, endpoint: str,
                    model: str) -> list[int]:
        limits = self.store.get_profile_by_id(profile_id).limits
        now = time.time()
        created: list[int] = []

        def new_batch(_key: tuple[str, str]) -> int:
            check_batch_transition("new", None, B.DRAFT)
            key = conn.execute(insert(batches).values(
                uuid=str(uuid.uuid4()), profile_id=profile_id, endpoint=endpoint, model=model,
                state=B.DRAFT.value, created_at=now, updated_at=now,
            )).inserted_primary_key
            assert key is not None
            batch_id = key[0]
            conn.execute(insert(batch_transitions).values(
                batch_id=batch_id, from_state=None, to_state=B.DRAFT.value, at=now,
                reason="created for prompts to retry"))
            created.append(batch_id)
            return int(batch_id)

        packer = DraftPacker(limits, list[OpenDraft](), new_batch)
        rows = conn.exec_driver_sql(
            "SELECT p.id, p.request_bytes FROM prompts p JOIN runs r ON r.id = p.run_id "
            "WHERE p.batch_id IS NULL AND p.state = 'pending' AND r.profile_id = ? "
            "AND p.endpoint = ? AND p.model = ? ORDER BY p.id", (profile_id, endpoint, model)
        ).all()
        assignments = [(packer.place((endpoint, model), nbytes), pid) for pid, nbytes in rows]
        conn.exec_driver_sql("UPDATE prompts SET batch_id = ? WHERE id = ?", assignments)
        for draft in packer.touched:
            conn.execute(update(batches).where(batches.c.id == draft.batch_id).values(
                request_count=draft.count, bytes=draft.bytes))
            self.store.set_batch_state(conn, draft.batch_id, B.DRAFT, B.READY_FOR_UPLOAD,
                                       "sealed at once: prompts to retry", sealed_at=now)
        return created

    def drafts_to_seal(self, quiet_seconds: float) -> list[int]:
        """Drafts that are full, or have not grown for ``quiet_seconds``."""
        cutoff = time.time() - quiet_seconds
        with self.db.read() as conn:
            rows = conn.execute(
                select(batches.c.id, batches.c.request_count, batches.c.bytes,
                       batches.c.updated_at, profiles.c.max_requests, profiles.c.max_batch_bytes)
                .join(profiles, profiles.c.id == batches.c.profile_id)
                .where(batches.c.state == B.DRAFT.value, batches.c.request_count > 0)
            ).all()
        return [
            r.id for r in rows
            if r.updated_at <= cutoff or r.request_count >= r.max_requests
            or r.bytes >= r.max_batch_bytes * 0.99
        ]

    # -- submit ----------------------------------------------------------------------------
    def write_batch_file(self, batch: Batch, folder: Path) -> tuple[Path, int]:
        """Write the batch's pending prompts as provider JSONL; returns (path, line count).

        Written to a temp name and renamed, so a crash never leaves a half file under the final
        name. Lines carry Batcher's own custom_ids (``p<prompt id>``).
        """
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"batch-{batch.uuid}.jsonl"
        tmp = path.with_suffix(".jsonl.part")
        count = 0
        head = b'"method":"POST","url":' + orjson.dumps(batch.endpoint) + b',"body":'
        with tmp.open("wb") as fh:
            after = 0
            while True:
                with self.db.read() as conn:
                    rows = conn.exec_driver_sql(
                        "SELECT id, body FROM prompts WHERE batch_id = ? AND state = 'pending' "
                        "AND id > ? ORDER BY id LIMIT 5000", (batch.id, after)).all()
                if not rows:
                    break
                fh.write(b"".join(
                    b'{"custom_id":"' + provider_custom_id(pid).encode() + b'",' + head + body
                    + b"}\n" for pid, body in rows))
                count += len(rows)
                after = rows[-1][0]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path, count

    def send_number(self, batch_id: int) -> int:
        """Which send of the batch this is (1 for the first): its moves into ``uploading``."""
        with self.db.read() as conn:
            return int(conn.exec_driver_sql(
                "SELECT count(*) FROM batch_transitions WHERE batch_id = ? AND to_state = ?",
                (batch_id, B.UPLOADING.value)).scalar() or 0)

    def mark_sent(self, batch_id: int, src: BatchState, dst: BatchState, remote_id: str,
                  reason: str, **fields: Any) -> None:
        """The provider created the batch: record it and move its pending prompts along."""
        with self.db.write() as conn:
            self.store.set_batch_state(conn, batch_id, src, dst, reason,
                                       provider_batch_id=remote_id, intent=None, intent_at=None,
                                       **fields)
            move_prompts(conn, "batch_id = :b", {"b": batch_id}, P.PROCESSING,
                         f"sent in provider batch {remote_id}", from_states=[P.PENDING],
                         set_sql="attempts = attempts + 1")

    def prompts_back_to_pending(self, batch_id: int, reason: str, *, keep_batch: bool) -> int:
        """Processing prompts of a batch go back to pending (same batch, or a new one)."""
        with self.db.write() as conn:
            return move_prompts(conn, "batch_id = :b", {"b": batch_id}, P.PENDING, reason,
                                from_states=[P.PROCESSING],
                                set_sql="" if keep_batch else "batch_id = NULL")

    def wait_for_token_room(self, batch_id: int, src: BatchState, reason: str, until: float,
                            waits: int) -> None:
        """``token_limit_exceeded``: the batch waits in ready_for_upload until ``until``.

        Its prompts never ran, so that send does not count against their attempts. One
        transaction: a crash cannot leave pending prompts in a batch still marked as sent.
        """
        with self.db.write() as conn:
            move_prompts(conn, "batch_id = :b", {"b": batch_id}, P.PENDING,
                         "token limit: will resend", from_states=[P.PROCESSING],
                         set_sql="attempts = MAX(attempts - 1, 0)")
            self.store.set_batch_state(conn, batch_id, src, B.READY_FOR_UPLOAD, reason,
                                       not_before=until, wait_reason=reason,
                                       provider_batch_id=None, intent=None,
                                       token_limit_attempts=waits)

    def fail_batch(self, batch_id: int, src: BatchState, error: str) -> None:
        """The batch failed for good: its unfinished prompts fail with the same error."""
        with self.db.write() as conn:
            self.store.set_batch_state(conn, batch_id, src, B.FAILED, error, error=error,
                                       intent="cleanup", not_before=None)
            move_prompts(conn, "batch_id = :b", {"b": batch_id, "e": f"batch failed: {error}"},
                         P.FAILED, f"batch failed: {error}",
                         from_states=[P.PENDING, P.PROCESSING], set_sql="error = :e")


    # -- user commands ---------------------------------------------------------------------
    def request_cancel(self, batch_id: int) -> str:
        """Cancel a batch: at once if it never left the machine, else ask the engine to.

        Returns what happened, for the user. Raises BatcherError when it cannot be cancelled.
        """
        batch = self.store.get_batch(batch_id)
        if batch.state in (B.DRAFT, B.READY_FOR_UPLOAD):
            self.cancel_unsent(batch_id, batch.state, "cancelled by the user")
            return f"batch {batch_id} cancelled"
        if batch.state in (B.UPLOADING, B.VALIDATING, B.IN_PROGRESS, B.FINALIZING):
            self.set_fields(batch_id, cancel_requested_at=time.time())
            return (f"cancel requested for batch {batch_id}; results finished so far will be "
                    "kept once the provider confirms")
        raise BatcherError(f"batch {batch_id} is {batch.state.value}: too late to cancel")

    def cancel_unsent(self, batch_id: int, src: BatchState, reason: str) -> None:
        """Cancel a batch the provider never got; its prompts are cancelled with it.

        Cleanup follows: a batch file may be on disk, an input file at the provider.
        """
        with self.db.write() as conn:
            self.store.set_batch_state(conn, batch_id, src, B.CANCELLED, reason,
                                       intent="cleanup", not_before=None, wait_reason=None)
            move_prompts(conn, "batch_id = :b", {"b": batch_id}, P.CANCELLED,
                         "batch cancelled by the user", from_states=[P.PENDING])

    def restart_batch(self, batch_id: int) -> None:
        """A failed batch goes back into the queue with its prompts (fresh upload).

        Refused while the failed send's provider files are still to be deleted: a restart would
        forget them (a leak) and might pick up the old input file.
        """
        if self.store.get_batch(batch_id).intent == "cleanup":
            raise BatcherError(
                f"batch {batch_id} is still deleting its files at the provider; run "
                "`batcher sync` (or wait for the open window), then restart it"
            )
        with self.db.write() as conn:
            self.store.set_batch_state(
                conn, batch_id, B.FAILED, B.READY_FOR_UPLOAD, "restarted by the user",
                error=None, intent=None, intent_at=None, provider_batch_id=None,
                input_file_id=None, output_file_id=None, error_file_id=None,
                provider_status=None, not_before=None, wait_reason=None,
                token_limit_attempts=0, cancel_requested_at=None)
            move_prompts(conn, "batch_id = :b", {"b": batch_id}, P.PENDING,
                         "batch restarted by the user", from_states=[P.FAILED],
                         set_sql="error = NULL, attempts = 0")

    def retry_prompts(self, run_id: int | None, states: Iterable[PromptState]) -> int:
        """Failed/expired/cancelled prompts go back to pending, into new batches."""
        where, params = ("run_id = :r", {"r": run_id}) if run_id is not None else ("1", {})
        with self.db.write() as conn:
            return move_prompts(conn, where, params, P.PENDING, "retried by the user",
                                from_states=list(states),
                                set_sql="batch_id = NULL, error = NULL, attempts = 0")
