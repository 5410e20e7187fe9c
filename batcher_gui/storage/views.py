"""Reads for the window's views, on a connection of their own that a newer query can interrupt.

The prompts view of a million-prompt workspace never loads everything: it counts (fast), reads
the first page directly (``LIMIT``), builds the whole ordered id list in the background (the
"snapshot": 8 bytes a prompt), and then reads pages of rows by id. Sorting and filtering are SQL.
Each view thread owns one :class:`ViewQueries`; :meth:`ViewQueries.interrupt` (from any thread)
stops its running query when the user has already asked for another.
"""

from __future__ import annotations

import bisect
import dataclasses
from array import array
from collections.abc import Sequence
from datetime import date
from types import SimpleNamespace
from typing import Any, overload

from batcher_gui.domain.answers import answer_text, prompt_text
from batcher_gui.domain.models import Batch, Run
from batcher_gui.domain.progress import run_has_ended
from batcher_gui.domain.rerun import lineage_text
from batcher_gui.domain.review import FacetCounts
from batcher_gui.domain.secrecy import mask, mask_optional
from batcher_gui.domain.states import BATCH_IN_FLIGHT, BATCH_TERMINAL, PromptState
from batcher_gui.domain.views import (
    CheckState,
    PromptDetail,
    PromptQuery,
    PromptRow,
    PromptSort,
    RunOverview,
    Transition,
)
from batcher_gui.domain.wording import provider_words
from batcher_gui.storage.checks import checked_counts, run_check_counts
from batcher_gui.storage.dialect import SQLITE, Dialect
from batcher_gui.storage.readconn import ReadConn, Where, connect, schema_is_current
from batcher_gui.storage.rows import batch_from_row, json_or_none
from batcher_gui.storage.search import like_condition
from batcher_gui.storage.search_views import FEW, SearchHits, among, membership, walk

__all__ = ["ViewQueries", "IdRanges", "prompt_condition", "schema_is_current"]

#: Characters of a preview (the table shows one line of each prompt and answer).
PREVIEW = 160
_ROW_SQL = ("SELECT id, run_id, batch_id, state, user_custom_id, model, endpoint, body, "
            "response, coalesce(error, delivery_error, ''), input_tokens, output_tokens, "
            "attempts, updated_at, label, note, check_state, coalesce(check_detail, '') "
            "FROM prompts")
_IN_FLIGHT = tuple(s.value for s in BATCH_IN_FLIGHT)
_ENDED = tuple(s.value for s in BATCH_TERMINAL)


def _preview(text: str) -> str:
    text = " ".join(text[: PREVIEW * 2].split())
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


def _row(r: Sequence[Any]) -> PromptRow:
    (pid, run_id, batch_id, state, custom_id, model, endpoint, body, response, error,
     tokens_in, tokens_out, attempts, updated_at, label, note, check, check_detail) = r
    return PromptRow(pid, run_id, batch_id, PromptState(state), custom_id, model, endpoint,
                     _preview(prompt_text(json_or_none(body))),
                     _preview(answer_text(endpoint, json_or_none(response))),
                     _preview(mask(error)) if error else "",
                     tokens_in, tokens_out, attempts, updated_at, label, note,
                     None if check is None else bool(check), check_detail)


def _record(raw: str | None) -> dict[str, Any] | None:
    value = json_or_none(raw.encode()) if raw else None
    return value if isinstance(value, dict) else None


def _transition(r: Sequence[Any]) -> Transition:
    return Transition(r[0], r[1], r[2], mask_optional(r[3]))


