"""Labels, notes and facet counts against the real workspace database.

Facet counts are checked against plain ``SELECT count(*)``: for every facet and value, the
count shown must be what filtering by that value (with every other filter kept) finds.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
from pathlib import Path

import pytest

from batcher_gui.domain.errors import InvalidInput, NotFound
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.review import FacetCounts, ReviewMark, label_by_name
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import CheckState, PromptQuery
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import Store
from batcher_gui.storage.facets import FACETS_INDEX_SQL
from batcher_gui.storage.review import Review
from batcher_gui.storage.views import ViewQueries

N = 240


def _import(store: Store, tmp_path: Path, name: str, n: int) -> int:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(json.dumps(
        {"custom_id": f"{name}-{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-a" if i % 3 else "gpt-b",
                  "messages": [{"role": "user", "content": f"{'rare' if i % 17 == 0 else 'w'} "
                                f"{i}"}]}}) for i in range(n)) + "\n")
    return import_file(store, path, ImportOptions(), run_name=name).run.id


@pytest.fixture
def marked(store: Store, tmp_path: Path) -> tuple[Store, int, int]:
    """Two runs; the first with states, labels, notes, checks, finish reasons, error kinds."""
    first = _import(store, tmp_path, "a", N)
    second = _import(store, tmp_path, "b", 30)
    rnd = random.Random(18)
    with store.db.write() as conn:
        ids = [i for (i,) in conn.exec_driver_sql(
            "SELECT id FROM prompts WHERE run_id = ?", (first,))]
        for pid in ids:
            state = rnd.choice(["pending", "processed", "failed", "processed"])
            conn.exec_driver_sql(
                "UPDATE prompts SET state = ?, label = ?, note = ?, check_state = ?, "
                "finish_reason = ?, error_kind = ? WHERE id = ?",
                (state, rnd.choice([None, None, 1, 2, 3]), rnd.choice([None, None, "hm"]),
                 rnd.choice([None, 0, 1]) if state == "processed" else None,
                 rnd.choice(["stop", "length"]) if state == "processed" else None,
                 rnd.choice(["invalid_request_error", "expired"]) if state == "failed"
                 else None, pid))
    return store, first, second


def _sql_count(store: Store, q: PromptQuery) -> int:
    """count(*) written out by hand (not through the views' condition builder)."""
    parts, params = ["run_id = ?"], [q.run_id]
    if q.states:
        parts.append(f"state IN ({','.join('?' * len(q.states))})")
        params += [s.value for s in q.states]
    if q.models:
        parts.append(f"model IN ({','.join('?' * len(q.models))})")
        params += list(q.models)
    if q.labels:
        parts.append("(" + " OR ".join("label IS NULL" if k == 0 else f"label = {k}"
                                       for k in q.labels) + ")")
    if q.checks:
        sql = {CheckState.PASSED: "check_state = 1", CheckState.FAILED: "check_state = 0",
               CheckState.UNCHECKED: "check_state IS NULL"}
        parts.append("(" + " OR ".join(sql[c] for c in q.checks) + ")")
    for column, values in (("finish_reason", q.finish_reasons), ("error_kind", q.error_kinds)):
        if values:
            parts.append("(" + " OR ".join(f"{column} IS NULL" if v == "" else
                                           f"{column} = '{v}'" for v in values) + ")")
    if q.has_note is not None:
        parts.append("note IS NOT NULL" if q.has_note else "note IS NULL")
    if q.text:
        parts.append(store.db.dialect.like(store.db.dialect.blob_text("body")))
        params.append(f"%{q.text}%")
    with store.db.read() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM prompts WHERE "
                                        f"{' AND '.join(parts)}", tuple(params)).scalar())


def _expect(store: Store, q: PromptQuery) -> FacetCounts:
    """Each facet's counts, one SELECT count(*) per value, under every other filter."""
    out = FacetCounts()

    def each(field: str, values: list[object]) -> dict[object, int]:
        found = {}
        for v in values:
            n = _sql_count(store, dataclasses.replace(q, **{field: (v,)}))
            if n:
                found[v] = n
        return found

    out.states = each("states", list(PromptState))  # type: ignore[assignment]
    out.models = each("models", ["gpt-a", "gpt-b"])  # type: ignore[assignment]
    out.checks = each("checks", list(CheckState))  # type: ignore[assignment]
    out.labels = each("labels", [0, 1, 2, 3])  # type: ignore[assignment]
    out.finish_reasons = each("finish_reasons", ["", "stop", "length"])  # type: ignore
    out.error_kinds = each("error_kinds", ["", "invalid_request_error", "expired"])  # type: ignore
    out.notes = (_sql_count(store, dataclasses.replace(q, has_note=True)),
                 _sql_count(store, dataclasses.replace(q, has_note=False)))
    return out


