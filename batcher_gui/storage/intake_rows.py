"""The intake API's rows: bearer tokens (hashes), and requests written into runs and drafts.

Requests posted to the intake API become prompts of an intake run (``source_format``
``'intake'``) in that run's draft batches, exactly as an import's do: one open draft per
(endpoint, model) within the profile's limits, a new one when it is full. The engine seals a
draft when it is full or has not grown for the workspace's ``auto_seal_quiet_seconds``.

A call's requests land in ONE write transaction: all of them or none (a bulk of 100,000 lines
included). Ids are handed out as max(id) + 1 under the import lock, the way an import hands
them out, so an intake never takes ids a running import has reserved.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.models import Profile
from batcher_gui.domain.packing import DraftPacker, GroupKey, LineSizer, OpenDraft
from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.storage.bulk import advance_sequence, insert_rows
from batcher_gui.storage.db import Database
from batcher_gui.storage.dialect import Dialect
from batcher_gui.storage.tables import batch_transitions, batches, intake_tokens, runs

INTAKE_FORMAT = "intake"
_DRAFT = BatchState.DRAFT.value
_PENDING = PromptState.PENDING.value
_PROMPT_COLUMNS = ("id", "run_id", "batch_id", "line_no", "user_custom_id", "endpoint", "model",
                   "state", "request_bytes", "body", "updated_at")
_TAKEN_COLUMNS = ("custom_id", "prompt_id", "created_at", "token_id")
#: custom_ids looked up per query when checking for duplicates (well under both databases'
#: parameter limits).
_LOOKUP_CHUNK = 500

#: One request to store: (custom_id, endpoint, model, body as JSON bytes).
Item = tuple[str, str, str, bytes]


class IntakeConflict(BatcherError):
    """The requests cannot go into the run they name (not an intake run, another profile,
    another delivery)."""


class DuplicateIds(BatcherError):
    """custom_ids already taken by an earlier intake request."""

    def __init__(self, custom_ids: list[str]) -> None:
        super().__init__(f"custom_id already exists: {', '.join(custom_ids[:5])}")
        self.custom_ids = custom_ids


#: One call's requests: (run name, profile, items, webhook or None, token id or None).
Group = tuple[str, Profile, Sequence[Item], str | None, int | None]


@dataclass(frozen=True, slots=True)
class StoredToken:
    id: int
    name: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class Landed:
    """Where a call's requests went."""

    run_id: int
    run_name: str
    count: int
    drafts: tuple[int, ...]
    #: a draft was filled up (the engine seals it at once when woken).
    full: bool