def prompt_condition(q: PromptQuery, visible: Sequence[int], *, with_states: bool = True,
           first_id: int | None = None, listing: bool = False,
           text_sql: tuple[str, list[Any]] | None = None,
           dialect: Dialect = SQLITE) -> tuple[str, list[Any]]:
    """SQL condition and parameters for a query over the ``visible`` runs.

    Counting names the runs (``run_id IN (1, 2, 3)``): that leaves out runs being imported or
    deleted, and lets SQLite count in the (run_id, state) index instead of the table. Listing
    in import order without a state filter instead walks the table by id (``+run_id`` keeps
    the index out), from the run's first prompt: the first page then costs 200 rows read,
    not a sort of millions. ``dialect``: the database it runs on (a search scan's LIKE).
    """
    # A facet on a partial index (labels, checks...) is usually a few prompts: found by it.
    by_index = (not listing or bool(with_states and q.states) or q.sort is not PromptSort.ID
                or text_sql is not None
                or bool(q.labels or q.checks or q.finish_reasons or q.error_kinds)
                or q.has_note is not None)
    column = "run_id" if by_index else dialect.unindexed("run_id")
    parts: list[str] = []
    params: list[Any] = []
    if q.run_id is None:
        parts.append(f"{column} IN ({', '.join('?' for _ in visible)})" if visible else "1 = 0")
        params += list(visible)
    else:
        parts.append(f"{column} = ?")
        params.append(q.run_id)
        if not by_index and first_id is not None:
            parts.append("id >= ?")
            params.append(first_id)
    if q.batch_id is not None:
        parts.append("batch_id = ?")
        params.append(q.batch_id)
    if with_states and q.states:
        parts.append(f"state IN ({', '.join('?' for _ in q.states)})")
        params += [s.value for s in q.states]
    if q.model:
        parts.append("model = ?")
        params.append(q.model)
    if q.has_error is True:
        parts.append("(error IS NOT NULL OR delivery_error IS NOT NULL)")
    elif q.has_error is False:
        parts.append("error IS NULL AND delivery_error IS NULL")
    _facet_conditions(q, parts, params)
    if q.text:  # the search index's matches (``text_sql``: see ViewQueries.condition), or a scan
        sql, more = text_sql if text_sql is not None else like_condition(q.text, dialect)
        parts.append(sql)
        params += more
    return " AND ".join(parts), params


def _one_of(column: str, values: Sequence[Any], none: Any, parts: list[str],
            params: list[Any]) -> None:
    """``column`` is one of ``values``; the value ``none`` stands for NULL."""
    if not values:
        return
    given = [v for v in values if v != none]
    either = [f"{column} IN ({', '.join('?' for _ in given)})"] if given else []
    if len(given) < len(values):
        either.append(f"{column} IS NULL")
    parts.append("(" + " OR ".join(either) + ")")
    params += given


_CHECK_SQL = {CheckState.PASSED: "check_state = 1", CheckState.FAILED: "check_state = 0",
              CheckState.UNCHECKED: "check_state IS NULL"}


def _facet_conditions(q: PromptQuery, parts: list[str], params: list[Any]) -> None:
    _one_of("model", q.models, None, parts, params)
    _one_of("label", q.labels, 0, parts, params)
    _one_of("finish_reason", q.finish_reasons, "", parts, params)
    _one_of("error_kind", q.error_kinds, "", parts, params)
    if q.checks:
        parts.append("(" + " OR ".join(_CHECK_SQL[c] for c in q.checks) + ")")
    if q.has_note is True:
        parts.append("note IS NOT NULL")
    elif q.has_note is False:
        parts.append("note IS NULL")


#: custom_ids in natural order: "f2" before "f10" (the digits at the end compared as numbers:
#: same prefix, then shorter first, then as text), which is how ids are usually made.
#: (An expression index of migration 0010 has these same expressions: keep them in step.)
_NATURAL_ID = ("{p}rtrim(user_custom_id, '0123456789') {d}, {p}length(user_custom_id) {d}, "
               "{p}user_custom_id {d}, {p}id {d}")


def _order(q: PromptQuery, *, sort_rows: bool = False, dialect: Dialect = SQLITE) -> str:
    """The ORDER BY; ``sort_rows``: keep the column's index out (``+column``), so SQLite finds
    the rows by the filters' indexes and sorts them."""
    direction = "DESC" if q.descending else "ASC"
    p = dialect.unindexed("") if sort_rows else ""
    if q.sort is PromptSort.ID:
        return f"id {direction}"
    if q.sort is PromptSort.CUSTOM_ID:
        return _NATURAL_ID.format(d=direction, p=p)
    return f"{p}{q.sort.value} {direction}, {p}id {direction}"


