"""The search index and the sort indexes: what a search finds with the index equals what it
finds without (for word queries), prompts the index does not hold yet are still found, the index
goes when turned off or its run is deleted, and every sort order is the plain ORDER BY's.

The index is SQLite's (FTS5): its tests run on SQLite; on PostgreSQL searches scan (substrings,
any case), the indexer says the index is not available, and sorting is the plain ORDER BY's."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from batcher_gui.app.search_index import SearchIndexer
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.search import match_spans, parse
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import PromptQuery, PromptSort
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import Store, search
from batcher_gui.storage import views as views_module
from batcher_gui.storage.user_actions import UserActions
from batcher_gui.storage.views import ViewQueries

WORDS = ["apple", "banana", "cherry", "date", "elder", "fig", "grape"]


def _import(store: Store, tmp_path: Path, name: str, n: int) -> int:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(json.dumps(
        {"custom_id": f"{name}-item{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "m" if i % 3 else "n",
                  "messages": [{"role": "system", "content": "Sort fruit."},
                               {"role": "user", "content": f"{WORDS[i % 7]} {WORDS[i % 5]} "
                                                           f"tree{i % 4}"}]}})
        for i in range(n)) + "\n")
    return import_file(store, path, ImportOptions(), run_name=name).run.id


def _answer(conn: Any, where: str, text: str) -> None:
    response = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant",
                                                                 "content": text},
                                        "finish_reason": "stop"}]})
    conn.execute(f"UPDATE prompts SET response = ?, state = 'processed', "
                 f"output_tokens = id % 7, input_tokens = id % 11 WHERE {where}",
                 (response.encode(),))


#: The search index's own tests: SQLite only (the ``backend`` fixture given one value).
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


class _Sql:
    """SQL in SQLite's words on either database (one write transaction a statement)."""

    def __init__(self, store: Store) -> None:
        self.db = store.db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.db.write() as c:
            result = c.exec_driver_sql(sql, tuple(params))
            return list(result.fetchall()) if result.returns_rows else []


@pytest.fixture
def sql(store: Store) -> _Sql:
    return _Sql(store)


@pytest.fixture
def conn(store: Store) -> Iterator[sqlite3.Connection]:
    assert store.db.url is None, "a SQLite test (mark it sqlite_only)"
    c = sqlite3.connect(store.db.path, isolation_level=None)
    c.execute("PRAGMA busy_timeout = 5000")
    yield c
    c.close()


def _build(conn: sqlite3.Connection) -> None:
    search.turn_on(conn)
    while search.step(conn, chunk=7):
        pass


def _ids(views: ViewQueries, q: PromptQuery) -> list[int]:
    return list(views.ids(q))


def test_terms_are_words_prefixes_and_phrases() -> None:
    terms = parse('clas "omega alpha" request-42 !!')
    assert terms is not None and terms.match == '"clas"* "omega alpha" "request 42"*'
    assert parse("  ?! ") is None
    assert match_spans("Classify: the Omega alpha, subclass", 'clas "omega alpha"') == [
        (0, 4), (14, 25)]
    assert match_spans("a subclass", "clas", words=False) == [(5, 9)]


@sqlite_only
def test_search_by_word_prefix_and_phrase_in_prompt_answer_and_custom_id(
        store: Store, tmp_path: Path, conn: sqlite3.Connection) -> None:
    run = _import(store, tmp_path, "r", 40)
    _answer(conn, "id % 2 = 0", "The verdict: sweet Zanzibar")
    _build(conn)
    views = ViewQueries(store.db.url or store.db.path)
    q = PromptQuery(run_id=run)
    assert views.count(q.__class__(run_id=run, text="zanzib")) == 20  # answer, prefix
    assert views.count(PromptQuery(run_id=run, text="cherry")) == len(
        [i for i in range(40) if i % 7 == 2 or i % 5 == 2])  # prompt text
    assert [r.custom_id for r in views.page(PromptQuery(run_id=run, text="r-item17"), 0, 5)
            ] == ["r-item17"]  # custom_id (and its prefix: r-item17 only, no r-item170)
    assert views.count(PromptQuery(run_id=run, text='"sweet zanzibar"')) == 20
    assert views.count(PromptQuery(run_id=run, text='"zanzibar sweet"')) == 0
    assert views.count(PromptQuery(run_id=run, text="sort")) == 0  # system prompt: not indexed
    status = search.status(conn)
    assert status.enabled and status.percent == 100 and status.bytes > 0
    assert status.words().startswith("Search index: ") and status.words().endswith("100 %")


