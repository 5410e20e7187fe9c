"""The background checker against the sandbox: answers are checked as they arrive, again when
the rules change, and after a restart it goes on where it stopped."""

from __future__ import annotations

import asyncio
from typing import Any

from batcher_gui.domain.checks import CheckRules
from batcher_gui.domain.events import AnswersChecked, Event
from batcher_gui.domain.views import CheckState, PromptQuery
from batcher_gui.engine import checking
from batcher_gui.storage.checks import NO_RULES, CheckBook
from batcher_gui.storage.export_rows import count_matching
from tests.engine.conftest import Workspace, chat


def json_chat(i: int) -> dict[str, Any]:
    """A request the sandbox answers with a JSON object ({"answer": ...})."""
    line = chat(i, "as json")
    line["body"]["response_format"] = {"type": "json_object"}
    return line


def mixed(n: int) -> list[dict[str, Any]]:
    """Even lines answered with JSON, odd ones with plain text."""
    return [json_chat(i) if i % 2 == 0 else chat(i) for i in range(n)]


def checks_of(ws: Workspace, run_id: int) -> dict[str, tuple[int | None, str | None]]:
    with ws.store.db.read() as conn:
        return {r[0]: (r[1], r[2]) for r in conn.exec_driver_sql(
            "SELECT user_custom_id, check_state, check_detail FROM prompts WHERE run_id = ? "
            "ORDER BY id", (run_id,))}


def unchecked(ws: Workspace) -> int:
    return CheckBook(ws.store.db).unchecked_total()


def test_answers_are_checked_as_they_arrive(ws: Workspace) -> None:
    run = ws.import_lines(mixed(6))
    book = CheckBook(ws.store.db)
    book.set_rules(run.id, CheckRules(json=True).to_json())
    events: list[Event] = []

    assert ws.run(ws.engine(listener=events.append)) is True

    found = checks_of(ws, run.id)
    assert {k: v[0] for k, v in found.items()} == {f"c{i}": 1 - i % 2 for i in range(6)}
    assert found["c1"] == (0, "json: line 1 column 1: Expecting value")
    assert found["c0"] == (1, None)
    counts = book.counts(run.id)
    assert (counts.passed, counts.failed, counts.not_checked) == (3, 3, 0)
    said = [e for e in events if isinstance(e, AnswersChecked)]
    assert said and said[-1].run_id == run.id and said[-1].passed == 3 and said[-1].failed == 3
    assert said[-1].remaining == 0
    # The re-run helper's "failed checks" selection is the views' own filter.
    failed = PromptQuery(run_id=run.id, checks=(CheckState.FAILED,))
    assert count_matching(ws.store.db, run.id, failed) == 3
    assert count_matching(ws.store.db, run.id,
                          PromptQuery(run_id=run.id, checks=(CheckState.PASSED,))) == 3


def test_runs_without_rules_leave_the_queue_unchecked(ws: Workspace) -> None:
    run = ws.import_lines(mixed(4))
    assert ws.run() is True
    assert unchecked(ws) == 0
    assert set(checks_of(ws, run.id).values()) == {(None, None)}
    assert ws.scalar("SELECT count(*) FROM prompts WHERE check_revision = 0") == 4
    counts = CheckBook(ws.store.db).counts(run.id)
    assert (counts.passed, counts.failed, counts.not_checked) == (0, 0, 4)


def test_changed_rules_check_every_answer_again_and_cleared_rules_uncheck(ws: Workspace
                                                                            ) -> None:
    run = ws.import_lines(mixed(6))
    assert ws.run() is True  # answered and taken out of the queue without rules
    book = CheckBook(ws.store.db)

    assert book.set_rules(run.id, CheckRules(json=True).to_json()) == 1
    assert ws.run() is True
    assert [v[0] for v in checks_of(ws, run.id).values()] == [1, 0, 1, 0, 1, 0]

    # Plain-text answers start "Sandbox reply": now those pass and the JSON ones fail.
    assert book.set_rules(run.id, CheckRules(regex=r"^Sandbox reply").to_json()) == 2
    assert ws.run() is True
    found = checks_of(ws, run.id)
    assert [v[0] for v in found.values()] == [0, 1, 0, 1, 0, 1]
    assert found["c0"][1] == "regex: no match for ^Sandbox reply"
    assert ws.scalar("SELECT count(DISTINCT check_revision) FROM prompts") == 1

    assert book.set_rules(run.id, NO_RULES) == 3
    assert ws.run() is True
    assert set(checks_of(ws, run.id).values()) == {(None, None)}
    assert ws.scalar("SELECT min(check_revision) FROM prompts") == 3


def test_a_restart_goes_on_where_the_checker_stopped(ws: Workspace, monkeypatch: Any) -> None:
    run = ws.import_lines(mixed(10))
    assert ws.run() is True
    book = CheckBook(ws.store.db)
    book.set_rules(run.id, CheckRules(max_chars=10).to_json())
    # A small chunk and one chunk per pass: a single pass leaves work behind.
    monkeypatch.setattr(checking, "CHUNK", 3)
    monkeypatch.setattr(checking, "CHUNKS_PER_PASS", 1)

    async def one_pass() -> int:
        engine = ws.engine()
        try:
            return await engine.checking.run_pass()
        finally:
            await engine.close()

    assert asyncio.run(one_pass()) == 3
    assert unchecked(ws) == 7
    # A new process: its checker has swept nothing yet, but nothing checked under the current
    # rules is checked again — it goes on with the 7 left.
    assert asyncio.run(one_pass()) == 3
    assert unchecked(ws) == 4
    assert ws.run() is True
    assert unchecked(ws) == 0
    assert book.counts(run.id).failed == 10
    assert ws.scalar("SELECT count(*) FROM prompt_transitions") > 0


def test_a_half_done_reset_is_finished_after_a_restart(ws: Workspace, monkeypatch: Any) -> None:
    run = ws.import_lines(mixed(8))
    book = CheckBook(ws.store.db)
    book.set_rules(run.id, CheckRules(json=True).to_json())
    assert ws.run() is True
    revision = book.set_rules(run.id, CheckRules(max_chars=5).to_json())
    first = book.run_span(run.id)
    assert first is not None
    book.reset_stale(run.id, revision, first[0] - 1, span=3)  # stopped after 3 of 8
    assert unchecked(ws) == 3

    assert ws.run() is True
    assert book.counts(run.id).failed == 8
    assert ws.scalar("SELECT count(*) FROM prompts WHERE check_revision != ?", revision) == 0


def test_a_failed_prompt_is_not_checked_and_a_new_answer_is(ws: Workspace) -> None:
    run = ws.import_lines(mixed(2))
    book = CheckBook(ws.store.db)
    book.set_rules(run.id, CheckRules(json=True).to_json())
    assert ws.run() is True
    # The provider's error on c0 (as results_apply writes it): not an answer, not checked.
    with ws.store.db.write() as conn:
        conn.exec_driver_sql(
            "UPDATE prompts SET state = 'failed', error = 'invalid_request_error: no', "
            "check_state = NULL, check_detail = NULL, check_revision = NULL "
            "WHERE user_custom_id = 'c0'")
    assert ws.run() is True
    assert checks_of(ws, run.id)["c0"] == (None, None)
    assert book.counts(run.id).not_checked == 1
