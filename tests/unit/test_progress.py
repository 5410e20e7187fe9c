"""State groups, how a run ended, unique names: the rules every view and command share."""

from __future__ import annotations

from batcher_gui.domain.progress import (
    GroupCounts,
    RunEnding,
    StateGroup,
    count_words,
    may_restart,
    run_ending,
    run_has_ended,
    unique_name,
)
from batcher_gui.domain.states import BatchState, PromptState

P = PromptState


def test_every_prompt_state_counts_in_one_group() -> None:
    counts = {P.PENDING: 1, P.PROCESSING: 2, P.PROCESSED: 4, P.DELIVERING: 8,
              P.DELIVERED: 16, P.FAILED: 32, P.EXPIRED: 64, P.CANCELLED: 128}
    groups = GroupCounts.of(counts)
    assert groups == GroupCounts(pending=1, in_flight=2, done=28, failed=96, cancelled=128)
    assert groups.total == 255
    assert groups.as_dict() == {"pending": 1, "in flight": 2, "done": 28, "failed": 96,
                                "cancelled": 128}
    assert groups.items()[2] == (StateGroup.DONE, 28)


def test_missing_states_count_zero_and_plain_text_keys_work() -> None:
    assert GroupCounts.of({}) == GroupCounts()
    by_text: dict[str, int] = {"delivered": 3, "expired": 1}  # as the database has them
    assert GroupCounts.of(by_text) == GroupCounts(done=3, failed=1)  # type: ignore[arg-type]


def test_count_words() -> None:
    assert count_words(GroupCounts(done=1200, failed=3)) == "1,200 done · 3 failed"
    assert count_words(GroupCounts()) == "no prompts"
    assert count_words(GroupCounts(pending=1), zeros=True) == (
        "1 pending · 0 in flight · 0 done · 0 failed · 0 cancelled")


def test_how_a_run_ended() -> None:
    assert run_ending({P.PROCESSED: 5}) is RunEnding.COMPLETED
    assert run_ending({P.DELIVERED: 5}) is RunEnding.COMPLETED
    assert run_ending({P.PROCESSED: 4, P.EXPIRED: 1}) is RunEnding.COMPLETED_WITH_FAILURES
    assert run_ending({P.FAILED: 2, P.CANCELLED: 3}) is RunEnding.FAILED
    assert run_ending({P.PROCESSED: 2, P.CANCELLED: 3}) is RunEnding.CANCELLED
    assert run_ending({P.CANCELLED: 3}) is RunEnding.CANCELLED


def test_a_run_has_ended_once_sent_and_nothing_is_left_to_do() -> None:
    assert not run_has_ended({P.PENDING: 3}, 0, 0)  # never sent
    assert not run_has_ended({P.PROCESSED: 3}, 2, 1)  # a batch still going
    assert not run_has_ended({P.PROCESSED: 2, P.DELIVERING: 1}, 1, 1)  # still delivering
    assert not run_has_ended({P.PROCESSED: 2, P.PENDING: 1}, 1, 1)  # one to send again
    assert run_has_ended({P.PROCESSED: 2, P.FAILED: 1}, 1, 1)


def test_only_failed_batches_may_be_restarted() -> None:
    assert [s.value for s in BatchState if may_restart(s)] == ["failed"]


def test_unique_names() -> None:
    assert unique_name("reviews", []) == "reviews"
    assert unique_name("reviews", ["reviews"]) == "reviews (2)"
    assert unique_name("reviews", ["reviews", "reviews (2)", "reviews (4)"]) == "reviews (3)"
    assert unique_name("reviews", iter(["Reviews", "reviews (2)"])) == "reviews"