@sqlite_only
def test_word_searches_equal_the_scan(store: Store, tmp_path: Path,
                                      conn: sqlite3.Connection) -> None:
    run = _import(store, tmp_path, "r", 60)
    _answer(conn, "id % 3 = 0", "grapefruit is not a grape")
    before = ViewQueries(store.db.url or store.db.path)
    queries = ["apple", "banana", "grapefruit", "tree3", "r-item1"]
    scanned = {t: _ids(before, PromptQuery(run_id=run, text=t)) for t in queries}
    _build(conn)
    after = ViewQueries(store.db.url or store.db.path)
    for text in queries:
        for sort in (PromptSort.ID, PromptSort.MODEL, PromptSort.CUSTOM_ID):
            q = PromptQuery(run_id=run, text=text, sort=sort)
            expected = _ids(before, q) if sort is not PromptSort.ID else scanned[text]
            assert _ids(after, q) == expected, (text, sort)
            assert [r.id for r in after.page(q, 0, 7)] == expected[:7]
            assert after.count(q) == len(expected)


@sqlite_only
def test_answers_and_prompts_not_yet_indexed_are_found(store: Store, tmp_path: Path,
                                                       conn: sqlite3.Connection) -> None:
    run = _import(store, tmp_path, "r", 30)
    search.turn_on(conn)
    assert search.step(conn, chunk=10) and search.step(conn, chunk=10)  # run row, 10 prompts
    views = ViewQueries(store.db.url or store.db.path)
    apples = len([i for i in range(30) if i % 7 == 0 or i % 5 == 0])
    assert views.count(PromptQuery(run_id=run, text="apple")) == apples  # 10 indexed, 20 not
    _answer(conn, "id IN (SELECT id FROM prompts ORDER BY id LIMIT 2)", "kiwi")  # indexed
    _answer(conn, "id = (SELECT max(id) FROM prompts)", "kiwi")  # not yet
    assert search.queued(conn) == 2
    assert views.count(PromptQuery(run_id=run, text="kiwi")) == 3
    while search.step(conn, chunk=10):
        pass
    assert search.queued(conn) == 0
    assert views.count(PromptQuery(run_id=run, text="kiwi")) == 3
    assert conn.execute(f"SELECT count(*) FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} "
                        "MATCH 'kiwi'").fetchone()[0] == 3


@sqlite_only
def test_turned_off_the_index_is_dropped(store: Store, tmp_path: Path,
                                         conn: sqlite3.Connection) -> None:
    run = _import(store, tmp_path, "r", 20)
    _build(conn)
    search.turn_off(conn)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
    assert not any(t.startswith(search.FTS_TABLE) for t in tables)
    assert conn.execute("SELECT count(*) FROM search_runs").fetchone()[0] == 0
    assert not search.step(conn)
    assert search.status(conn).words() == "Search index: off"
    views = ViewQueries(store.db.url or store.db.path)  # the scan: substrings again
    assert views.count(PromptQuery(run_id=run, text="ppl")) == len(
        [i for i in range(20) if i % 7 == 0 or i % 5 == 0])


@sqlite_only
def test_a_deleted_run_leaves_no_index_rows(store: Store, tmp_path: Path,
                                            conn: sqlite3.Connection) -> None:
    gone = _import(store, tmp_path, "gone", 25)
    kept = _import(store, tmp_path, "kept", 5)
    _build(conn)
    UserActions(store.db).delete_run(gone)
    while search.step(conn, chunk=7):
        pass
    low, high = conn.execute(f"SELECT min(rowid), max(rowid), count(*) FROM "
                             f"{search.FTS_TABLE}").fetchone()[:2]
    first, last = conn.execute("SELECT min(id), max(id) FROM prompts WHERE run_id = ?",
                               (kept,)).fetchone()
    assert (low, high) == (first, last)
    assert [r[0] for r in conn.execute("SELECT run_id FROM search_runs")] == [kept]


@pytest.mark.parametrize("sort", [s for s in PromptSort if s is not PromptSort.UPDATED])
@pytest.mark.parametrize("descending", [False, True])
def test_every_sort_order_is_the_plain_order_by(store: Store, tmp_path: Path,
                                                sql: _Sql, sort: PromptSort,
                                                descending: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run = _import(store, tmp_path, "r", 120)
    _answer(sql, "id % 4 != 0", "ok")
    sql.execute("UPDATE prompts SET state = 'failed' WHERE id % 9 = 0")
    sql.execute("UPDATE prompts SET user_custom_id = 'x' || (200 - id) WHERE id % 10 = 1")
    views = ViewQueries(store.db.url or store.db.path)
    not_indexed = "" if store.db.dialect.postgres else " NOT INDEXED"
    order = views_module._order(PromptQuery(sort=sort, descending=descending))
    for states in ((), (PromptState.FAILED,), (PromptState.PROCESSED,)):
        q = PromptQuery(run_id=run, sort=sort, descending=descending, states=states)
        where = "" if not states else f" AND state = '{states[0].value}'"
        expected = [i for (i,) in sql.execute(
            f"SELECT id FROM prompts{not_indexed} WHERE run_id = ?{where} ORDER BY {order}",
            (run,))]
        for few in (5, 20_000):  # the index walked, or the filter's rows sorted
            monkeypatch.setattr(views_module, "FEW", few)
            assert [r.id for r in views.page(q, 0, 30)] == expected[:30]
            assert [r.id for r in views.page(q, 30, 30)] == expected[30:60]
            assert _ids(views, q) == expected
    views.close()


@sqlite_only
def test_sort_indexes_are_used(store: Store, tmp_path: Path, conn: sqlite3.Connection) -> None:
    run = _import(store, tmp_path, "r", 5)
    for sort in (PromptSort.MODEL, PromptSort.CUSTOM_ID, PromptSort.INPUT_TOKENS,
                 PromptSort.OUTPUT_TOKENS, PromptSort.STATE):
        plan = " ".join(r[-1] for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM prompts WHERE run_id = ? ORDER BY "
            f"{views_module._order(PromptQuery(sort=sort))} LIMIT 200", (run,)))
        assert "TEMP B-TREE" not in plan, (sort, plan)


