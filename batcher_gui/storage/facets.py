"""Facet counts of the prompts view: by state, model, check, label, note, finish reason and
error kind, each counted under every filter except its own (Datasette's facets).

Two ways, chosen by the query:

* Only facet filters (and the runs): each facet is read from its own index — the state
  facet from ``ix_prompts_run_state``, labels, checks, finish reasons, error kinds and notes
  from their partial indexes (``... WHERE x IS NOT NULL``: only prompts that have one); the
  prompts without one are the total minus those. A million-prompt run costs a few index walks,
  not a table scan.
* A search text, a batch, the error filter...: the matching prompts must be read anyway, so
  they are read once, grouped by every facet column at the same time, and each facet's counts
  are summed from those groups in Python (the groups are few: states x models x labels...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from batcher_gui.domain.review import FacetCounts
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import CheckState, PromptQuery, PromptSort
from batcher_gui.storage.readconn import ReadConn
from batcher_gui.storage.views import prompt_condition

_CHECK_OF = {1: CheckState.PASSED, 0: CheckState.FAILED, None: CheckState.UNCHECKED}
#: The facet filters of a PromptQuery, emptied (the query then filters by runs and the rest).
_NO_FACETS: dict[str, Any] = {"states": (), "models": (), "checks": (), "labels": (),
                              "finish_reasons": (), "error_kinds": (), "has_note": None}


def _without(q: PromptQuery, name: str) -> PromptQuery:
    return dataclasses.replace(q, **{name: _NO_FACETS[name]}, sort=PromptSort.ID,
                               descending=False)


def _only_facets(q: PromptQuery) -> bool:
    """Nothing but facet filters (and runs): each facet can be read from its index."""
    return (not q.text and q.batch_id is None and not q.model and q.has_error is None)


def facet_counts(conn: ReadConn, q: PromptQuery, runs: Sequence[int],
                 text_sql: tuple[str, list[Any]] | None = None) -> FacetCounts:
    """Counts of every facet for ``q`` over ``runs`` (the visible runs, or ``q.run_id``);
    ``text_sql``: the search's condition as the search index answers it (else a scan)."""
    out = FacetCounts()
    for run_id in ([q.run_id] if q.run_id is not None else runs):
        _add(out, _run_counts(conn, dataclasses.replace(q, run_id=run_id), text_sql))
    return out


#: FacetCounts' field of each facet filter.
_FIELD = {"states": "states", "models": "models", "checks": "checks", "labels": "labels",
          "finish_reasons": "finish_reasons", "error_kinds": "error_kinds", "has_note": "notes"}


def _active(q: PromptQuery) -> list[str]:
    return [name for name, empty in _NO_FACETS.items() if getattr(q, name) != empty]


def _run_counts(conn: ReadConn, q: PromptQuery,
                text_sql: tuple[str, list[Any]] | None = None) -> FacetCounts:
    """One run's facets. Only facet filters: the facets not filtered on are counted in one
    grouped pass over the prompts the filters keep (found by the chosen value's index: a
    label is a few prompts), each filtered facet under the others' filters (the same way, or
    from the indexes alone when no other facet filters); nothing chosen: indexes alone."""
    if not _only_facets(q):
        return _sum(_groups(conn, dataclasses.replace(q, **_NO_FACETS), text_sql), _tests(q))
    if _has_facets_index(conn):
        return _sum(_indexed_groups(conn, q), _tests(q))
    active = _active(q)
    if not active:
        return _by_index(conn, q)
    if len(active) == 1:
        found = _by_complement(conn, q, active[0])
        if found is not None:
            return found
    out = _sum(_groups(conn, q), {})
    for name in active:
        base = _without(q, name)
        counts = _by_index(conn, base) if not _active(base) else _sum(_groups(conn, base), {})
        setattr(out, _FIELD[name], getattr(counts, _FIELD[name]))
    return out


def _add(out: FacetCounts, part: FacetCounts) -> None:
    for name in ("states", "models", "checks", "labels", "finish_reasons", "error_kinds"):
        into: dict[Any, int] = getattr(out, name)
        for key, n in getattr(part, name).items():
            into[key] = into.get(key, 0) + n
    out.notes = (out.notes[0] + part.notes[0], out.notes[1] + part.notes[1])