class IntakeRows:
    """Intake reads and writes on one workspace."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- tokens ----------------------------------------------------------------------------
    def add_token(self, name: str, token_hash: str) -> StoredToken:
        now = time.time()
        try:
            with self.db.write() as conn:
                key = conn.execute(insert(intake_tokens).values(
                    name=name, token_hash=token_hash, created_at=now)).inserted_primary_key
        except IntegrityError as exc:
            raise BatcherError(f"a token named {name!r} already exists (revoked ones keep "
                               "their name); choose another name") from exc
        assert key is not None
        return StoredToken(int(key[0]), name, now, None, None)

    def list_tokens(self) -> list[StoredToken]:
        with self.db.read() as conn:
            rows = conn.execute(select(intake_tokens).order_by(intake_tokens.c.id)).all()
        return [StoredToken(r.id, r.name, r.created_at, r.last_used_at, r.revoked_at)
                for r in rows]

    def revoke_token(self, name: str) -> StoredToken | None:
        """Revoke a token by name (again: no change); None if there is none."""
        with self.db.write() as conn:
            row = conn.execute(select(intake_tokens).where(intake_tokens.c.name == name)).first()
            if row is None:
                return None
            revoked = row.revoked_at or time.time()
            conn.execute(update(intake_tokens).where(intake_tokens.c.id == row.id)
                         .values(revoked_at=revoked))
        return StoredToken(row.id, row.name, row.created_at, row.last_used_at, revoked)

    def token_by_hash(self, token_hash: str) -> tuple[int, str, float | None] | None:
        """(id, stored hash, revoked_at) of the token with this hash, if any."""
        with self.db.read() as conn:
            row = conn.execute(select(intake_tokens.c.id, intake_tokens.c.token_hash,
                                      intake_tokens.c.revoked_at)
                               .where(intake_tokens.c.token_hash == token_hash)).first()
        return None if row is None else (row.id, row.token_hash, row.revoked_at)

    def touch_token(self, token_id: int, at: float) -> None:
        with self.db.write() as conn:
            conn.execute(update(intake_tokens).where(intake_tokens.c.id == token_id)
                         .values(last_used_at=at))

    # -- requests --------------------------------------------------------------------------
    def add_requests(self, run_name: str, profile: Profile, items: Sequence[Item],
                     webhook: str | None, token_id: int | None) -> Landed:
        """Store requests in the intake run ``run_name`` (made if new), all or none.

        Raises:
            DuplicateIds: some custom_ids are taken (nothing is written).
            IntakeConflict: the run cannot take them (nothing is written).
        """
        [landed] = self.add_groups([(run_name, profile, items, webhook, token_id)])
        if isinstance(landed, BatcherError):
            raise landed
        return landed

    def add_groups(self, groups: Sequence[Group]) -> list[Landed | BatcherError]:
        """Several calls' requests in ONE transaction (a group commit), each all or none:
        a group refused (its DuplicateIds or IntakeConflict in its place in the result)
        writes nothing and does not stop the others."""
        results: list[Landed | BatcherError] = []
        with self.db.import_lock(), self.db.write() as conn:
            writer = _Writer(conn, [item[0] for g in groups for item in g[2]],
                             self.db.dialect)
            for run_name, profile, items, webhook, token_id in groups:
                try:
                    results.append(writer.add(run_name, profile, items, webhook, token_id))
                except (DuplicateIds, IntakeConflict) as exc:
                    results.append(exc)
            writer.finish()
            for table in ("prompts", "batches"):
                advance_sequence(conn, self.db.dialect, table)
        return results

    def find(self, custom_id: str) -> dict[str, Any] | None:
        """What the intake API tells of one request (None: no such custom_id)."""
        with self.db.read() as conn:
            row = conn.exec_driver_sql(
                "SELECT ir.custom_id, ir.created_at, p.id, p.state, p.attempts, p.error, "
                "p.delivery_error, p.delivery_attempts, p.updated_at, p.endpoint, p.model, "
                "p.response, p.input_tokens, p.output_tokens, r.id, r.name, b.id, b.state, "
                "b.provider_batch_id FROM intake_requests ir "
                "JOIN prompts p ON p.id = ir.prompt_id JOIN runs r ON r.id = p.run_id "
                "LEFT JOIN batches b ON b.id = p.batch_id WHERE ir.custom_id = ?",
                (custom_id,)).first()
        if row is None:
            return None
        (cid, created, prompt_id, state, attempts, error, delivery_error, delivery_attempts,
         updated, endpoint, model, response, input_tokens, output_tokens, run_id, run_name,
         batch_id, batch_state, provider_batch_id) = row
        return {
            "custom_id": cid, "state": state, "created_at": created, "updated_at": updated,
            "attempts": attempts, "error": error, "delivery_error": delivery_error,
            "delivery_attempts": delivery_attempts, "url": endpoint, "model": model,
            "prompt_id": prompt_id, "run": {"id": run_id, "name": run_name},
            "batch": None if batch_id is None else {
                "id": batch_id, "state": batch_state, "provider_batch_id": provider_batch_id},
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
            "response": None if response is None else bytes(response),
        }


@dataclass(slots=True)
class _RunState:
    """An intake run as one transaction sees it (read once, however many calls join it)."""

    id: int
    profile_id: int
    delivery: tuple[str | None, str | None]
    usable: bool
    lines: int
    added: int = 0
    packer: DraftPacker | None = None


class _Writer:
    """One transaction's intake writes: the taken custom_ids, the next ids, each run and its
    open drafts are read once; the rows are written together by :meth:`finish`. A call is
    checked whole before any of it is placed, so a refused one leaves nothing behind."""

    def __init__(self, conn: Connection, custom_ids: list[str], dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect
        self.now = time.time()
        self.taken = set(self._taken(custom_ids))
        self.next_prompt = (conn.exec_driver_sql("SELECT max(id) FROM prompts").scalar()
                            or 0) + 1
        self.next_batch = (conn.exec_driver_sql("SELECT max(id) FROM batches").scalar()
                           or 0) + 1
        self.sizer = LineSizer(self.next_prompt)
        self.runs: dict[str, _RunState] = {}
        self.prompt_rows: list[tuple[Any, ...]] = []
        self.taken_rows: list[tuple[Any, ...]] = []
        self.touched: dict[int, OpenDraft] = {}

    def _taken(self, custom_ids: list[str]) -> list[str]:
        taken: list[str] = []
        for start in range(0, len(custom_ids), _LOOKUP_CHUNK):
            chunk = custom_ids[start:start + _LOOKUP_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            taken += self.conn.exec_driver_sql(
                f"SELECT custom_id FROM intake_requests WHERE custom_id IN ({marks})",
                tuple(chunk)).scalars().all()
        return taken

    def add(self, run_name: str, profile: Profile, items: Sequence[Item], webhook: str | None,
            token_id: int | None) -> Landed:
        dups = [item[0] for item in items if item[0] in self.taken]
        if dups:
            raise DuplicateIds(dups)
        run = self._run(run_name, profile, webhook)
        if run.packer is None:
            run.packer = DraftPacker(profile.limits, self._open_drafts(run.id),
                                     lambda key: self._new_draft(run.id, profile, key))
        place = run.packer.add
        size = self.sizer.size
        max_requests = profile.limits.max_requests
        drafts: set[int] = set()
        full = False
        for custom_id, endpoint, model, body in items:
            prompt_id = self.next_prompt
            self.next_prompt += 1
            draft = place(endpoint, model, size(endpoint, body))
            drafts.add(draft.batch_id)
            self.touched[draft.batch_id] = draft
            full = full or draft.count >= max_requests
            run.added += 1
            self.prompt_rows.append((prompt_id, run.id, draft.batch_id, run.lines + run.added,
                                     custom_id, endpoint, model, _PENDING, len(body), body,
                                     self.now))
            self.taken_rows.append((custom_id, prompt_id, self.now, token_id))
            self.taken.add(custom_id)
        return Landed(run.id, run_name, len(items), tuple(sorted(drafts)), full)

    def _run(self, name: str, profile: Profile, webhook: str | None) -> _RunState:
        run = self.runs.get(name)
        if run is None:
            row = self.conn.execute(select(runs).where(runs.c.name == name)).first()
            if row is None:
                key = self.conn.execute(insert(runs).values(
                    name=name, source_format=INTAKE_FORMAT, profile_id=profile.id,
                    created_at=self.now, delivery_kind="webhook" if webhook else None,
                    delivery_target=webhook)).inserted_primary_key
                assert key is not None
                run = _RunState(int(key[0]), profile.id,
                                ("webhook" if webhook else None, webhook), True, 0)
            else:
                run = _RunState(int(row.id), int(row.profile_id),
                                (row.delivery_kind, row.delivery_target),
                                row.source_format == INTAKE_FORMAT and row.status == "ready",
                                int(row.prompt_count))
            self.runs[name] = run
        if not run.usable:
            raise IntakeConflict(f"run {name!r} was not made by the intake API; name another "
                                 "run (field 'run' or header X-Batcher-Run)")
        if run.profile_id != profile.id:
            raise IntakeConflict(f"run {name!r} sends with another profile than "
                                 f"{profile.name!r}; name another run for this profile")
        if webhook is not None and run.delivery != ("webhook", webhook):
            kind = run.delivery[0]
            where = ("delivers to another webhook" if kind == "webhook"
                     else "has no webhook delivery" if kind is None
                     else f"delivers to a {kind}")
            raise IntakeConflict(f"run {name!r} {where}: a run has one delivery for all its "
                                 "requests; name another run for this delivery_config")
        return run

    def _open_drafts(self, run_id: int) -> list[OpenDraft]:
        return [OpenDraft(r.id, (r.endpoint, r.model), r.request_count, r.bytes)
                for r in self.conn.execute(
                    select(batches.c.id, batches.c.endpoint, batches.c.model,
                           batches.c.request_count, batches.c.bytes)
                    .where(batches.c.run_id == run_id, batches.c.state == _DRAFT))]

    def _new_draft(self, run_id: int, profile: Profile, key: GroupKey) -> int:
        batch_id = self.next_batch
        self.next_batch += 1
        self.conn.execute(insert(batches).values(
            id=batch_id, uuid=str(uuid.uuid4()), profile_id=profile.id, endpoint=key[0],
            model=key[1], state=_DRAFT, created_at=self.now, updated_at=self.now,
            run_id=run_id))
        self.conn.execute(insert(batch_transitions).values(
            batch_id=batch_id, from_state=None, to_state=_DRAFT, at=self.now,
            reason="created by the intake API"))
        return batch_id

    def finish(self) -> None:
        if not self.prompt_rows:
            return
        conn = self.conn
        insert_rows(conn, self.dialect, "prompts", _PROMPT_COLUMNS, self.prompt_rows)
        insert_rows(conn, self.dialect, "intake_requests", _TAKEN_COLUMNS, self.taken_rows)
        for draft in self.touched.values():
            conn.execute(update(batches).where(batches.c.id == draft.batch_id).values(
                request_count=draft.count, bytes=draft.bytes, updated_at=self.now))
        for run in self.runs.values():
            if run.added:
                conn.execute(update(runs).where(runs.c.id == run.id)
                             .values(prompt_count=runs.c.prompt_count + run.added))
