"""Copy a whole workspace into another database: a laptop's SQLite workspace into a new team
workspace on PostgreSQL, every run, prompt, batch, result, label and check with its id.

The target must be new (no runs, no batches). Everything is written in one transaction on the
target, so a copy cut short leaves it as new as it was. Rows the migrations seed (built-in
profiles, default settings, label names) are replaced by the source's. What belongs to one
database and not to the workspace is left: the engine's lease, the wake-up counter, the
workspace's own identity, the SQLite search index's bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, insert, select

from batcher_gui.domain.errors import BatcherError
from batcher_gui.storage.bulk import advance_sequence
from batcher_gui.storage.db import Database
from batcher_gui.storage.tables import (
    batches,
    engine_lease,
    metadata,
    runs,
    search_queue,
    search_runs,
    search_settings,
    wake_calls,
    workspace_identity,
)

#: Tables that describe one database, not the workspace's content.
_LEFT = {t.name for t in (engine_lease, wake_calls, workspace_identity, search_settings,
                          search_runs, search_queue)}
CHUNK = 5000
#: The setting a copied workspace keeps: where it went (its engine no longer sends from here).
MOVED_TO = "moved_to"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class CopyReport:
    """Rows copied, per table."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _tables() -> list[Table]:
    return [t for t in metadata.sorted_tables if t.name not in _LEFT]


def refuse_unless_new(target: Database) -> None:
    """Raises BatcherError when the target holds runs or batches already."""
    with target.read() as conn:
        had_runs = conn.scalar(select(func.count()).select_from(runs))
        had_batches = conn.scalar(select(func.count()).select_from(batches))
    if had_runs or had_batches:
        raise BatcherError(
            f"the workspace {target.shown_name} is not new ({had_runs} runs, {had_batches} "
            "batches); copy into a new, empty database, nothing was changed")


def _chunks(source: Database, table: Table) -> Iterator[list[dict[str, Any]]]:
    key = list(table.primary_key.columns)
    order = key[0] if key else None
    last: Any = None
    while True:
        query = select(table).limit(CHUNK)
        if order is not None:
            query = query.order_by(order)
            if last is not None:
                query = query.where(order > last)
        with source.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        if not rows:
            return
        yield rows
        if order is None:  # no key to page by: the table is small (one query took it all)
            return
        last = rows[-1][order.name]


def copy_workspace(source: Database, target: Database,
                   progress: Progress | None = None) -> CopyReport:
    """Copy every row of ``source`` into the new workspace ``target`` (see the module
    docstring). ``progress(table, rows done, rows in table)`` is called as it goes."""
    refuse_unless_new(target)
    tables = _tables()
    with source.read() as conn:
        sizes = {t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0)
                 for t in tables}
    copied: dict[str, int] = {}
    with target.write() as out:
        for table in reversed(tables):  # the seeded rows, children first
            out.execute(table.delete())
        for table in tables:
            done = 0
            for rows in _chunks(source, table):
                out.execute(insert(table), rows)
                done += len(rows)
                if progress is not None:
                    progress(table.name, done, sizes[table.name])
            copied[table.name] = done
            if "id" in table.c and table.c.id.primary_key:
                advance_sequence(out, target.dialect, table.name)
    return CopyReport(copied)
