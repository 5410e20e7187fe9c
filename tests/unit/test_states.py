"""Every legal and every illegal transition of both state machines."""

from __future__ import annotations

import itertools

import pytest

from batcher_gui.domain.errors import InvalidTransition
from batcher_gui.domain.states import (
    BATCH_TRANSITIONS,
    PROMPT_TRANSITIONS,
    BatchState,
    PromptState,
    check_batch_transition,
    check_prompt_transition,
    prompt_sources,
)

BATCH_PAIRS = list(itertools.product([None, *BatchState], BatchState))
PROMPT_PAIRS = list(itertools.product([None, *PromptState], PromptState))


def test_machines_have_the_designed_states() -> None:
    assert [s.value for s in BatchState] == [
        "draft", "ready_for_upload", "uploading", "validating", "in_progress", "finalizing",
        "downloading", "completed", "failed", "expired", "cancelled",
    ]
    assert [s.value for s in PromptState] == [
        "pending", "processing", "processed", "delivering", "delivered", "failed", "expired",
        "cancelled",
    ]
    assert set(BATCH_TRANSITIONS) == {None, *BatchState}
    assert set(PROMPT_TRANSITIONS) == {None, *PromptState}


@pytest.mark.parametrize(("src", "dst"), BATCH_PAIRS, ids=lambda s: str(s))
def test_every_batch_pair(src: BatchState | None, dst: BatchState) -> None:
    if dst in BATCH_TRANSITIONS[src]:
        check_batch_transition(1, src, dst)
    else:
        with pytest.raises(InvalidTransition) as info:
            check_batch_transition(1, src, dst)
        assert info.value.to_state == dst
        assert f"to {dst}" in str(info.value)


@pytest.mark.parametrize(("src", "dst"), PROMPT_PAIRS, ids=lambda s: str(s))
def test_every_prompt_pair(src: PromptState | None, dst: PromptState) -> None:
    if dst in PROMPT_TRANSITIONS[src]:
        check_prompt_transition(7, src, dst)
    else:
        with pytest.raises(InvalidTransition, match="prompt 7"):
            check_prompt_transition(7, src, dst)


def test_the_happy_paths_are_legal() -> None:
    path = [None, *list(BatchState)[:8]]
    for src, dst in itertools.pairwise(path):
        check_batch_transition(1, src, dst)  # type: ignore[arg-type]
    for src, dst in itertools.pairwise([None, *list(PromptState)[:5]]):
        check_prompt_transition(1, src, dst)  # type: ignore[arg-type]


def test_terminal_batch_states_go_nowhere_but_failed_can_restart() -> None:
    for state in (BatchState.COMPLETED, BatchState.EXPIRED, BatchState.CANCELLED):
        assert BATCH_TRANSITIONS[state] == frozenset()
    assert BATCH_TRANSITIONS[BatchState.FAILED] == {BatchState.READY_FOR_UPLOAD}


def test_nothing_is_created_in_a_later_state() -> None:
    for state in BatchState:
        if state is not BatchState.DRAFT:
            with pytest.raises(InvalidTransition, match="from nothing"):
                check_batch_transition(3, None, state)


def test_prompt_sources_lists_only_allowed_origins() -> None:
    assert set(prompt_sources(PromptState.PENDING)) == {
        "processing", "failed", "expired", "cancelled"
    }
    assert prompt_sources(PromptState.PENDING, [PromptState.FAILED]) == ["failed"]
    with pytest.raises(InvalidTransition):
        prompt_sources(PromptState.PENDING, [PromptState.DELIVERED])