@sqlite_only
def test_runs_whose_ids_interleave_keep_apart(store: Store, tmp_path: Path,
                                              conn: sqlite3.Connection) -> None:
    a = _import(store, tmp_path, "a", 20)
    b = _import(store, tmp_path, "b", 20)
    # Imports side by side can interleave ids: every other prompt changes run.
    conn.execute("UPDATE prompts SET run_id = CASE run_id WHEN ? THEN ? ELSE ? END "
                 "WHERE id % 2 = 0", (a, b, a))
    _answer(conn, f"run_id = {a}", "kiwi")
    _answer(conn, f"run_id = {b}", "lime")
    _build(conn)
    views = ViewQueries(store.db.url or store.db.path)
    assert views.count(PromptQuery(run_id=a, text="kiwi")) == 20
    assert views.count(PromptQuery(run_id=a, text="lime")) == 0
    assert {r.run_id for r in views.page(PromptQuery(run_id=b, text="lime"), 0, 50)} == {b}
    UserActions(store.db).delete_run(b)
    while search.step(conn, chunk=7):
        pass
    assert conn.execute(f"SELECT count(*) FROM {search.FTS_TABLE}").fetchone()[0] == 20
    assert views.count(PromptQuery(run_id=a, text="kiwi")) == 20


@sqlite_only
def test_facets_under_a_search_count_the_index_matches(store: Store, tmp_path: Path,
                                                       conn: sqlite3.Connection) -> None:
    run = _import(store, tmp_path, "f", 60)
    _answer(conn, "id % 3 = 0", "grapefruit is not a grape")
    conn.execute("UPDATE prompts SET label = 1 WHERE id % 4 = 0")
    _build(conn)
    views = ViewQueries(store.db.url or store.db.path)
    for text in ("apple", "grapefruit", "tree2"):
        q = PromptQuery(run_id=run, text=text)
        assert views.search_is_indexed(q)
        ids = _ids(views, q)
        marks = ", ".join("?" for _ in ids)
        counts = views.facet_counts(q)
        by_model = dict(conn.execute(
            f"SELECT model, count(*) FROM prompts WHERE id IN ({marks}) GROUP BY model", ids))
        labelled = conn.execute(f"SELECT count(*) FROM prompts WHERE id IN ({marks}) AND "
                                "label = 1", ids).fetchone()[0]
        assert counts.models == by_model, text
        assert counts.labels.get(1, 0) == labelled and sum(counts.labels.values()) == len(ids)


def test_without_the_index_a_search_is_a_substring_in_any_case(store: Store,
                                                                tmp_path: Path) -> None:
    run = _import(store, tmp_path, "r", 30)
    _answer(_Sql(store), "id % 3 = 0", "A Crisp WINESAP apple")
    views = ViewQueries(store.db.url or store.db.path)
    try:
        apples = [i for i in range(30) if i % 7 == 0 or i % 5 == 0 or i % 3 == 0]
        for text in ("APPLE", "ppl", "Apple"):  # substrings, any case (ASCII's on SQLite)
            q = PromptQuery(run_id=run, text=text)
            assert views.count(q) == len(apples), text
            assert len(_ids(views, q)) == len(apples)
        assert views.count(PromptQuery(run_id=run, text="winesap")) == 10
        assert views.count(PromptQuery(run_id=run, text="R-ITEM2")) == 11  # custom_id
        assert views.count(PromptQuery(run_id=run, text="50%")) == 0  # % is no wildcard
        if store.db.dialect.postgres:  # no index: every search scans
            assert not views.search_is_indexed(PromptQuery(run_id=run, text="apple"))
    finally:
        views.close()


def test_on_postgresql_the_index_is_not_available(pg_url: str) -> None:
    async def ask() -> tuple[str, str, bool]:
        indexer = SearchIndexer(pg_url)
        first = await indexer.status()
        after = await indexer.set_enabled(True)  # nothing to turn on: it says so again
        await indexer.build_now()
        indexer.start()
        await indexer.stop()
        return first.words(), after.words(), after.enabled

    first, after, enabled = asyncio.run(ask())
    assert first == after == "Search index: not available on a PostgreSQL workspace"
    assert not enabled
