"""Searches with the full-text index, for the prompts view (storage/views.py).

A search's matches are found once, as an ordered list of prompt ids (the index for what it
holds, a LIKE scan of the rest; see storage/search.py), and kept while the workspace does not
change: the first page, the snapshot and the count of one search then cost one index read.
Pages are then cut from that list:

- import order, no other filter: a slice of it;
- few matches: ``id IN (those)`` with the other filters, sorted by SQLite (a few thousand rows);
- many matches in another order: the sort's index walked (every sortable column has one) and
  rows kept while they are matches; many matches means the first 200 come early in the walk.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from batcher_gui.domain.search import parse
from batcher_gui.storage.readconn import ReadConn
from batcher_gui.storage.search import FTS_TABLE, enabled, like_terms, progress

#: Up to this many matches, SQLite sorts them (fast); above, the sort's index is walked.
FEW = 20_000
#: Ids read per step of a walk.
_WALK_CHUNK = 2_000


class SearchHits:
    """The matches of the last search on one read connection (see the module docstring)."""

    def __init__(self, conn: ReadConn) -> None:
        self._conn = conn
        self._key: tuple[Any, ...] | None = None
        self._ids: array[int] = array("q")

    def hits(self, text: str, runs: Sequence[int]) -> array[int] | None:
        """Every prompt of ``runs`` the search matches, in id order; None when the index is
        not used (turned off, or nothing in the text it can search for): the caller scans."""
        terms = parse(text)
        if terms is None or not _has_index(self._conn):
            return None
        version = self._conn.data_version()
        key = (text, tuple(runs), version, getattr(self._conn, "total_changes", 0))
        if key == self._key:
            return self._ids
        known = progress(self._conn)
        ids: array[int] = array("q")
        extra: list[int] = []
        like, like_params = like_terms(terms)
        for run_id in sorted(runs):
            p = known.get(run_id)
            indexed_to = -1 if p is None else min(p.indexed_to, p.last_id)
            if p is not None and indexed_to >= p.first_id:
                # As one JSON array: a million ids in a few ms (not a million Python rows).
                # Ids interleaved with another run's: each match checked against the run.
                check = ("" if p.contiguous else
                         " CROSS JOIN prompts p ON p.id = m.rowid WHERE p.run_id = ?")
                found = self._conn.execute(
                    f"SELECT json_group_array(m.rowid) FROM (SELECT rowid FROM {FTS_TABLE} "
                    f"WHERE {FTS_TABLE} MATCH ? AND rowid BETWEEN ? AND ? ORDER BY rowid) "
                    f"AS m{check}", (terms.match, p.first_id, indexed_to,
                                     *(() if p.contiguous else (run_id,)))).fetchone()[0]
                ids.extend(orjson.loads(found))
            # Not indexed yet (the whole run, or past indexed_to): scanned.
            if p is None:
                sql, params = "run_id = ?", [run_id]
            else:  # by id range (the run's prompts are first_id..last_id)
                sql, params = "+run_id = ? AND id > ? AND id <= ?", [run_id, indexed_to,
                                                                     p.last_id]
            extra += [i for (i,) in self._conn.execute(
                f"SELECT id FROM prompts WHERE {sql} AND {like}", [*params, *like_params])]
        if runs:
            marks = ", ".join("?" for _ in runs)
            extra += [i for (i,) in self._conn.execute(
                "SELECT p.id FROM search_queue q CROSS JOIN prompts p ON p.id = q.prompt_id "
                f"WHERE p.run_id IN ({marks}) AND {like}", [*runs, *like_params])]
        if extra:
            ids = array("q", sorted(set(ids).union(extra)))
        self._key, self._ids = key, ids
        return ids


    def first(self, text: str, runs: Sequence[int], wanted: int,
              descending: bool) -> list[int] | None:
        """The first ``wanted`` matches in id order, read straight off the index (no list of
        every match: a common word's first page in milliseconds); None when some of ``runs``
        is not wholly indexed (then :meth:`hits` it is)."""
        terms = parse(text)
        if terms is None or not _has_index(self._conn):
            return None
        known = progress(self._conn)
        spans = []
        for run_id in runs:
            p = known.get(run_id)
            if p is None or p.indexed_to < p.last_id or not p.contiguous:
                return None
            spans.append((p.first_id, p.last_id))
        if self._conn.execute("SELECT 1 FROM search_queue LIMIT 1").fetchone() is not None:
            return None
        out: list[int] = []
        order = "DESC" if descending else "ASC"
        for low, high in sorted(spans, reverse=descending):
            out += [i for (i,) in self._conn.execute(
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? AND rowid BETWEEN ? "
                f"AND ? ORDER BY rowid {order} LIMIT ?", (terms.match, low, high,
                                                         wanted - len(out)))]
            if len(out) >= wanted:
                break
        return out


def _has_index(conn: ReadConn) -> bool:
    # The index is SQLite's FTS5: a PostgreSQL workspace's searches scan.
    return conn.dialect.has_fts5 and enabled(conn)


def membership(ids: Sequence[int]) -> tuple[str, list[Any]]:
    """A condition: the prompt is one of ``ids``."""
    return "id IN (SELECT value FROM json_each(?))", [orjson.dumps(list(ids)).decode()]


def among(ids: Sequence[int]) -> tuple[str, list[Any]]:
    """The FROM of a query over a few ``ids``: looked up by id, one by one (``CROSS JOIN``
    keeps SQLite from walking a whole run's index instead)."""
    return ("(SELECT value AS pid FROM json_each(?)) AS j CROSS JOIN prompts "
            "ON prompts.id = j.pid",
            [orjson.dumps(list(ids)).decode()])


def walk(conn: ReadConn, sql: str, params: list[Any], keep: Callable[[int], bool],
         wanted: int | None) -> list[int]:
    """The ids ``sql`` yields (in its order) that ``keep`` accepts, up to ``wanted`` (None:
    all)."""
    out: list[int] = []
    cursor = conn.execute(sql, params)
    while chunk := cursor.fetchmany(_WALK_CHUNK):
        out.extend(i for (i,) in chunk if keep(i))
        if wanted is not None and len(out) >= wanted:
            return out[:wanted]
    return out
