"""The optional full-text search index: an SQLite FTS5 table of each prompt's custom_id, prompt
text and answer text (the readable text of the parsed bodies, not their raw JSON).

Built per run in the background, a chunk of prompts per short write transaction (the engine
keeps writing results meanwhile): ``search_runs`` says how far each run is (its prompts' ids are
``first_id..last_id``, one import; indexed up to ``indexed_to``). An answer that arrives for a
prompt already indexed is queued by a trigger (``search_queue``) and indexed again by the next
step. Searches use the index for what it holds and a LIKE scan for the rest (prompts past
``indexed_to``, queued prompts, runs not begun), so a search is complete at any moment.

Semantics differ from the LIKE search used without the index: the user types words, each a
prefix of a word (``clas`` finds "classify", not "subclass"), and "quoted words" a phrase; case
and accents do not matter. Without the index each word is a substring (case-insensitive ASCII).
A deleted run's entries are removed by the indexer (its ``search_runs`` row outlives the run).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from typing import Any

from batcher_gui.domain.answers import answer_text, prompt_text
from batcher_gui.domain.search import SearchStatus, SearchTerms
from batcher_gui.storage.dialect import SQLITE, Dialect
from batcher_gui.storage.readconn import Executes
from batcher_gui.storage.rows import json_or_none

FTS_TABLE = "prompt_search"
#: Prompts per write transaction (about 30 ms of parsing and inserting: the engine's writes
#: wait at most that long).
CHUNK = 2000
_CREATE = (f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(custom_id, prompt, "
           "answer, tokenize = 'unicode61 remove_diacritics 2')")


def _like_one(needle: str, dialect: Dialect = SQLITE) -> tuple[str, list[str]]:
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return (f"({dialect.like('user_custom_id')} OR {dialect.like(dialect.blob_text('body'))} "
            f"OR {dialect.like(dialect.blob_text('response'))})", [pattern, pattern, pattern])


def like_condition(text: str, dialect: Dialect = SQLITE) -> tuple[str, list[Any]]:
    """The search without the index: the whole text a substring of the custom_id or the raw
    request or response (what Batcher always did), ignoring case (ASCII's on SQLite)."""
    return _like_one(text, dialect)


def like_terms(terms: SearchTerms, dialect: Dialect = SQLITE) -> tuple[str, list[Any]]:
    """Each term a substring (the fallback for prompts the index does not hold yet: it finds
    at least what the index would)."""
    parts, params = [], []
    for needle in terms.substrings:
        sql, p = _like_one(needle, dialect)
        parts.append(sql)
        params += p
    return " AND ".join(parts), params


@dataclasses.dataclass(frozen=True, slots=True)
class RunProgress:
    run_id: int
    first_id: int
    last_id: int
    indexed_to: int
    contiguous: bool = True


def enabled(conn: Executes) -> bool:
    found = conn.execute("SELECT enabled FROM search_settings WHERE id = 1").fetchone()
    return bool(found and found[0])


def progress(conn: Executes) -> dict[int, RunProgress]:
    """Each run's indexing progress (empty when the index is off)."""
    return {r[0]: RunProgress(*r) for r in conn.execute(
        "SELECT run_id, first_id, last_id, indexed_to, contiguous FROM search_runs")}


def queued(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM search_queue").fetchone()[0])


def status(conn: sqlite3.Connection, *, measure: bool = True) -> SearchStatus:
    """Progress over the ready runs, and (``measure``) the index's size on disk (reads its
    pages' directory: a fraction of a second on a million prompts; not for the GUI thread)."""
    if not enabled(conn):
        return SearchStatus(False, 0, 0, 0)
    ready = dict(conn.execute("SELECT id, prompt_count FROM runs WHERE status = 'ready'"))
    done = 0
    for p in progress(conn).values():
        if p.run_id in ready:
            done += max(0, min(p.indexed_to, p.last_id) - p.first_id + 1)
    done -= queued(conn)
    size = 0
    if measure:
        size = int(conn.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE aggregate = TRUE AND name IN "
            "(SELECT name FROM sqlite_schema WHERE name LIKE ?)",
            (f"{FTS_TABLE}%",)).fetchone()[0])
    return SearchStatus(True, max(done, 0), sum(ready.values()), size)


def turn_on(conn: sqlite3.Connection) -> None:
    """Turn the index on (the indexer then builds it in the background)."""
    with conn:
        conn.execute(_CREATE)
        conn.execute("INSERT INTO search_settings (id, enabled) VALUES (1, 1) "
                     "ON CONFLICT (id) DO UPDATE SET enabled = 1")


def turn_off(conn: sqlite3.Connection) -> None:
    """Turn the index off and drop it (its disk space is free for reuse; searches scan)."""
    with conn:
        conn.execute("INSERT INTO search_settings (id, enabled) VALUES (1, 0) "
                     "ON CONFLICT (id) DO UPDATE SET enabled = 0")
        conn.execute("DELETE FROM search_runs")
        conn.execute("DELETE FROM search_queue")
        conn.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def _texts(rows: Sequence[Sequence[Any]]) -> list[tuple[int, str, str, str]]:
    out = []
    for pid, custom_id, endpoint, body, response in rows:
        request = json_or_none(body)
        answer = json_or_none(response)
        out.append((pid, custom_id, prompt_text(request), answer_text(endpoint, answer)))
    return out


_READ = "SELECT id, user_custom_id, endpoint, body, response FROM prompts"


def step(conn: sqlite3.Connection, chunk: int = CHUNK) -> bool:
    """One short write transaction of indexing work; False when there is none.

    In order: entries of deleted runs go; a new run gets its progress row (and any stale
    entries in its id range go: SQLite reuses the ids of a deleted last run); queued prompts
    are indexed again; then the next chunk of the first run not done. Reads happen inside the
    transaction, so an answer written meanwhile is either read here or queued by the trigger.
    """
    if not enabled(conn):
        return False
    conn.execute(_CREATE)  # on by default: made by the first step (a migration cannot say it)
    conn.execute("BEGIN IMMEDIATE")
    try:
        worked = _step(conn, chunk)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return worked


def _step(conn: sqlite3.Connection, chunk: int) -> bool:
    runs = dict(conn.execute("SELECT id, status FROM runs"))
    known = progress(conn)
    for p in known.values():
        if p.run_id not in runs:  # deleted: its entries go, a chunk at a time (those of
            # prompts gone: another run's ids may lie between, if imports interleaved)
            high = min(p.last_id, p.first_id + chunk - 1)
            conn.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid BETWEEN ? AND ? AND rowid NOT IN "
                         "(SELECT id FROM prompts WHERE id BETWEEN ? AND ?)",
                         (p.first_id, high, p.first_id, high))
            if high >= p.last_id:
                conn.execute("DELETE FROM search_runs WHERE run_id = ?", (p.run_id,))
            else:
                conn.execute("UPDATE search_runs SET first_id = ? WHERE run_id = ?",
                             (high + 1, p.run_id))
            return True
    for run_id, state in runs.items():
        if state == "ready" and run_id not in known:
            low, high, count = conn.execute("SELECT min(id), max(id), count(*) FROM prompts "
                                            "WHERE run_id = ?", (run_id,)).fetchone()
            if low is None:
                continue
            # Entries a deleted run left under ids SQLite gave this run again: stale.
            conn.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN (SELECT id FROM prompts "
                         "WHERE run_id = ?)", (run_id,))
            conn.execute("INSERT INTO search_runs (run_id, first_id, last_id, indexed_to, "
                         "contiguous) VALUES (?, ?, ?, ?, ?)",
                         (run_id, low, high, low - 1, int(count == high - low + 1)))
            return True
    again = [i for (i,) in conn.execute("SELECT prompt_id FROM search_queue ORDER BY prompt_id "
                                        "LIMIT ?", (chunk,))]
    if again:
        marks = ", ".join("?" for _ in again)
        rows = conn.execute(f"{_READ} WHERE id IN ({marks})", again).fetchall()
        conn.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})", again)
        conn.executemany(f"INSERT INTO {FTS_TABLE} (rowid, custom_id, prompt, answer) "
                         "VALUES (?, ?, ?, ?)", _texts(rows))
        conn.execute(f"DELETE FROM search_queue WHERE prompt_id IN ({marks})", again)
        return True
    for p in sorted(known.values(), key=lambda x: x.run_id):
        if runs.get(p.run_id) == "ready" and p.indexed_to < p.last_id:
            high = min(p.last_id, p.indexed_to + chunk)
            rows = conn.execute(f"{_READ} WHERE id > ? AND id <= ? AND run_id = ?",
                                (p.indexed_to, high, p.run_id)).fetchall()
            conn.executemany(f"INSERT INTO {FTS_TABLE} (rowid, custom_id, prompt, answer) "
                             "VALUES (?, ?, ?, ?)", _texts(rows))
            conn.execute("UPDATE search_runs SET indexed_to = ? WHERE run_id = ?",
                         (high, p.run_id))
            return True
    return False
