"""Counts for monitoring (``batcher serve``'s /metrics) and a cheap "is the database there".

Every figure is one aggregate query: a scrape never loads rows, however large the workspace.
The visibility rules are :class:`~batcher_gui.storage.store.Store`'s (``batcher status``).
"""

from __future__ import annotations

from sqlalchemy import func, select

from batcher_gui.domain.health import WorkspaceFigures
from batcher_gui.storage.db import Database
from batcher_gui.storage.store import _SHOWN_BATCH, _VISIBLE
from batcher_gui.storage.tables import batches, prompts, runs


def workspace_figures(db: Database) -> WorkspaceFigures:
    """Batches and prompts by state, visible runs, the last poll (one snapshot)."""
    visible_runs = select(runs.c.id).where(_VISIBLE)
    with db.read() as conn:
        by_prompt_state: dict[str, int] = dict(conn.execute(
            select(prompts.c.state, func.count()).where(prompts.c.run_id.in_(visible_runs))
            .group_by(prompts.c.state)).tuples().all())
        by_batch_state: dict[str, int] = dict(conn.execute(
            select(batches.c.state, func.count()).where(_SHOWN_BATCH)
            .group_by(batches.c.state)).tuples().all())
        run_count = conn.execute(select(func.count()).select_from(runs).where(_VISIBLE)
                                 ).scalar_one()
        last_poll = conn.execute(select(func.max(batches.c.polled_at))).scalar()
    return WorkspaceFigures(
        batches_by_state={str(k): int(v) for k, v in by_batch_state.items()},
        prompts_by_state={str(k): int(v) for k, v in by_prompt_state.items()},
        runs=int(run_count),
        last_poll_at=None if last_poll is None else float(last_poll))


def ping(db: Database) -> None:
    """One round trip to the database; raises if it cannot be reached."""
    with db.read() as conn:
        conn.exec_driver_sql("SELECT 1").scalar()