def _by_complement(conn: ReadConn, q: PromptQuery, name: str) -> FacetCounts | None:
    """One facet filter that keeps most prompts ("no label", "without a note"): every facet
    is the run's counts (indexes alone) minus those of the prompts the filter leaves out, a
    few found by the facet's partial index. None when the prompts kept are the fewer."""
    field = _FIELD[name]
    plain = _by_index(conn, dataclasses.replace(q, **_NO_FACETS))
    if name == "has_note":
        kept, left_out = (plain.notes[0], plain.notes[1]) if q.has_note else plain.notes[::-1]
        other: Any = not q.has_note
    else:
        counts: dict[Any, int] = getattr(plain, field)
        chosen = set(getattr(q, name))
        kept = sum(n for v, n in counts.items() if v in chosen)
        left_out = sum(n for v, n in counts.items() if v not in chosen)
        other = tuple(v for v in counts if v not in chosen)
    if left_out >= kept:
        return None
    if not left_out:
        return plain
    minus = _sum(_groups(conn, dataclasses.replace(q, **{name: other})), {})
    for each in _FIELD.values():
        if each == field:
            continue
        if each == "notes":
            plain.notes = (plain.notes[0] - minus.notes[0], plain.notes[1] - minus.notes[1])
            continue
        into: dict[Any, int] = getattr(plain, each)
        for key, n in getattr(minus, each).items():
            into[key] -= n
            if not into[key]:
                del into[key]
    return plain


# -- only facet filters: each facet from its index ------------------------------------------
class _Totals:
    """count(*) of a query, remembered (several facets often share their query)."""

    def __init__(self, conn: ReadConn) -> None:
        self.conn = conn
        self.known: dict[PromptQuery, int] = {}
        self.by_state: dict[PromptState, int] | None = None

    def states(self, q: PromptQuery) -> dict[PromptState, int]:
        plain = not _active(_without(q, "states"))
        if plain and self.by_state is not None:
            return self.by_state
        where, params = prompt_condition(_without(q, "states"), [], with_states=False,
                                         dialect=self.conn.dialect)
        found = {PromptState(s): n for s, n in self.conn.execute(
            f"SELECT state, count(*) FROM prompts WHERE {where} GROUP BY state", params)}
        if plain:
            self.by_state = found
        return found

    def count(self, q: PromptQuery) -> int:
        if q in self.known:
            return self.known[q]
        if all(getattr(q, name) == empty for name, empty in _NO_FACETS.items()
               if name != "states"):
            # The run's counts by state (an index walk), summed over the states asked for.
            if self.by_state is None:
                self.by_state = self.states(q)
            n = sum(v for s, v in self.by_state.items() if not q.states or s in q.states)
        else:
            where, params = prompt_condition(q, [], dialect=self.conn.dialect)
            n = int(self.conn.execute(f"SELECT count(*) FROM prompts WHERE {where}",
                                      params).fetchone()[0])
        self.known[q] = n
        return n


def _present(conn: ReadConn, q: PromptQuery, column: str) -> dict[Any, int]:
    """Counts by ``column`` of the prompts that have one (its partial index)."""
    where, params = prompt_condition(q, [], dialect=conn.dialect)
    return dict(conn.execute(f"SELECT {column}, count(*) FROM prompts WHERE {where} AND "
                             f"{column} IS NOT NULL GROUP BY {column}", params).fetchall())


def _by_index(conn: ReadConn, q: PromptQuery) -> FacetCounts:
    totals = _Totals(conn)
    out = FacetCounts(states=totals.states(q))

    def with_none(name: str, column: str, none: Any) -> dict[Any, int]:
        base = _without(q, name)
        found = _present(conn, base, column)
        missing = totals.count(base) - sum(found.values())
        if missing:
            found[none] = missing
        return found

    out.labels.update(with_none("labels", "label", 0))
    out.finish_reasons.update(with_none("finish_reasons", "finish_reason", ""))
    out.error_kinds.update(with_none("error_kinds", "error_kind", ""))
    out.checks.update({_CHECK_OF[k]: n for k, n in
                       with_none("checks", "check_state", None).items()})
    base = _without(q, "has_note")
    where, params = prompt_condition(base, [], dialect=conn.dialect)
    noted = int(conn.execute(f"SELECT count(*) FROM prompts WHERE {where} AND note IS NOT NULL",
                             params).fetchone()[0])
    out.notes = (noted, totals.count(base) - noted)
    base = _without(q, "models")
    # A run's prompts are batched by model: one model among its batches is every prompt's.
    models = [m for (m,) in conn.execute("SELECT DISTINCT model FROM batches WHERE run_id = ?",
                                         (q.run_id,))]
    if len(models) == 1:
        n = totals.count(base)
        if n:
            out.models[models[0]] = n
    else:
        where, params = prompt_condition(base, [], dialect=conn.dialect)
        out.models.update(conn.execute(f"SELECT model, count(*) FROM prompts WHERE {where} "
                                       "GROUP BY model", params).fetchall())
    return out