QUERIES = [
    PromptQuery(),
    PromptQuery(states=(PromptState.PROCESSED,)),
    PromptQuery(labels=(1, 0)),
    PromptQuery(labels=(2,), checks=(CheckState.FAILED,)),
    PromptQuery(states=(PromptState.FAILED, PromptState.PENDING), error_kinds=("expired", "")),
    PromptQuery(finish_reasons=("length",), has_note=True, models=("gpt-b",)),
    PromptQuery(checks=(CheckState.UNCHECKED,), has_note=False),
    PromptQuery(has_note=False),  # most prompts: counted as all minus those with a note
    PromptQuery(labels=(0, 2, 3)),
    PromptQuery(states=(PromptState.PROCESSED, PromptState.PENDING)),
    PromptQuery(text="rare"),  # a search: counted in one grouped pass
    PromptQuery(text="rare", labels=(1, 3), states=(PromptState.PROCESSED,)),
    PromptQuery(text="w", finish_reasons=("",), checks=(CheckState.PASSED, CheckState.FAILED)),
]


@pytest.mark.parametrize("covering", [False, True], ids=["indexes", "covering-index"])
@pytest.mark.parametrize("query", QUERIES, ids=[str(i) for i in range(len(QUERIES))])
def test_facet_counts_equal_sql_counts(marked: tuple[Store, int, int],
                                       query: PromptQuery, covering: bool) -> None:
    store, first, _ = marked
    if covering:  # the proposed covering index of the facet columns: the same counts
        with store.db.write() as conn:
            conn.exec_driver_sql(FACETS_INDEX_SQL)
    q = dataclasses.replace(query, run_id=first)
    views = ViewQueries(store.db.url or store.db.path)
    try:
        got = views.facet_counts(q)
        assert got == _expect(store, q)
        # The count of the query itself is each facet's total under its own filter.
        assert sum(v for s, v in got.states.items() if not q.states or s in q.states) \
            == views.count(q)
    finally:
        views.close()


def test_facets_over_every_run_add_up(marked: tuple[Store, int, int]) -> None:
    store, first, second = marked
    views = ViewQueries(store.db.url or store.db.path)
    try:
        both = views.facet_counts(PromptQuery())
        one = views.facet_counts(PromptQuery(run_id=first))
        assert both.labels[0] == one.labels[0] + 30  # run b: 30 prompts, none labelled
        assert sum(both.states.values()) == N + 30
        assert both.notes == (one.notes[0], one.notes[1] + 30)
    finally:
        views.close()


def test_labels_and_notes_change_and_come_back(marked: tuple[Store, int, int]) -> None:
    store, _, second = marked
    review = Review(store.db)
    ids = [review.find_prompt(second, f"b-{i}") for i in range(3)]
    before = review.set_label(ids, 2)
    assert before == [ReviewMark(i, None, None) for i in ids]
    assert review.set_note(ids[:1], "  too long  ") == [ReviewMark(ids[0], 2, None)]
    assert review.marks(ids) == [ReviewMark(ids[0], 2, "too long"), ReviewMark(ids[1], 2, None),
                                 ReviewMark(ids[2], 2, None)]
    assert review.label_counts(second) == {second: {2: 3}}
    review.set_note(ids[:1], "   ")  # an empty note clears it
    assert review.marks(ids[:1]) == [ReviewMark(ids[0], 2, None)]
    review.restore(before)  # the undo
    assert review.marks(ids) == before
    assert review.reviewed(second) == []


def test_label_names_and_bad_input_change_nothing(marked: tuple[Store, int, int]) -> None:
    store, _, second = marked
    review = Review(store.db)
    assert review.label_names() == {1: "good", 2: "wrong", 3: "unsure"}
    assert review.name_label(4, "  needs   work ") == {1: "good", 2: "wrong", 3: "unsure",
                                                      4: "needs work"}
    pid = review.find_prompt(second, "b-0")
    for bad, error in ((lambda: review.name_label(5, "GOOD"), "already called"),
                       (lambda: review.name_label(10, "x"), "1 to 9"),
                       (lambda: review.name_label(5, "  "), "needs a name"),
                       (lambda: review.set_label([pid], 7), "no name yet"),
                       (lambda: review.set_label([pid], 0), "1 to 9"),
                       (lambda: review.set_label([pid, 10**9], 1), "no prompt #")):
        with pytest.raises((InvalidInput, NotFound), match=error):
            bad()
    assert review.marks([pid]) == [ReviewMark(pid, None, None)]
    with pytest.raises(NotFound, match="custom_id 'nope'"):
        review.find_prompt(second, "nope")
    review.set_label([pid], 4)
    assert review.remove_label(4) == 1
    assert review.marks([pid]) == [ReviewMark(pid, None, None)]
    names = review.label_names()
    assert label_by_name(names, "Wrong") == 2 and label_by_name(names, "1") == 1
    assert label_by_name(names, "none") is None
    with pytest.raises(InvalidInput, match="no label 'great'.*1 good"):
        label_by_name(names, "great")


def test_many_prompts_at_once(marked: tuple[Store, int, int]) -> None:
    store, first, _ = marked
    review = Review(store.db)
    with store.db.read() as conn:
        ids = [i for (i,) in conn.exec_driver_sql("SELECT id FROM prompts WHERE run_id = ?",
                                                   (first,))]
    before = review.set_label(ids, 3)
    assert len(before) == N
    assert review.label_counts(first) == {first: {3: N}}
    review.restore(before)
    assert {m.label for m in review.marks(ids)} == {None, 1, 2, 3}
    assert list(itertools.islice((m for m in review.marks(ids)), 1))[0].prompt_id == ids[0]
