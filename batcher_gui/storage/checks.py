"""Checks on answers in the workspace: each run's rules, the queue of answers to check, results.

A run's rules live in ``run_checks`` (as JSON, see :class:`batcher_gui.domain.checks.CheckRules`)
with a revision that grows with every change; clearing them keeps the row with no rules (``{}``)
and a new revision, so the prompts checked before are known to be stale. A prompt's
``check_revision`` is the revision it was checked under (0: its run had no rules then).

The checker's work is every prompt whose answer is in and whose ``check_revision`` is NULL: the
partial index ``ix_prompts_unchecked`` holds exactly those. A rules change makes the prompts
checked under another revision NULL again — by the checker, in id-range chunks
(:meth:`CheckBook.reset_stale`), so no write holds the database for long and a restart
in the middle simply goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from batcher_gui.domain.checks import CheckCounts
from batcher_gui.domain.errors import NotFound
from batcher_gui.domain.states import PromptState
from batcher_gui.storage.db import Database

#: (prompt id, is its response an answer (see ANSWERED), endpoint, response)
Unchecked = tuple[int, bool, str, bytes]
#: (prompt id, was it an answer when read, check_state 1/0/None, detail)
Checked = tuple[int, bool, int | None, str | None]
#: Rules stored for a run with none.
NO_RULES = "{}"
#: SQL: the prompt is the run's, tested row by row in an id range (the unary + keeps SQLite
#: from walking the run's whole index for each chunk instead of the range).
_RUN_BY_ID = "+run_id = ?"
#: Ids covered by one chunk of a stale-results reset (a run's ids are mostly contiguous).
RESET_SPAN = 20_000
_P = PromptState
#: SQL: the prompt's response is an answer to check — a result came (its delivery may have
#: failed since: the answer is fine) and no provider error. A failed prompt's response is the
#: error; a pending or processing one's is an old attempt's, to be replaced.
ANSWERED = ("(state IN ('" + "', '".join(s.value for s in (_P.PROCESSED, _P.DELIVERING,
                                                           _P.DELIVERED, _P.FAILED))
            + "') AND error IS NULL)")


@dataclass(frozen=True, slots=True)
class StoredRules:
    """A run's rules as stored: JSON text (``{}``: none) and the revision."""

    run_id: int
    rules: str
    revision: int

    @property
    def empty(self) -> bool:
        return self.rules == NO_RULES


