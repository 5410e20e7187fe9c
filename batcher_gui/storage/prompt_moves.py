"""Bulk prompt state changes, each audited, each refusing edges the state table does not have."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

from batcher_gui.domain.states import PromptState, prompt_sources


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
             "_to": to_state.value, "_at": time.time(), "_reason": reason}
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
