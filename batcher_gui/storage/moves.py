"""State changes of batches and prompts: each audited, each refusing edges the state table does
not have, each inside the caller's transaction."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, insert, select, update

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.secrecy import mask, mask_optional
from batcher_gui.domain.states import (
    BatchState,
    PromptState,
    check_batch_transition,
    prompt_sources,
)
from batcher_gui.storage.db import Database
from batcher_gui.storage.tables import batch_transitions, batches

T = TypeVar("T")
#: Columns holding text that may come from a provider or an exception: masked for API keys
#: before they are written (see batcher_gui.domain.secrecy).
TEXT_COLUMNS = frozenset({"error", "problem", "wait_reason", "delivery_error"})
#: Runs one write transaction function: here (the default), or in the caller's writer thread.
WriteRunner = Callable[..., Any]


def run_here(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


def masked_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with its problem/error texts masked for API keys."""
    return {name: mask_optional(value) if name in TEXT_COLUMNS and isinstance(value, str)
            else value for name, value in fields.items()}


def move_batch(conn: Connection, batch_id: int, from_state: BatchState, to_state: BatchState,
               reason: str, **fields: Any) -> None:
    """Move one batch along an allowed edge and audit it.

    The update is conditional on the batch still being in ``from_state``, so two writers can
    never both move it.

    Raises:
        InvalidTransition: the state table has no such edge.
        BatcherError: the batch is no longer in ``from_state``.
    """
    check_batch_transition(batch_id, from_state, to_state)
    reason, fields = mask(reason), masked_fields(fields)
    now = time.time()
    result = conn.execute(
        update(batches)
        .where(batches.c.id == batch_id, batches.c.state == from_state.value)
        .values(state=to_state.value, updated_at=now, **fields)
    )
    if result.rowcount != 1:
        raise BatcherError(f"batch {batch_id} is no longer {from_state.value}")
    conn.execute(insert(batch_transitions).values(
        batch_id=batch_id, from_state=from_state.value, to_state=to_state.value, at=now,
        reason=reason))


def require_batch_state(db: Database, batch_id: int, state: BatchState) -> None:
    """Refuse (as :func:`move_batch` would) before a bulk prompt move that only makes sense
    while the batch is in ``state``: a step working from an old reading must not touch its
    prompts.

    Raises:
        BatcherError: the batch is no longer in ``state``.
    """
    with db.read() as conn:
        _check_batch(conn, batch_id, state)


def _check_batch(conn: Connection, batch_id: int, state: BatchState) -> None:
    now_in = conn.execute(select(batches.c.state).where(batches.c.id == batch_id)
                          ).scalar_one_or_none()
    if now_in != state.value:
        raise BatcherError(f"batch {batch_id} is no longer {state.value}")


def move_prompts(
    conn: Connection,
    where: str,
    params: dict[str, Any],
    to_state: PromptState,
    reason: str,
    *,
    from_states: Iterable[PromptState] | None = None,
    set_sql: str = "",
) -> int:
    """Move every prompt matching ``where`` (and an allowed source state) to ``to_state``.

    Writes one audit row per prompt with a single INSERT ... SELECT, then updates them. Returns
    how many moved.

    Args:
        where: SQL condition on ``prompts`` (bound parameters by name).
        set_sql: extra ``col = expr`` assignments, comma-separated.
    """
    sources = prompt_sources(to_state, from_states)
    marks = ", ".join(f":_src{i}" for i in range(len(sources)))
    bound = {**params, **{f"_src{i}": s for i, s in enumerate(sources)},
             "_to": to_state.value, "_at": time.time(), "_reason": mask(reason)}
    condition = f"({where}) AND state IN ({marks})"
    conn.exec_driver_sql(
        "INSERT INTO prompt_transitions (prompt_id, from_state, to_state, at, reason) "
        f"SELECT id, state, :_to, :_at, :_reason FROM prompts WHERE {condition}",
        bound,
    )
    extra = f", {set_sql}" if set_sql else ""
    result = conn.exec_driver_sql(
        f"UPDATE prompts SET state = :_to, updated_at = :_at{extra} WHERE {condition}", bound
    )
    return int(result.rowcount)


def move_prompt_rows(
    conn: Connection,
    rows: Sequence[tuple[Any, ...]],
    from_state: PromptState,
    to_state: PromptState,
    reason: str,
    set_sql: str,
) -> None:
    """Move listed prompts (already known to be in ``from_state``) with per-row values.

    ``rows`` are parameter tuples for ``UPDATE prompts SET state=?, updated_at=?, <set_sql>
    WHERE id=? AND state=?``: the caller supplies the ``set_sql`` values then the id.
    """
    prompt_sources(to_state, [from_state])  # refuses an edge the table does not have
    reason = mask(reason)
    now = time.time()
    conn.exec_driver_sql(
        "INSERT INTO prompt_transitions (prompt_id, from_state, to_state, at, reason) "
        "VALUES (?, ?, ?, ?, ?)",
        [(r[-1], from_state.value, to_state.value, now, reason) for r in rows],
    )
    conn.exec_driver_sql(
        f"UPDATE prompts SET state = ?, updated_at = ?, {set_sql} WHERE id = ? AND state = ?",
        [(to_state.value, now, *r, from_state.value) for r in rows],
    )


def move_prompts_in_chunks(
    db: Database,
    where: str,
    params: dict[str, Any],
    to_state: PromptState,
    reason: str,
    *,
    from_states: Iterable[PromptState] | None = None,
    set_sql: str = "",
    chunk: int = 5000,
    write: WriteRunner = run_here,
    while_batch: tuple[int, BatchState] | None = None,
) -> int:
    """:func:`move_prompts` over id ranges, one short transaction per range.

    For bulk moves that need not be atomic (each prompt's move is, and the caller's next step
    is safe to repeat after a crash): 50,000 prompts in one transaction hold the workspace's
    write lock for a third of a second; in ranges of ``chunk`` ids, a few tens of ms each.
    ``while_batch`` (batch id, state): each range moves only while that batch is still in
    that state — a step working from an old reading must not touch its prompts
    (:class:`BatcherError` as from :func:`move_batch`, before any range or between two).
    """
    sources = prompt_sources(to_state, from_states)
    marks = ", ".join(f":_src{i}" for i in range(len(sources)))
    bound = {**params, **{f"_src{i}": s for i, s in enumerate(sources)}}
    with db.read() as conn:
        low, high = conn.exec_driver_sql(
            f"SELECT min(id), max(id) FROM prompts WHERE ({where}) AND state IN ({marks})",
            bound).one()
    if low is None:
        if while_batch is not None:
            require_batch_state(db, *while_batch)
        return 0

    def one_range(start: int) -> int:
        with db.write() as conn:
            if while_batch is not None:
                _check_batch(conn, *while_batch)
            return move_prompts(conn, f"({where}) AND id BETWEEN :_lo AND :_hi",
                                {**params, "_lo": start, "_hi": start + chunk - 1}, to_state,
                                reason, from_states=from_states, set_sql=set_sql)

    return sum(int(write(one_range, start)) for start in range(low, high + 1, chunk))
