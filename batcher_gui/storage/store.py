"""The workspace's repository: settings, profiles, runs and batches as dataclasses.

Methods are synchronous and short; the service and the engine call them from worker threads
(never on the event loop). Runs that an import is still writing (or a delete is removing) are
invisible here: every listing and lookup only sees runs whose status is ``ready``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from batcher_gui.domain.errors import AmbiguousReference, BatcherError, NotFound
from batcher_gui.domain.models import Batch, Profile, ProfileKind, ProfileLimits, Run
from batcher_gui.domain.progress import GROUP_STATES, StateGroup
from batcher_gui.domain.states import BATCH_IN_FLIGHT, BatchState, PromptState
from batcher_gui.storage.db import Database
from batcher_gui.storage.rows import batch_from_row, profile_from_row, run_from_row
from batcher_gui.storage.tables import batch_transitions, batches, profiles, prompts, runs, settings

#: Columns an export row carries (see :meth:`Store.iter_run_prompts`).
EXPORT_COLUMNS = (
    "id", "user_custom_id", "line_no", "state", "endpoint", "model", "body", "response", "error",
    "input_tokens", "output_tokens", "attempts", "delivery_error",
    # The reviewer's label by name (a primary-key lookup a row) and note.
    "(SELECT name FROM label_names WHERE key = label)", "note",
    # Added for checks on answers (1 passed, 0 failed, NULL not checked; the failing rule).
    "check_state", "check_detail",
)
READY = "ready"
_VISIBLE = runs.c.status == READY
#: A draft nobody has filled (yet): an import still writing its hidden run.
_SHOWN_BATCH = (batches.c.state != BatchState.DRAFT.value) | (batches.c.request_count > 0)


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

    # -- settings (raw JSON values; config.settings types and validates them) -----------------
    def raw_settings(self) -> dict[str, Any]:
        with self.db.read() as conn:
            return {k: orjson.loads(v) for k, v in conn.execute(select(settings))}

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

    def delete_setting(self, key: str) -> bool:
        with self.db.write() as conn:
            return bool(conn.execute(settings.delete().where(settings.c.key == key)).rowcount)

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

    def add_profile(self, name: str, kind: ProfileKind, base_url: str | None = None,
                    key_env: str | None = None, limits: ProfileLimits | None = None,
                    options: dict[str, Any] | None = None) -> Profile:
        limits = limits or ProfileLimits()
        try:
            with self.db.write() as conn:
                conn.execute(insert(profiles).values(
                    name=name, kind=kind.value, base_url=base_url, key_env=key_env,
                    max_requests=limits.max_requests, max_batch_bytes=limits.max_batch_bytes,
                    max_line_bytes=limits.max_line_bytes, created_at=time.time(),
                    options=orjson.dumps(options).decode() if options else None))
        except IntegrityError as exc:
            raise BatcherError(f"a profile named {name!r} already exists") from exc
        return self.get_profile(name)

    def update_profile(self, profile: Profile) -> Profile:
        """Store every field of ``profile`` (found by its id)."""
        try:
            with self.db.write() as conn:
                conn.execute(update(profiles).where(profiles.c.id == profile.id).values(
                    name=profile.name, kind=profile.kind.value, base_url=profile.base_url,
                    key_env=profile.key_env, max_requests=profile.limits.max_requests,
                    max_batch_bytes=profile.limits.max_batch_bytes,
                    max_line_bytes=profile.limits.max_line_bytes,
                    options=orjson.dumps(profile.options).decode() if profile.options else None))
        except IntegrityError as exc:
            raise BatcherError(f"a profile named {profile.name!r} already exists") from exc
        return self.get_profile_by_id(profile.id)

    def remove_profile(self, profile_id: int) -> None:
        """Delete a profile no run uses (its runs' batches would lose their provider)."""
        with self.db.write() as conn:
            used = conn.scalar(select(func.count()).select_from(runs)
                               .where(runs.c.profile_id == profile_id))
            if used:
                raise BatcherError(
                    f"{used} run(s) use this profile; delete them first (their results are "
                    "in the workspace until then)")
            conn.execute(profiles.delete().where(profiles.c.id == profile_id))

    def default_profile(self) -> Profile:
        return self.get_profile(str(self.get_setting("default_profile", "openai")))

    # -- runs ------------------------------------------------------------------------------
    def list_runs(self) -> list[Run]:
        with self.db.read() as conn:
            return [run_from_row(r) for r in
                    conn.execute(select(runs).where(_VISIBLE).order_by(runs.c.id))]

    def get_run(self, run_id: int) -> Run:
        with self.db.read() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id, _VISIBLE)).first()
        if row is None:
            raise NotFound(f"no run #{run_id} ({self._runs_hint()})")
        return run_from_row(row)

    def find_run(self, ref: int | str) -> Run:
        """A run by id (``7`` as int, or ``"#7"``) or by name.

        A bare number as text may be a name or an id: if it names one run and numbers another,
        that is refused as ambiguous instead of guessed.

        Raises:
            NotFound: listing the runs that exist.
            AmbiguousReference: ``"7"`` is both run #7 and the name of another run.
        """
        if isinstance(ref, int):
            return self.get_run(ref)
        text = ref.strip()
        if text.startswith("#") and text[1:].isdigit():
            return self.get_run(int(text[1:]))
        with self.db.read() as conn:
            by_name = conn.execute(select(runs).where(runs.c.name == text, _VISIBLE)).first()
            by_id = None
            if text.isdigit():
                by_id = conn.execute(
                    select(runs).where(runs.c.id == int(text), _VISIBLE)).first()
        if by_name is not None and by_id is not None and by_name.id != by_id.id:
            raise AmbiguousReference(
                f"{text!r} is both run #{by_id.id} ({by_id.name!r}) and the name of run "
                f"#{by_name.id}: write #{by_id.id} or #{by_name.id}")
        row = by_name if by_name is not None else by_id
        if row is None:
            raise NotFound(f"no run named or numbered {text!r} ({self._runs_hint()})")
        return run_from_row(row)

    def _runs_hint(self) -> str:
        listed = self.list_runs()
        if not listed:
            return "the workspace has no runs yet"
        shown = ", ".join(r.label for r in listed[-10:])
        more = f"; {len(listed) - 10} older ones not shown" if len(listed) > 10 else ""
        return f"runs: {shown}{more}"

    def run_counts(self, run_id: int) -> dict[PromptState, int]:
        """Prompts of a run by state (states with none left out)."""
        with self.db.read() as conn:
            rows = conn.execute(select(prompts.c.state, func.count())
                                .where(prompts.c.run_id == run_id).group_by(prompts.c.state))
            return {PromptState(state): n for state, n in rows}

    # -- batches ---------------------------------------------------------------------------
    def list_batches(self, states: Sequence[BatchState] | None = None, *,
                     run_id: int | None = None) -> list[Batch]:
        query = select(batches).where(_SHOWN_BATCH).order_by(batches.c.id)
        if states:
            query = query.where(batches.c.state.in_([s.value for s in states]))
        if run_id is not None:
            query = query.where(batches.c.run_id == run_id)
        with self.db.read() as conn:
            return [batch_from_row(r) for r in conn.execute(query)]

    def get_batch(self, batch_id: int) -> Batch:
        with self.db.read() as conn:
            row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
        if row is None:
            raise NotFound(f"no batch #{batch_id} (`batcher batches` lists them)")
        return batch_from_row(row)

    def batch_transitions(self, batch_id: int) -> list[tuple[str | None, str, float, str | None]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(batch_transitions.c.from_state, batch_transitions.c.to_state,
                       batch_transitions.c.at, batch_transitions.c.reason)
                .where(batch_transitions.c.batch_id == batch_id)
                .order_by(batch_transitions.c.id))
            return [(r[0], r[1], r[2], r[3]) for r in rows]

    def profiles_in_use(self) -> set[int]:
        """Profiles with batches in flight or provider files still to delete."""
        with self.db.read() as conn:
            return set(conn.scalars(
                select(batches.c.profile_id).distinct().where(
                    batches.c.state.in_([s.value for s in BATCH_IN_FLIGHT])
                    | batches.c.intent.is_not(None))))

    # -- status and export -----------------------------------------------------------------
    def status(self) -> WorkspaceStatus:
        with self.db.read() as conn:
            run_rows = {r.id: run_from_row(r)
                        for r in conn.execute(select(runs).where(_VISIBLE).order_by("id"))}
            counts: dict[int, dict[str, int]] = {rid: {} for rid in run_rows}
            for run_id, state, n in conn.execute(
                    select(prompts.c.run_id, prompts.c.state, func.count())
                    .group_by(prompts.c.run_id, prompts.c.state)):
                if run_id in counts:
                    counts[run_id][state] = n
            by_batch_state: dict[str, int] = dict(conn.execute(
                select(batches.c.state, func.count()).where(_SHOWN_BATCH)
                .group_by(batches.c.state)).all())
        return WorkspaceStatus(
            runs=[RunStatus(run_rows[rid], counts[rid]) for rid in run_rows],
            batches_by_state=by_batch_state)

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

    def cache_by_run(self) -> dict[int, dict[str, tuple[int, int, int]]]:
        """Per run and model: input tokens read from / written to the prompt cache (and of
        those written, for an hour)."""
        out: dict[int, dict[str, tuple[int, int, int]]] = {}
        with self.db.read() as conn:
            for run_id, model, cached, written, written_1h in conn.exec_driver_sql(
                "SELECT run_id, model, sum(coalesce(cached_input_tokens, 0)), "
                "sum(coalesce(cache_write_tokens, 0)), sum(coalesce(cache_write_1h_tokens, 0)) "
                "FROM batches WHERE run_id IS NOT NULL "
                "AND (cached_input_tokens > 0 OR cache_write_tokens > 0) GROUP BY run_id, model"
            ):
                out.setdefault(run_id, {})[model] = (int(cached), int(written), int(written_1h))
        return out

    def iter_run_prompts(self, run_id: int, chunk: int = 2000, *, after: int = 0,
                         states: Sequence[PromptState] | None = None,
                         ) -> Iterator[Sequence[Any]]:
        """Chunks of a run's prompts in import order (keyset paging: constant memory).

        Walks the primary key: a run's prompts have consecutive ids (one import), so each page
        is a short range scan. The unary ``+`` keeps SQLite from choosing the (run_id, state)
        index instead, which would re-read and sort the whole run for every page.

        Args:
            after: start after this prompt id.
            states: only prompts in these states.
        """
        where = "id > ? AND +run_id = ?"
        if states:
            where += f" AND state IN ({', '.join(repr(s.value) for s in states)})"
        sql = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM prompts WHERE {where} ORDER BY id LIMIT ?"
        with self.db.read() as conn:
            first = conn.exec_driver_sql(
                "SELECT min(id) FROM prompts WHERE run_id = ?", (run_id,)).scalar()
        after = max(after, (first or 1) - 1)
        while True:
            with self.db.read() as conn:
                rows = conn.exec_driver_sql(sql, (after, run_id, chunk)).all()
            if not rows:
                return
            after = rows[-1].id
            yield rows

    # -- what a sync did -------------------------------------------------------------------
    def failure_mark(self) -> int:
        """A point in the audit trail; :meth:`failures_since` reports what failed after it."""
        with self.db.read() as conn:
            return int(conn.exec_driver_sql(
                "SELECT coalesce(max(id), 0) FROM prompt_transitions").scalar() or 0)

    def failures_since(self, mark: int) -> list[tuple[Run, str, int, int]]:
        """(run, state, prompts, of which failed deliveries) of prompts that went into the
        failed group (failed, expired) after ``mark`` and still are there."""
        failed = [s.value for s in GROUP_STATES[StateGroup.FAILED]]
        marks = ", ".join("?" for _ in failed)
        with self.db.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT p.run_id, p.state, count(DISTINCT p.id), "
                "count(DISTINCT CASE WHEN p.delivery_error IS NOT NULL THEN p.id END) "
                "FROM prompt_transitions t JOIN prompts p ON p.id = t.prompt_id "
                f"WHERE t.id > ? AND t.to_state IN ({marks}) "
                "AND p.state = t.to_state GROUP BY p.run_id, p.state ORDER BY p.run_id",
                (mark, *failed)).all()
        runs_by_id = {r.id: r for r in self.list_runs()}
        return [(runs_by_id[run_id], state, n, deliveries) for run_id, state, n, deliveries
                in rows if run_id in runs_by_id]

    def delivery_failures(self) -> dict[int, int]:
        """Per run: results whose delivery failed (the result itself is kept)."""
        with self.db.read() as conn:
            return dict(conn.exec_driver_sql(
                "SELECT run_id, count(*) FROM prompts WHERE state = 'failed' AND "
                "delivery_error IS NOT NULL GROUP BY run_id").all())

    def run_models(self, run_id: int) -> list[str]:
        """The models a run's prompts use (read from its batches: cheap for a big run)."""
        with self.db.read() as conn:
            return list(conn.scalars(select(batches.c.model).distinct()
                                     .where(batches.c.run_id == run_id)))
