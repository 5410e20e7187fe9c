"""Checks in the workspace: rules and revisions, the queue of answers, results guarded against
changes meanwhile, stale results reset by id range, and counts (per run, in the runs list)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batcher_gui.domain.checks import CheckRules
from batcher_gui.domain.errors import NotFound
from batcher_gui.domain.models import ImportOptions
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import Store
from batcher_gui.storage.checks import NO_RULES, CheckBook
from batcher_gui.storage.views import ViewQueries

JSON_RULES = CheckRules(json=True).to_json()


def _run(store: Store, tmp_path: Path, name: str, n: int) -> int:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(
        {"custom_id": f"{name}{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "m", "messages": [{"role": "user", "content": f"q {i}"}]}}) + "\n"
        for i in range(n)))
    return import_file(store, path, ImportOptions(), run_name=name).run.id


def _answer(store: Store, run_id: int, answers: list[str | None]) -> list[int]:
    """Give the run's prompts, in order, a chat answer (None: left unanswered)."""
    with store.db.write() as conn:
        ids = [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM prompts WHERE run_id = ? ORDER BY id", (run_id,))]
        for prompt_id, text in zip(ids, answers, strict=False):
            if text is not None:
                body = json.dumps({"choices": [{"message": {"content": text}}]}).encode()
                conn.exec_driver_sql("UPDATE prompts SET state = 'processed', response = ? "
                                     "WHERE id = ?", (body, prompt_id))
    return ids


@pytest.fixture
def book(store: Store) -> CheckBook:
    return CheckBook(store.db)


def test_rules_get_a_new_revision_each_time(store: Store, tmp_path: Path,
                                            book: CheckBook) -> None:
    run = _run(store, tmp_path, "a", 2)
    assert book.rules(run) is None
    assert book.set_rules(run, JSON_RULES, now=1.0) == 1
    assert book.set_rules(run, NO_RULES, now=2.0) == 2
    stored = book.rules(run)
    assert stored is not None and stored.empty and stored.revision == 2
    assert set(book.all_rules()) == {run}
    with pytest.raises(NotFound, match="run #99 does not exist"):
        book.set_rules(99, JSON_RULES)


def test_the_queue_holds_answers_not_yet_checked(store: Store, tmp_path: Path,
                                                 book: CheckBook) -> None:
    a, b = _run(store, tmp_path, "a", 4), _run(store, tmp_path, "b", 3)
    assert book.next_run_with_work() is None  # no answers yet
    ids = _answer(store, a, ['{"x": 1}', None, "nope", "[]"])
    _answer(store, b, ["1"])
    assert book.unchecked_total() == 4
    assert book.next_run_with_work() == a and book.next_run_with_work(a) == b
    queue = book.unchecked(a, 10)
    assert [(r[0], r[1]) for r in queue] == [(ids[0], True), (ids[2], True), (ids[3], True)]
    assert [r[0] for r in book.unchecked(a, 10, after_id=ids[2])] == [ids[3]]
    # A run without rules: taken out of the queue, not checked (revision 0).
    assert book.mark_not_checked(b, 0, 10) == 1
    assert book.next_run_with_work(a) is None


def test_results_are_dropped_when_the_rules_or_the_answer_changed(
        store: Store, tmp_path: Path, book: CheckBook) -> None:
    run = _run(store, tmp_path, "a", 3)
    ids = _answer(store, run, ["x", "y", "z"])
    revision = book.set_rules(run, JSON_RULES)
    results = [(ids[0], True, 0, "json: bad"), (ids[1], True, 1, None)]
    assert book.store_results(run, revision - 1, results) == 0  # older rules: dropped
    # The provider's error replaced the answer of ids[1] meanwhile: that one waits.
    with store.db.write() as conn:
        conn.exec_driver_sql("UPDATE prompts SET state = 'failed', error = 'e' WHERE id = ?",
                             (ids[1],))
    assert book.store_results(run, revision, results) == 1
    assert [r[0] for r in book.unchecked(run, 10)] == [ids[1], ids[2]]
    counts = book.counts(run)
    assert (counts.passed, counts.failed, counts.not_checked) == (0, 1, 2)


def test_stale_results_are_reset_by_id_range(store: Store, tmp_path: Path,
                                             book: CheckBook) -> None:
    run = _run(store, tmp_path, "a", 5)
    ids = _answer(store, run, ["a", "b", "c", "d", "e"])
    first = book.set_rules(run, JSON_RULES)
    assert book.store_results(run, first, [(i, True, 0, "json: x") for i in ids]) == 5
    second = book.set_rules(run, CheckRules(max_chars=3).to_json())
    assert book.first_stale(run, first, 0, ids[-1]) is None  # all checked under ``first``
    assert book.first_stale(run, second, 0, ids[-1]) == ids[0]
    assert book.reset_stale(run, second, ids[0] - 1, span=2) == 2
    assert book.first_stale(run, second, 0, ids[-1]) == ids[2]
    assert book.unchecked_total() == 2
    counts = book.counts(run)
    assert (counts.failed, counts.not_checked) == (3, 2)


def test_the_runs_list_counts_checks_of_runs_with_rules(store: Store, tmp_path: Path,
                                                        book: CheckBook) -> None:
    a, b = _run(store, tmp_path, "a", 4), _run(store, tmp_path, "b", 2)
    ids = _answer(store, a, ["1", "2", "3", "4"])
    revision = book.set_rules(a, JSON_RULES)
    book.store_results(a, revision, [(ids[0], True, 1, None), (ids[1], True, 1, None),
                                     (ids[2], True, 0, "json: x")])
    views = ViewQueries(store.db.url or store.db.path)
    overviews = {o.run.id: o for o in views.run_overviews()}
    checks = overviews[a].checks
    assert checks is not None
    assert (checks.passed, checks.failed, checks.not_checked) == (2, 1, 1)
    assert checks.words() == "2 ✓ 1 ✗ · 1 not checked"
    assert overviews[b].checks is None
    assert book.counts_of_runs([a, b]) == {a: (2, 1), b: (0, 0)}
    book.set_rules(a, NO_RULES)  # cleared: no Checks count any more
    assert {o.run.id: o.checks for o in views.run_overviews()}[a] is None
    views.close()