class CheckBook:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._unchecked_index = db.dialect.indexed_by("ix_prompts_unchecked")

    # -- rules -----------------------------------------------------------------------------
    def rules(self, run_id: int) -> StoredRules | None:
        """The run's rules (None: never set)."""
        with self.db.read() as conn:
            row = conn.exec_driver_sql(
                "SELECT rules, revision FROM run_checks WHERE run_id = ?", (run_id,)).first()
        return None if row is None else StoredRules(run_id, row[0], int(row[1]))

    def all_rules(self) -> dict[int, StoredRules]:
        """Every run's rules (also cleared ones, with their revision)."""
        with self.db.read() as conn:
            return {r[0]: StoredRules(r[0], r[1], int(r[2])) for r in conn.exec_driver_sql(
                "SELECT run_id, rules, revision FROM run_checks")}

    def set_rules(self, run_id: int, rules: str, now: float | None = None) -> int:
        """Store the run's rules (``{}``: clear them) under a new revision; returns it. The
        run's answers are checked again by the checker (see the module docstring)."""
        now = time.time() if now is None else now
        with self.db.write() as conn:
            exists = conn.exec_driver_sql("SELECT 1 FROM runs WHERE id = ?", (run_id,)).first()
            if exists is None:
                raise NotFound(f"run #{run_id} does not exist (deleted?)")
            conn.exec_driver_sql(
                "INSERT INTO run_checks (run_id, rules, revision, updated_at) "
                "VALUES (?, ?, 1, ?) ON CONFLICT (run_id) DO UPDATE SET rules = excluded.rules, "
                "revision = run_checks.revision + 1, updated_at = excluded.updated_at",
                (run_id, rules, now))
            return int(conn.exec_driver_sql(
                "SELECT revision FROM run_checks WHERE run_id = ?", (run_id,)).scalar_one())

    # -- stale results -----------------------------------------------------------------------
    def run_span(self, run_id: int) -> tuple[int, int] | None:
        """The run's lowest and highest prompt id (None: it has none)."""
        with self.db.read() as conn:
            row = conn.exec_driver_sql(
                "SELECT min(id), max(id) FROM prompts WHERE run_id = ?", (run_id,)).first()
        return None if row is None or row[0] is None else (int(row[0]), int(row[1]))

    def first_stale(self, run_id: int, revision: int, after_id: int, last_id: int
                    ) -> int | None:
        """The run's first prompt past ``after_id`` (up to ``last_id``) checked under another
        revision (None: there is none). A read: a restart finds nothing to reset quickly,
        without holding the write lock."""
        with self.db.read() as conn:
            found = conn.exec_driver_sql(
                f"SELECT min(id) FROM prompts WHERE id > ? AND id <= ? AND {_RUN_BY_ID} "
                "AND check_revision IS NOT NULL AND check_revision != ?",
                (after_id, last_id, run_id, revision)).scalar()
        return None if found is None else int(found)

    def reset_stale(self, run_id: int, revision: int, after_id: int,
                    span: int = RESET_SPAN) -> int:
        """Make the run's prompts with ids in (after_id, after_id + span] that were checked
        under another revision unchecked again (back in the checker's queue). Returns how
        many changed."""
        with self.db.write() as conn:
            return int(conn.exec_driver_sql(
                "UPDATE prompts SET check_state = NULL, check_detail = NULL, "
                f"check_revision = NULL WHERE id > ? AND id <= ? AND {_RUN_BY_ID} "
                "AND check_revision IS NOT NULL AND check_revision != ?",
                (after_id, after_id + span, run_id, revision)).rowcount or 0)

    # -- the queue ---------------------------------------------------------------------------
    def next_run_with_work(self, after_run: int = 0) -> int | None:
        """The next run (by id, past ``after_run``) with answers not yet checked."""
        with self.db.read() as conn:
            found = conn.exec_driver_sql(
                f"SELECT run_id FROM prompts {self._unchecked_index} "
                "WHERE check_revision IS NULL AND response IS NOT NULL AND run_id > ? "
                "ORDER BY run_id LIMIT 1", (after_run,)).scalar()
        return None if found is None else int(found)

    def unchecked(self, run_id: int, limit: int, after_id: int = 0) -> list[Unchecked]:
        """The run's next answers not yet checked, by id."""
        with self.db.read() as conn:
            return [(r[0], bool(r[1]), r[2], bytes(r[3])) for r in conn.exec_driver_sql(
                f"SELECT id, {ANSWERED}, endpoint, response FROM prompts "
                f"{self._unchecked_index} WHERE check_revision IS NULL "
                "AND response IS NOT NULL AND run_id = ? AND id > ? ORDER BY id LIMIT ?",
                (run_id, after_id, limit))]

    def unchecked_total(self) -> int:
        """Answers of the workspace waiting to be checked."""
        with self.db.read() as conn:
            return int(conn.exec_driver_sql(
                f"SELECT count(*) FROM prompts {self._unchecked_index} "
                "WHERE check_revision IS NULL AND response IS NOT NULL").scalar() or 0)

    def mark_not_checked(self, run_id: int, revision: int, limit: int) -> int:
        """Take up to ``limit`` of a run's waiting answers out of the queue without checking
        them (the run has no rules): ``check_revision`` set, no result. Returns how many."""
        with self.db.write() as conn:
            return int(conn.exec_driver_sql(
                "UPDATE prompts SET check_state = NULL, check_detail = NULL, check_revision = ? "
                f"WHERE id IN (SELECT id FROM prompts {self._unchecked_index} "
                "WHERE check_revision IS NULL AND response IS NOT NULL AND run_id = ? "
                "ORDER BY id LIMIT ?)", (revision, run_id, limit)).rowcount or 0)

    def store_results(self, run_id: int, revision: int, results: Sequence[Checked]) -> int:
        """Write check results made under ``revision``. Dropped (returns 0) if the run's rules
        changed meanwhile; a prompt that became an answer or stopped being one meanwhile (a
        retried one got a new result) is left for the next pass. Returns how many were written."""
        if not results:
            return 0
        with self.db.write() as conn:
            now = conn.exec_driver_sql(
                "SELECT revision FROM run_checks WHERE run_id = ?", (run_id,)).scalar()
            if int(now or 0) != revision:
                return 0
            raw = conn.connection.driver_connection
            assert raw is not None
            written = 0
            # A bool parameter: SQLite stores it as 1/0, PostgreSQL compares it with the
            # boolean the condition is there.
            sql = self.db.dialect.driver_sql(
                "UPDATE prompts SET check_state = ?, check_detail = ?, check_revision = ? "
                f"WHERE id = ? AND check_revision IS NULL AND {ANSWERED} = ?")
            for prompt_id, answered, check_state, detail in results:
                written += raw.execute(
                    sql, (check_state, detail, revision, prompt_id, bool(answered))).rowcount
            return written

    # -- counts ----------------------------------------------------------------------------
    def counts(self, run_id: int) -> CheckCounts:
        """The run's answers passed, failed and not checked."""
        with self.db.read() as conn:
            total = int(conn.exec_driver_sql(
                "SELECT prompt_count FROM runs WHERE id = ?", (run_id,)).scalar() or 0)
            by = {int(r[0]): int(r[1]) for r in conn.exec_driver_sql(
                "SELECT check_state, count(*) FROM prompts WHERE run_id = ? "
                "AND check_state IS NOT NULL GROUP BY check_state", (run_id,))}
        passed, failed = int(by.get(1, 0)), int(by.get(0, 0))
        return CheckCounts(passed, failed, max(total - passed - failed, 0))

    def counts_of_runs(self, run_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
        """(passed, failed) per run, of the runs given."""
        ids = list(run_ids)
        if not ids:
            return {}
        out: dict[int, list[int]] = {r: [0, 0] for r in ids}
        marks = ", ".join("?" for _ in ids)
        with self.db.read() as conn:
            for run_id, state, n in conn.exec_driver_sql(
                    "SELECT run_id, check_state, count(*) FROM prompts WHERE check_state IS NOT "
                    f"NULL AND run_id IN ({marks}) GROUP BY run_id, check_state", tuple(ids)):
                out[run_id][0 if state == 1 else 1] += int(n)
        return {r: (p, f) for r, (p, f) in out.items()}


class _Executes(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


def run_check_counts(conn: _Executes) -> dict[int, tuple[int, int]]:
    """(passed, failed) of every run with rules (a plain sqlite3 connection: the views')."""
    out: dict[int, tuple[int, int]] = {}
    for run_id, passed, failed in conn.execute(
            "SELECT c.run_id, (SELECT count(*) FROM prompts p WHERE p.run_id = c.run_id "
            "AND p.check_state = 1), (SELECT count(*) FROM prompts p WHERE p.run_id = c.run_id "
            "AND p.check_state = 0) FROM run_checks c WHERE c.rules != ?", (NO_RULES,)):
        out[int(run_id)] = (int(passed), int(failed))
    return out


def checked_counts(counts: dict[int, tuple[int, int]], run_id: int,
                   prompts: int) -> CheckCounts | None:
    """The run's CheckCounts from :func:`run_check_counts` (None: it has no rules)."""
    found = counts.get(run_id)
    if found is None:
        return None
    return CheckCounts(found[0], found[1], max(prompts - found[0] - found[1], 0))
