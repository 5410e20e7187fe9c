"""Reads and writes of a re-run: the origin's prompts it takes, its lineage, its Compare offer.

The prompts a filter selects use the views' own condition (:func:`prompt_condition`), so a
re-run of "what's shown" takes exactly what the table shows. Lineage lives in
``runs.origin_run_id`` and ``runs.origin_change`` (JSON); once the window has offered Compare
for a finished re-run, ``"compare_offered": true`` is added to that JSON so it is offered
once, across restarts too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from batcher_gui.domain.progress import UNFINISHED, run_has_ended
from batcher_gui.domain.states import BATCH_TERMINAL, PromptState
from batcher_gui.domain.views import PromptQuery, PromptSort
from batcher_gui.storage.db import Database
from batcher_gui.storage.export_rows import keyset_chunks
from batcher_gui.storage.views import prompt_condition

#: (prompt id, line_no, user_custom_id, endpoint, model, body)
PromptSource = tuple[int, int, str, str, str, bytes]
_COLUMNS = "id, line_no, user_custom_id, endpoint, model, body"
_IDS_PER_QUERY = 500
OFFERED = "compare_offered"


def _condition(db: Database, run_id: int, query: PromptQuery) -> tuple[str, list[Any]]:
    chosen = dataclasses.replace(query, run_id=run_id, sort=PromptSort.ID, descending=False)
    return prompt_condition(chosen, [run_id], listing=True, dialect=db.dialect)


def count_scope(db: Database, run_id: int, query: PromptQuery | None,
                ids: Sequence[int] = ()) -> int:
    """How many of the run's prompts the scope takes (ids of other runs do not count)."""
    with db.read() as conn:
        if ids:
            total = 0
            for start in range(0, len(ids), _IDS_PER_QUERY):
                part = list(ids[start:start + _IDS_PER_QUERY])
                total += int(conn.exec_driver_sql(
                    f"SELECT count(*) FROM prompts WHERE run_id = ? AND id IN "
                    f"({', '.join('?' for _ in part)})", (run_id, *part)).scalar() or 0)
            return total
        if query is None:
            return int(conn.exec_driver_sql("SELECT count(*) FROM prompts WHERE run_id = ?",
                                            (run_id,)).scalar() or 0)
        where, params = _condition(db, run_id, query)
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM prompts WHERE {where}",
                                        tuple(params)).scalar() or 0)


def scope_rows(db: Database, run_id: int, query: PromptQuery | None, ids: Sequence[int] = (),
               chunk: int = 2000) -> Iterator[list[PromptSource]]:
    """Chunks of the prompts the scope takes, in import order (by id: line order)."""
    if ids:
        ordered = sorted(set(ids))
        for start in range(0, len(ordered), _IDS_PER_QUERY):
            part = ordered[start:start + _IDS_PER_QUERY]
            with db.read() as conn:
                rows = conn.exec_driver_sql(
                    f"SELECT {_COLUMNS} FROM prompts WHERE run_id = ? AND id IN "
                    f"({', '.join('?' for _ in part)}) ORDER BY id", (run_id, *part)).all()
            if rows:
                yield [tuple(r) for r in rows]
        return
    where, params = _condition(db, run_id, query or PromptQuery())
    for rows in keyset_chunks(db, run_id, _COLUMNS, where, params, chunk):
        yield [tuple(r) for r in rows]


def import_record(db: Database, run_id: int) -> dict[str, Any]:
    """The import options a run was made with (``runs.options``; {} for none)."""
    with db.read() as conn:
        raw = conn.exec_driver_sql("SELECT options FROM runs WHERE id = ?", (run_id,)).scalar()
    record = orjson.loads(raw) if raw else {}
    return record if isinstance(record, dict) else {}


def set_origin(db: Database, run_id: int, origin_id: int, change: dict[str, Any],
               options: dict[str, Any] | None) -> None:
    """Record where a (still hidden) re-run comes from, and the import options it stands on."""
    with db.write() as conn:
        conn.exec_driver_sql(
            "UPDATE runs SET origin_run_id = ?, origin_change = ?, options = ? WHERE id = ?",
            (origin_id, orjson.dumps(change).decode(),
             orjson.dumps(options).decode() if options else None, run_id))


def _loads(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def lineages(db: Database) -> dict[int, tuple[int, dict[str, Any] | None]]:
    """run id -> (origin run id, what changed) of every visible re-run."""
    with db.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, origin_run_id, origin_change FROM runs WHERE status = 'ready' AND "
            "origin_run_id IS NOT NULL").all()
    return {run_id: (origin, _loads(change)) for run_id, origin, change in rows}


def ended_reruns_to_offer(db: Database) -> list[tuple[int, int]]:
    """(re-run, origin) of re-runs that have ended and whose Compare was not offered yet."""
    ended_states = tuple(s.value for s in BATCH_TERMINAL)
    found = []
    with db.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, origin_run_id, origin_change FROM runs WHERE status = 'ready' AND "
            "origin_run_id IS NOT NULL").all()
        for run_id, origin, raw in rows:
            if (_loads(raw) or {}).get(OFFERED):
                continue
            counts = {PromptState(s): n for s, n in conn.exec_driver_sql(
                "SELECT state, count(*) FROM prompts WHERE run_id = ? GROUP BY state",
                (run_id,))}
            if any(counts.get(s, 0) for s in UNFINISHED):
                continue
            total, ended = conn.exec_driver_sql(
                f"SELECT count(*), coalesce(sum(CASE WHEN state IN "
                f"({', '.join('?' for _ in ended_states)}) THEN 1 ELSE 0 END), 0) "
                "FROM batches WHERE run_id = ?",
                (*ended_states, run_id)).one()
            if run_has_ended(counts, total, ended):
                found.append((run_id, origin))
    return found


def mark_compare_offered(db: Database, run_id: int) -> bool:
    """Note that Compare was offered for this re-run; False if another caller did first."""
    with db.write() as conn:
        raw = conn.exec_driver_sql("SELECT origin_change FROM runs WHERE id = ?",
                                   (run_id,)).scalar()
        record = _loads(raw) or {}
        if record.get(OFFERED):
            return False
        record[OFFERED] = True
        conn.exec_driver_sql("UPDATE runs SET origin_change = ? WHERE id = ?",
                             (orjson.dumps(record).decode(), run_id))
    return True


def run_exists(db: Database, run_id: int) -> bool:
    with db.read() as conn:
        return conn.exec_driver_sql("SELECT 1 FROM runs WHERE id = ? AND status = 'ready'",
                                    (run_id,)).first() is not None


def ids_of_custom_ids(db: Database, run_id: int, custom_ids: Sequence[str]
                      ) -> tuple[list[int], list[str]]:
    """The run's prompt ids with these custom_ids (every prompt of a repeated id), and the
    custom_ids it has none of."""
    found: list[int] = []
    missing: list[str] = []
    with db.read() as conn:
        for custom_id in dict.fromkeys(custom_ids):
            ids = [pid for (pid,) in conn.exec_driver_sql(
                "SELECT id FROM prompts WHERE run_id = ? AND user_custom_id = ?",
                (run_id, custom_id))]
            found += ids
            if not ids:
                missing.append(custom_id)
    return found, missing