# -- other filters: one pass, grouped by every facet column ----------------------------------
# Grouped by expressions, not bare columns: no index is chosen for the grouping's order, so
# SQLite finds the rows by the filter's own index (a chosen label: its partial index).
_GROUPS = ("SELECT state, model, coalesce(label, 0), check_state, coalesce(finish_reason, ''), "
           "coalesce(error_kind, ''), note IS NOT NULL, count(*) FROM prompts WHERE {where} "
           "GROUP BY {p}state, {p}model, 3, {p}check_state, 5, 6, 7")
_Group = tuple[str, str, int, int | None, str, str, int, int]


def _tests(q: PromptQuery) -> dict[str, Callable[[_Group], bool]]:
    """Each facet filter of ``q`` as a test of a group (the SQL's meaning, in Python)."""
    states = {s.value for s in q.states}
    checks = {c for c in q.checks}
    has_note = q.has_note
    tests: dict[str, Callable[[_Group], bool]] = {}
    if states:
        tests["states"] = lambda g: g[0] in states
    if q.models:
        tests["models"] = lambda g: g[1] in q.models
    if q.labels:
        tests["labels"] = lambda g: g[2] in q.labels
    if checks:
        tests["checks"] = lambda g: _CHECK_OF[g[3]] in checks
    if q.finish_reasons:
        tests["finish_reasons"] = lambda g: g[4] in q.finish_reasons
    if q.error_kinds:
        tests["error_kinds"] = lambda g: g[5] in q.error_kinds
    if has_note is not None:
        tests["has_note"] = lambda g: bool(g[6]) is has_note
    return tests


#: A covering index of every facet column, in this order (proposed for the schema: see
#: FACETS_INDEX_SQL). With it, one walk of a run's index entries, already in group order, counts
#: every facet under any facet filters (0.3 s for 1,000,000 prompts instead of seconds).
FACETS_INDEX = "ix_prompts_facets"
FACETS_INDEX_SQL = (f"CREATE INDEX {FACETS_INDEX} ON prompts (run_id, state, model, label, "
                    "check_state, finish_reason, error_kind, note)")
_INDEXED_GROUPS = ("SELECT state, model, label, check_state, finish_reason, error_kind, "
                   "note IS NOT NULL, count(*) FROM prompts WHERE run_id = ? GROUP BY state, "
                   "model, label, check_state, finish_reason, error_kind, note")


def _has_facets_index(conn: ReadConn) -> bool:
    found = (conn.execute("SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND "
                          "indexname = ?", (FACETS_INDEX.lower(),))
             if conn.dialect.postgres else
             conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                          (FACETS_INDEX,)))
    return found.fetchone() is not None


def _indexed_groups(conn: ReadConn, q: PromptQuery) -> list[_Group]:
    """Every group of the run (from the covering index), notes folded to has / has not."""
    merged: dict[tuple[Any, ...], int] = {}
    for state, model, label, check, finish, error, noted, n in conn.execute(
            _INDEXED_GROUPS, (q.run_id,)):
        key = (state, model, label or 0, check, finish or "", error or "", noted)
        merged[key] = merged.get(key, 0) + n
    return [(*key, n) for key, n in merged.items()]


def _groups(conn: ReadConn, q: PromptQuery,
            text_sql: tuple[str, list[Any]] | None = None) -> list[_Group]:
    where, params = prompt_condition(q, [], text_sql=text_sql, dialect=conn.dialect)
    plus = conn.dialect.unindexed("")
    return conn.execute(_GROUPS.format(where=where, p=plus), params).fetchall()


def _sum(groups: list[_Group], tests: dict[str, Callable[[_Group], bool]]) -> FacetCounts:
    """Each facet's counts from the groups that pass every test but the facet's own."""
    out = FacetCounts()
    noted = [0, 0]
    # Which facet's dict a group adds to, under which key (a facet ignores its own filter).
    keys: tuple[tuple[str, Callable[[_Group], Any]], ...] = (
        ("states", lambda g: PromptState(g[0])), ("models", lambda g: g[1]),
        ("labels", lambda g: g[2]), ("checks", lambda g: _CHECK_OF[g[3]]),
        ("finish_reasons", lambda g: g[4]), ("error_kinds", lambda g: g[5]))
    for g in groups:
        failed = [name for name, test in tests.items() if not test(g)]
        if len(failed) > 1:
            continue
        for name, key in keys:
            if not failed or failed == [name]:
                into: dict[Any, int] = getattr(out, name)
                k = key(g)
                into[k] = into.get(k, 0) + g[7]
        if not failed or failed == ["has_note"]:
            noted[0 if g[6] else 1] += g[7]
    out.notes = (noted[0], noted[1])
    return out
