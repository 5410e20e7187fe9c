"""The workspace's repository: every read and write the upper layers make goes through here.

Methods return frozen dataclasses from :mod:`batcher_gui.domain.models`; state changes go through
the transition tables in :mod:`batcher_gui.domain.states` and write audit rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from batcher_gui.domain.errors import BatcherError, NotFound
from batcher_gui.domain.models import Batch, Profile, ProfileKind, ProfileLimits, Run
from batcher_gui.domain.states import BatchState, check_batch_transition
from batcher_gui.storage.convert import batch_from_row, profile_from_row, run_from_row
from batcher_gui.storage.db import Database
from batcher_gui.storage.import_writer import ImportWriter
from batcher_gui.storage.tables import batch_transitions, batches, profiles, prompts, runs, settings

#: Columns an export row carries (see :meth:`Store.iter_run_prompts`).
EXPORT_COLUMNS = (
    "id", "user_custom_id", "line_no", "state", "endpoint", "model", "body", "response", "error",
    "input_tokens", "output_tokens", "attempts",
)


@dataclass(frozen=True, slots=True)
class RunStatus:
    """Prompt counts of one run, by state."""

    run: Run
    prompts_by_state: dict[str, int]


@dataclass(frozen=True, slots=True)
class WorkspaceStatus:
    """Counts of prompts (per run) and batches, by state."""

    runs: list[RunStatus]
    batches_by_state: dict[str, int]


class Store:
    """Reads and writes one workspace database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- settings --------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.db.read() as conn:
            raw = conn.scalar(select(settings.c.value).where(settings.c.key == key))
        return default if raw is None else orjson.loads(raw)

    def set_setting(self, key: str, value: Any) -> None:
        with self.db.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, orjson.dumps(value).decode()),
            )

    # -- profiles --------------------------------------------------------------------------
    def list_profiles(self) -> list[Profile]:
        with self.db.read() as conn:
            return [profile_from_row(r) for r in conn.execute(select(profiles).order_by("id"))]

    def get_profile(self, name: str) -> Profile:
        with self.db.read() as conn:
            row = conn.execute(select(profiles).where(profiles.c.name == name)).first()
        if row is None:
            known = ", ".join(p.name for p in self.list_profiles())
            raise NotFound(f"no provider profile named {name!r} (profiles: {known})")
        return profile_from_row(row)

    def get_profile_by_id(self, profile_id: int) -> Profile:
        with self.db.read() as conn:
            row = conn.execute(select(profiles).where(profiles.c.id == profile_id)).first()
        if row is None:
            raise NotFound(f"no provider profile with id {profile_id}")
        return profile_from_row(row)

    def add_profile(
        self,
        name: str,
        kind: ProfileKind,
        base_url: str | None = None,
        key_env: str | None = None,
        limits: ProfileLimits | None = None,
        options: dict[str, Any] | None = None,
    ) -> Profile:
        limits = limits or ProfileLimits()
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(profiles).values(
                        name=name, kind=kind.value, base_url=base_url, key_env=key_env,
                        max_requests=limits.max_requests, max_batch_bytes=limits.max_batch_bytes,
                        max_line_bytes=limits.max_line_bytes, created_at=time.time(),
                        options=orjson.dumps(options).decode() if options else None,
                    )
                )
        except IntegrityError as exc:
            raise BatcherError(f"a profile named {name!r} already exists") from exc
        return self.get_profile(name)

    def default_profile(self) -> Profile:
        return self.get_profile(str(self.get_setting("default_profile", "openai")))

    # -- runs ------------------------------------------------------------------------------
    def list_runs(self) -> list[Run]:
        with self.db.read() as conn:
            return [run_from_row(r) for r in conn.execute(select(runs).order_by(runs.c.id))]

    def find_run(self, ref: str) -> Run:
        """A run by id (``3``) or name. Raises NotFound listing what exists."""
        with self.db.read() as conn:
            row = conn.execute(select(runs).where(runs.c.name == ref)).first()
            if row is None and ref.isdigit():
                row = conn.execute(select(runs).where(runs.c.id == int(ref))).first()
        if row is None:
            names = [r.name for r in self.list_runs()]
            hint = f"runs: {', '.join(names[-10:])}" if names else "the workspace has no runs yet"
            raise NotFound(f"no run named or numbered {ref!r} ({hint})")
        return run_from_row(row)

    def _unique_run_name(self, conn: Connection, wanted: str) -> str:
        taken = {
            n for (n,) in conn.execute(select(runs.c.name).where(runs.c.name.like(f"{wanted}%")))
        }
        if wanted not in taken:
            return wanted
        n = 2
        while f"{wanted} ({n})" in taken:
            n += 1
        return f"{wanted} ({n})"

    @contextmanager
    def importing(
        self,
        name: str,
        source_path: str | None,
        source_format: str,
        profile: Profile,
        options: dict[str, Any] | None = None,
        *,
        exact_name: bool = False,
        expected_rows: int = 0,
    ) -> Iterator[ImportWriter]:
        """Open a write transaction with a new run in it, for bulk-adding prompts.

        Everything (run, prompts, drafts) is committed when the block ends normally and rolled
        back when it raises: an import is atomic.

        Args:
            exact_name: refuse a taken name instead of adding " (2)".
            expected_rows: about how many prompts are coming (lets a big import into a small
                workspace rebuild the prompt indexes once instead of updating them per row).
        """
        # The writer creates the run and drafts its rows point at, in this same transaction.
        with self.db.write(foreign_keys=False) as conn:
            final = self._unique_run_name(conn, name)
            if exact_name and final != name:
                raise BatcherError(f"a run named {name!r} already exists; choose another --name")
            now = time.time()
            inserted = conn.execute(
                insert(runs).values(
                    name=final, source_path=source_path, source_format=source_format,
                    profile_id=profile.id, created_at=now,
                    options=orjson.dumps(options).decode() if options else None,
                )
            ).inserted_primary_key
            assert inserted is not None
            run_id = int(inserted[0])
            run = Run(run_id, final, source_path, source_format, profile.id, now, 0)
            yield ImportWriter(conn, run, profile, expected_rows)

    # -- batches ---------------------------------------------------------------------------
    def list_batches(self, states: list[BatchState] | None = None) -> list[Batch]:
        query = select(batches).order_by(batches.c.id)
        if states:
            query = query.where(batches.c.state.in_([s.value for s in states]))
        with self.db.read() as conn:
            return [batch_from_row(r) for r in conn.execute(query)]

    def get_batch(self, batch_id: int) -> Batch:
        with self.db.read() as conn:
            row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
        if row is None:
            raise NotFound(f"no batch with id {batch_id}")
        return batch_from_row(row)

    def set_batch_state(
        self,
        conn: Connection,
        batch_id: int,
        from_state: BatchState,
        to_state: BatchState,
        reason: str,
        **fields: Any,
    ) -> None:
        """Move one batch along an allowed edge and audit it, inside ``conn``'s transaction.

        The update is conditional on the batch still being in ``from_state``, so two writers can
        never both move it.
        """
        check_batch_transition(batch_id, from_state, to_state)
        now = time.time()
        result = conn.execute(
            update(batches)
            .where(batches.c.id == batch_id, batches.c.state == from_state.value)
            .values(state=to_state.value, updated_at=now, **fields)
        )
        if result.rowcount != 1:
            raise BatcherError(f"batch {batch_id} is no longer {from_state.value}")
        conn.execute(
            insert(batch_transitions).values(
                batch_id=batch_id, from_state=from_state.value, to_state=to_state.value,
                at=now, reason=reason,
            )
        )

    def seal_drafts(
        self, batch_ids: list[int] | None = None, *, quiet_before: float | None = None,
        reason: str = "sealed on request",
    ) -> list[int]:
        """Seal drafts (all, the given ones, or those untouched since ``quiet_before``)."""
        query = select(batches.c.id).where(
            batches.c.state == BatchState.DRAFT.value, batches.c.request_count > 0
        )
        if batch_ids is not None:
            query = query.where(batches.c.id.in_(batch_ids))
        if quiet_before is not None:
            query = query.where(batches.c.updated_at <= quiet_before)
        sealed: list[int] = []
        with self.db.write() as conn:
            now = time.time()
            for (batch_id,) in conn.execute(query).all():
                self.set_batch_state(
                    conn, batch_id, BatchState.DRAFT, BatchState.READY_FOR_UPLOAD, reason,
                    sealed_at=now,
                )
                sealed.append(batch_id)
        return sealed

    def batch_transitions(self, batch_id: int) -> list[tuple[str | None, str, float, str | None]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(batch_transitions.c.from_state, batch_transitions.c.to_state,
                       batch_transitions.c.at, batch_transitions.c.reason)
                .where(batch_transitions.c.batch_id == batch_id)
                .order_by(batch_transitions.c.id)
            )
            return [(r[0], r[1], r[2], r[3]) for r in rows]

    # -- status and export -----------------------------------------------------------------
    def status(self) -> WorkspaceStatus:
        with self.db.read() as conn:
            run_rows = {r.id: run_from_row(r) for r in conn.execute(select(runs).order_by("id"))}
            counts: dict[int, dict[str, int]] = {rid: {} for rid in run_rows}
            for run_id, state, n in conn.execute(
                select(prompts.c.run_id, prompts.c.state, func.count())
                .group_by(prompts.c.run_id, prompts.c.state)
            ):
                counts[run_id][state] = n
            by_batch_state = {
                state: n
                for state, n in conn.execute(
                    select(batches.c.state, func.count()).group_by(batches.c.state)
                )
            }
        return WorkspaceStatus(
            runs=[RunStatus(run_rows[rid], counts[rid]) for rid in run_rows],
            batches_by_state=by_batch_state,
        )

    def usage_by_run(self) -> dict[int, list[tuple[str, int, int]]]:
        """Token totals per run and model (for cost)."""
        out: dict[int, list[tuple[str, int, int]]] = {}
        with self.db.read() as conn:
            for run_id, model, tin, tout in conn.exec_driver_sql(
                "SELECT run_id, model, sum(input_tokens), sum(output_tokens) FROM prompts "
                "WHERE input_tokens IS NOT NULL OR output_tokens IS NOT NULL "
                "GROUP BY run_id, model"
            ):
                out.setdefault(run_id, []).append((model, tin or 0, tout or 0))
        return out

    def iter_run_prompts(self, run_id: int, chunk: int = 2000) -> Iterator[Sequence[Any]]:
        """Chunks of a run's prompts in import order (keyset paging: constant memory).

        Walks the primary key: a run's prompts have consecutive ids (one import, one
        transaction), so each page is a short range scan. The unary ``+`` keeps SQLite from
        choosing the (run_id, state) index instead, which would re-read and sort the whole run
        for every page.
        """
        sql = (f"SELECT {', '.join(EXPORT_COLUMNS)} FROM prompts "
               "WHERE id > ? AND +run_id = ? ORDER BY id LIMIT ?")
        with self.db.read() as conn:
            first = conn.exec_driver_sql(
                "SELECT min(id) FROM prompts WHERE run_id = ?", (run_id,)).scalar()
        after = (first or 1) - 1
        while True:
            with self.db.read() as conn:
                rows = conn.exec_driver_sql(sql, (after, run_id, chunk)).all()
            if not rows:
                return
            after = rows[-1].id
            yield rows