def _only_runs(q: PromptQuery) -> bool:
    """No filter but the runs (and the search text)."""
    return (not q.states and not q.model and q.has_error is None and q.batch_id is None
            and not q.models and not q.checks and not q.labels and not q.finish_reasons
            and not q.error_kinds and q.has_note is None)


class IdRanges(Sequence[int]):
    """Consecutive id ranges posing as one list of ids (a million ids: a few numbers, not
    eight megabytes built while holding the interpreter)."""

    def __init__(self, ranges: Sequence[tuple[int, int]]) -> None:
        self._ranges = [(low, high) for low, high in ranges if high >= low]
        self._starts: list[int] = []
        total = 0
        for low, high in self._ranges:
            self._starts.append(total)
            total += high - low + 1
        self._len = total

    def __len__(self) -> int:
        return self._len

    def _at(self, position: int) -> int:
        part = bisect.bisect_right(self._starts, position) - 1
        return self._ranges[part][0] + position - self._starts[part]

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        return self._at(index)


class ViewQueries:
    """A read connection for one view thread (see the module docstring): read-only SQLite,
    or PostgreSQL (``where`` a ``postgresql://`` URL; see storage/readconn.py)."""

    def __init__(self, where: Where) -> None:
        self._conn: ReadConn = connect(where)
        self._dialect = self._conn.dialect
        self._search = SearchHits(self._conn)

    def close(self) -> None:
        self._conn.close()

    def interrupt(self) -> None:
        """Stop the query running now (it raises what ``readconn.interrupted`` recognises)."""
        self._conn.interrupt()

    def data_version(self) -> int:
        """Changes when another connection (this process's engine, another process, another
        machine's on PostgreSQL) commits."""
        return self._conn.data_version()

    def _first_id(self, q: PromptQuery) -> int | None:
        return None if q.run_id is None else self._id_span(q.run_id)[0]

    def _id_span(self, run_id: int) -> tuple[int | None, int | None]:
        """A run's lowest and highest prompt id: one index seek per state (``min(id)`` over
        the (run_id, state, id) index would read every entry of the run)."""
        if not self._dialect.indexes_end_in_id:  # one query: the planner's choice
            found = self._conn.execute("SELECT min(id), max(id) FROM prompts WHERE run_id = ?",
                                       (run_id,)).fetchone()
            return found[0], found[1]
        low: int | None = None
        high: int | None = None
        for state in PromptState:
            for order in ("ASC", "DESC"):
                found = self._conn.execute(
                    "SELECT id FROM prompts WHERE run_id = ? AND state = ? "
                    f"ORDER BY id {order} LIMIT 1", (run_id, state.value)).fetchone()
                if found is not None:
                    low = found[0] if low is None else min(low, found[0])
                    high = found[0] if high is None else max(high, found[0])
        return low, high

    def _plain(self, q: PromptQuery) -> bool:
        """Every prompt of the run(s), in import order: no filter but the runs."""
        return (q.sort is PromptSort.ID and not q.descending and not q.states
                and not q.model and q.has_error is None and not q.text and q.batch_id is None
                and not q.models and not q.checks and not q.labels and not q.finish_reasons
                and not q.error_kinds and q.has_note is None)

    def _visible(self) -> list[int]:
        return [i for (i,) in self._conn.execute("SELECT id FROM runs WHERE status = 'ready'")]

    # -- prompts -------------------------------------------------------------------------
    def _runs(self, q: PromptQuery) -> list[int]:
        visible = self._visible()
        return visible if q.run_id is None else [r for r in visible if r == q.run_id]

    def _hits(self, q: PromptQuery) -> array[int] | None:
        """The search's matches by the search index (None: no search, or a scan)."""
        return self._search.hits(q.text, self._runs(q)) if q.text else None

    def search_is_indexed(self, q: PromptQuery) -> bool:
        return self._hits(q) is not None

    def condition(self, q: PromptQuery, **kwargs: Any) -> tuple[str, list[Any]]:
        """:func:`prompt_condition`, a search answered by the search index when it is on
        (counts by facet use this; a search of many matches passes them all as one list)."""
        hits = self._hits(q)
        return prompt_condition(q, self._visible(), text_sql=None if hits is None else
                                membership(hits), dialect=self._dialect, **kwargs)

    def count(self, q: PromptQuery) -> int:
        if not q.text and _only_runs(q):
            # Every prompt of the runs: their prompt_count (exact: a run's prompts go only
            # with the run), not a walk of ten million index entries (half a second).
            runs = self._runs(q)
            marks = ", ".join("?" for _ in runs)
            return int(self._conn.execute(
                f"SELECT coalesce(sum(prompt_count), 0) FROM runs WHERE id IN ({marks})",
                runs).fetchone()[0]) if runs else 0
        hits = self._hits(q)
        if hits is not None and _only_runs(q):
            return len(hits)
        where, params = self.condition(q)
        return int(self._conn.execute(f"SELECT count(*) FROM prompts WHERE {where}",
                                      params).fetchone()[0])

    def counts_by_state(self, q: PromptQuery) -> dict[PromptState, int]:
        """Counts by state of the query without its state filter (the filter's menu).

        One run at a time: each is a walk along the (run_id, state) index, already grouped.
        """
        counts: dict[PromptState, int] = {}
        for run_id in [q.run_id] if q.run_id is not None else self._visible():
            one = dataclasses.replace(q, run_id=run_id)
            hits = self._hits(one)  # a search: by the search index when it is on
            where, params = prompt_condition(one, [], with_states=False, text_sql=None
                                             if hits is None else membership(hits),
                                             dialect=self._dialect)
            for state, n in self._conn.execute(
                    f"SELECT state, count(*) FROM prompts WHERE {where} GROUP BY state",
                    params):
                counts[PromptState(state)] = counts.get(PromptState(state), 0) + n
        return counts

    def page(self, q: PromptQuery, offset: int, limit: int) -> list[PromptRow]:
        """Rows ``offset`` .. ``offset + limit`` in the query's order (for the first pages).

        Ids first, then their rows: a sort then carries ids and sort keys through SQLite's
        sorter, not every matching row's request and response (seconds on a million rows).
        """
        if q.text and q.sort is PromptSort.ID and _only_runs(q):
            first = self._search.first(q.text, self._runs(q), offset + limit, q.descending)
            if first is not None:
                return self.rows(first[offset:])
        hits = self._hits(q)
        if hits is not None:
            return self.rows(self._searched(q, hits, offset + limit)[offset:])
        where, params = prompt_condition(q, self._visible(), listing=True,
                                         first_id=self._first_id(q), dialect=self._dialect)
        ids = [i for (i,) in self._conn.execute(
            f"SELECT id FROM prompts WHERE {where} ORDER BY {self._page_order(q, where, params)} "
            "LIMIT ? OFFSET ?", [*params, limit, offset])]
        return self.rows(ids)

    def _page_order(self, q: PromptQuery, where: str, params: list[Any]) -> str:
        """The ORDER BY of a page. Each sortable column has an index (run, column, id): its
        walk yields the first page at once, unless a filter keeps only a few rows of the walk
        (a rare state, a label): then those few are sorted instead (``+column`` keeps the
        column's index out). A capped count tells which (it stops at FEW rows)."""
        order = _order(q)
        if q.sort is PromptSort.ID or _only_runs(q):
            return order
        found = self._conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM prompts WHERE {where} "
                                   f"LIMIT {FEW}) AS capped", params).fetchone()[0]
        return order if found >= FEW else _order(q, sort_rows=True, dialect=self._dialect)

    def _searched(self, q: PromptQuery, hits: array[int], wanted: int | None) -> Sequence[int]:
        """The first ``wanted`` (None: all) ids of a search by the index, in the query's order
        (see storage/search_views.py)."""
        rest = dataclasses.replace(q, text="")
        if _only_runs(rest) and rest.sort is PromptSort.ID:
            if rest.descending:
                return hits[::-1] if wanted is None else hits[::-1][:wanted]
            return hits if wanted is None else hits[:wanted]
        where, params = prompt_condition(rest, self._visible(), listing=True,
                                         first_id=self._first_id(q), dialect=self._dialect)
        if len(hits) <= FEW:
            source, more = among(hits)
            limit = "" if wanted is None else f" LIMIT {int(wanted)}"
            return [i for (i,) in self._conn.execute(
                f"SELECT prompts.id FROM {source} WHERE {where} ORDER BY "
                f"{_order(q, sort_rows=True, dialect=self._dialect)}{limit}", [*more, *params])]
        matches = set(hits)
        return walk(self._conn, f"SELECT id FROM prompts WHERE {where} ORDER BY {_order(q)}",
                    params, matches.__contains__, wanted)

    def ids(self, q: PromptQuery) -> Sequence[int]:
        """Every matching prompt id, in order (the snapshot pages are read by).

        A run's prompts have consecutive ids (one import; only whole runs are deleted), so the
        plain snapshot is a few ranges, checked against the run's count; anything else (or a
        range with holes) is a query.
        """
        if self._plain(q):
            ranges = self._ranges([q.run_id] if q.run_id is not None else self._visible())
            if ranges is not None:
                return IdRanges(ranges)
        hits = self._hits(q)
        if hits is not None:
            return self._searched(q, hits, None)
        where, params = prompt_condition(q, self._visible(), listing=True,
                                         first_id=self._first_id(q), dialect=self._dialect)
        out: array[int] = array("q")
        cursor = self._conn.execute(f"SELECT id FROM prompts WHERE {where} ORDER BY "
                                    f"{_order(q)}", params)
        while chunk := cursor.fetchmany(50_000):
            out.extend(i for (i,) in chunk)
        return out

    def _ranges(self, runs: Sequence[int]) -> list[tuple[int, int]] | None:
        spans = []
        for run_id in runs:
            low, high = self._id_span(run_id)
            if low is None or high is None:
                continue
            count = self._conn.execute("SELECT count(*) FROM prompts WHERE run_id = ?",
                                       (run_id,)).fetchone()[0]
            if count != high - low + 1:
                return None
            spans.append((low, high))
        return sorted(spans)

    def rows(self, ids: Sequence[int]) -> list[PromptRow]:
        """The rows of these prompts, in the order given (missing ones left out)."""
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        found = {r[0]: r for r in self._conn.execute(f"{_ROW_SQL} WHERE id IN ({marks})",
                                                     list(ids))}
        return [_row(found[i]) for i in ids if i in found]

    def newest_id(self) -> int:
        return int(self._conn.execute("SELECT coalesce(max(id), 0) FROM prompts").fetchone()[0])

    def detail(self, prompt_id: int) -> PromptDetail | None:
        found = self._conn.execute(f"{_ROW_SQL} WHERE id = ?", (prompt_id,)).fetchone()
        if found is None:
            return None
        extra = self._conn.execute("SELECT line_no, body, response, error, delivery_error "
                                   "FROM prompts WHERE id = ?", (prompt_id,)).fetchone()
        moves = self._conn.execute("SELECT from_state, to_state, at, reason FROM "
                                   "prompt_transitions WHERE prompt_id = ? ORDER BY id",
                                   (prompt_id,))
        profile = self._conn.execute("SELECT p.name, p.kind FROM runs r JOIN profiles p ON "
                                     "p.id = r.profile_id WHERE r.id = ?", (found[1],)).fetchone()
        # Texts masked again on the way out: a workspace written before masking may hold a key.
        return PromptDetail(_row(found), extra[0], extra[1], extra[2], mask_optional(extra[3]),
                            mask_optional(extra[4]), tuple(_transition(m) for m in moves),
                            provider_words(*profile) if profile else "")

    def facet_counts(self, q: PromptQuery) -> FacetCounts:
        """Counts of each facet (state, model, check, label, note, finish reason, error kind),
        each under every filter but its own (see storage.facets)."""
        from batcher_gui.storage.facets import facet_counts  # it imports this module
        hits = self._hits(q)  # a search the search index answers: its matches, not a scan
        return facet_counts(self._conn, q, self._visible(),
                            None if hits is None else membership(hits))

    def label_names(self) -> dict[int, str]:
        return dict(self._conn.execute("SELECT key, name FROM label_names ORDER BY key"))

    def models(self, run_id: int | None) -> list[str]:
        sql = "SELECT DISTINCT model FROM batches"
        params: list[Any] = []
        if run_id is not None:
            sql += " WHERE run_id = ?"
            params.append(run_id)
        return [m for (m,) in self._conn.execute(sql + " ORDER BY model", params)]

    # -- runs ------------------------------------------------------------------------------
    def run_overviews(self) -> list[RunOverview]:
        """Every visible run, newest first, with counts, usage and timing."""
        conn = self._conn
        runs = conn.execute(
            "SELECT r.id, r.name, r.source_path, r.source_format, r.profile_id, r.created_at, "
            "r.prompt_count, r.delivery_kind, r.delivery_target, p.name, p.kind, r.origin_run_id, "
            "r.origin_change FROM runs r JOIN "
            "profiles p ON p.id = r.profile_id WHERE r.status = 'ready' ORDER BY r.id DESC"
        ).fetchall()
        counts: dict[int, dict[PromptState, int]] = {}
        for run_id, state, n in conn.execute(
                "SELECT run_id, state, count(*) FROM prompts GROUP BY run_id, state"):
            counts.setdefault(run_id, {})[PromptState(state)] = n
        usage: dict[int, list[tuple[str, int, int]]] = {}
        models: dict[int, list[str]] = {}
        timing: dict[int, tuple[int, int, float | None, float | None, int]] = {}
        cache: dict[int, dict[str, tuple[int, int, int]]] = {}
        for run_id, model, tin, tout, cached, written, written_1h in conn.execute(
                "SELECT run_id, model, sum(coalesce(input_tokens, 0)), "
                "sum(coalesce(output_tokens, 0)), sum(coalesce(cached_input_tokens, 0)), "
                "sum(coalesce(cache_write_tokens, 0)), sum(coalesce(cache_write_1h_tokens, 0)) "
                "FROM batches WHERE run_id IS NOT NULL GROUP BY run_id, model"):
            models.setdefault(run_id, []).append(model)
            if tin or tout:
                usage.setdefault(run_id, []).append((model, tin, tout))
            if cached or written:
                cache.setdefault(run_id, {})[model] = (cached, written, written_1h)
        estimate: dict[int, list[tuple[str, int, int, int]]] = {}
        for run_id, model, n, tokens_in, bound in conn.execute(
                "SELECT run_id, model, prompts, input_tokens, output_bound FROM run_tokens "
                "ORDER BY run_id, model"):
            estimate.setdefault(run_id, []).append((model, n, tokens_in, bound))
        waiting = dict(conn.execute(
            "SELECT run_id, min(updated_at) FROM batches WHERE state = 'draft' AND "
            "request_count > 0 AND run_id IS NOT NULL GROUP BY run_id").fetchall())
        marks = ", ".join("?" for _ in _IN_FLIGHT)
        for run_id, total, flying, started, last, ended in conn.execute(
                f"SELECT b.run_id, count(*), sum(CASE WHEN b.state IN ({marks}) THEN 1 END), "
                "(SELECT min(t.at) FROM batch_transitions t JOIN batches bb ON bb.id = "
                " t.batch_id WHERE bb.run_id = b.run_id AND t.to_state = 'uploading'), "
                "max(b.updated_at), sum(CASE WHEN b.state IN ("
                f"{', '.join('?' for _ in _ENDED)}) THEN 1 END) FROM batches b "
                "WHERE b.run_id IS NOT NULL GROUP BY b.run_id", [*_IN_FLIGHT, *_ENDED]):
            timing[run_id] = (total, flying or 0, started, last, ended or 0)
        checks = run_check_counts(conn)
        out = []
        for (run_id, name, source, fmt, profile_id, created, prompt_count, kind, target,
             profile, profile_kind, origin_id, origin_change) in runs:
            run = Run(run_id, name, source, fmt, profile_id, created, prompt_count, kind, target)
            total, flying, started, last, ended = timing.get(run_id, (0, 0, None, None, 0))
            by_state = counts.get(run_id, {})
            finished = last if run_has_ended(by_state, total, ended) else None
            out.append(RunOverview(run, profile, tuple(models.get(run_id, ())), by_state,
                                   tuple(usage.get(run_id, ())), total, flying, started,
                                   finished, tuple(estimate.get(run_id, ())),
                                   cache.get(run_id, {}), waiting.get(run_id),
                                   profile_kind=profile_kind,
                                   lineage=lineage_text(origin_id, _record(origin_change)),
                                   checks=checked_counts(checks, run_id, prompt_count)))
        return out

    def spend_by_day(self, since: float) -> list[tuple[str, str, int, int, int, int, int]]:
        """(local day, model, input, output, cache-read, cache-written and of those
        written-for-an-hour input tokens) the provider reported for batches that ended since
        ``since`` (their last change). Days are this machine's (a team database's server may
        be elsewhere): grouped here, from the batches (a few thousand a month at most)."""
        days: dict[tuple[str, str], list[int]] = {}
        for at, model, *tokens in self._conn.execute(
                "SELECT updated_at, model, input_tokens, output_tokens, cached_input_tokens, "
                "cache_write_tokens, cache_write_1h_tokens FROM batches "
                "WHERE input_tokens IS NOT NULL AND updated_at >= ?", (since,)):
            sums = days.setdefault((date.fromtimestamp(at).isoformat(), model), [0] * 5)
            for i, n in enumerate(tokens):
                sums[i] += int(n or 0)
        return [(day, model, s[0], s[1], s[2], s[3], s[4]) for (day, model), s in
                sorted(days.items())]

    def batches(self, run_id: int | None = None) -> list[Batch]:
        """Batches (of one run, or all), newest first; empty drafts of imports left out."""
        sql = ("SELECT * FROM batches WHERE (state != 'draft' OR request_count > 0)"
               + (" AND run_id = ?" if run_id is not None else "") + " ORDER BY id DESC")
        cursor = self._conn.execute(sql, () if run_id is None else (run_id,))
        names = [d[0] for d in cursor.description]
        return [batch_from_row(SimpleNamespace(**dict(zip(names, r, strict=True))))
                for r in cursor]

    def batch(self, batch_id: int) -> Batch | None:
        """One batch as it is now (None: gone with its run)."""
        cursor = self._conn.execute("SELECT * FROM batches WHERE id = ?", (batch_id,))
        names = [d[0] for d in cursor.description]
        found = cursor.fetchone()
        return (None if found is None else
                batch_from_row(SimpleNamespace(**dict(zip(names, found, strict=True)))))

    def providers(self) -> dict[int, str]:
        """Each profile id's name and provider in words ("claude (Anthropic)")."""
        return {i: provider_words(name, kind) for i, name, kind in
                self._conn.execute("SELECT id, name, kind FROM profiles")}

    def batch_transitions(self, batch_id: int) -> list[Transition]:
        return [_transition(r) for r in self._conn.execute(
            "SELECT from_state, to_state, at, reason FROM batch_transitions WHERE batch_id = ? "
            "ORDER BY id", (batch_id,))]


