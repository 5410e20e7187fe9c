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

#: The designed machines, written out by hand (not read from the tables under test, so a
#: changed table fails here): from -> the states it may go to. None is creation.
BATCH_EDGES: dict[str | None, set[str]] = {
    None: {"draft"},
    "draft": {"ready_for_upload", "cancelled"},
    "ready_for_upload": {"uploading", "failed", "cancelled"},
    "uploading": {"validating", "in_progress", "ready_for_upload", "failed", "cancelled"},
    "validating": {"in_progress", "finalizing", "downloading", "ready_for_upload", "failed",
                   "expired", "cancelled"},
    "in_progress": {"finalizing", "downloading", "ready_for_upload", "failed", "expired",
                    "cancelled"},
    "finalizing": {"downloading", "failed", "expired", "cancelled"},
    "downloading": {"completed", "failed", "expired", "cancelled"},
    "completed": set(),
    "failed": {"ready_for_upload"},
    "expired": set(),
    "cancelled": set(),
}
PROMPT_EDGES: dict[str | None, set[str]] = {
    None: {"pending"},
    "pending": {"processing", "failed", "cancelled"},
    "processing": {"processed", "pending", "failed", "expired", "cancelled"},
    "processed": {"delivering"},
    "delivering": {"delivered", "processed", "failed"},
    "delivered": {"delivering"},
    "failed": {"pending", "delivering"},
    "expired": {"pending"},
    "cancelled": {"pending"},
}
BATCH_NAMES = ["draft", "ready_for_upload", "uploading", "validating", "in_progress",
               "finalizing", "downloading", "completed", "failed", "expired", "cancelled"]
PROMPT_NAMES = ["pending", "processing", "processed", "delivering", "delivered", "failed",
                "expired", "cancelled"]
BATCH_PAIRS = list(itertools.product([None, *BATCH_NAMES], BATCH_NAMES))
PROMPT_PAIRS = list(itertools.product([None, *PROMPT_NAMES], PROMPT_NAMES))


def _batch(name: str | None) -> BatchState | None:
    return None if name is None else BatchState(name)


def _prompt(name: str | None) -> PromptState | None:
    return None if name is None else PromptState(name)


def test_machines_have_the_designed_states() -> None:
    assert [s.value for s in BatchState] == BATCH_NAMES
    assert [s.value for s in PromptState] == PROMPT_NAMES


def test_the_tables_have_exactly_the_designed_edges() -> None:
    assert {None if k is None else k.value: {t.value for t in v}
            for k, v in BATCH_TRANSITIONS.items()} == BATCH_EDGES
    assert {None if k is None else k.value: {t.value for t in v}
            for k, v in PROMPT_TRANSITIONS.items()} == PROMPT_EDGES


@pytest.mark.parametrize(("src", "dst"), BATCH_PAIRS, ids=lambda s: str(s))
def test_every_batch_pair(src: str | None, dst: str) -> None:
    if dst in BATCH_EDGES[src]:
        check_batch_transition(1, _batch(src), BatchState(dst))
    else:
        with pytest.raises(InvalidTransition) as info:
            check_batch_transition(1, _batch(src), BatchState(dst))
        assert info.value.to_state == dst
        assert str(info.value) == f"batch 1: cannot go from {src or 'nothing'} to {dst}"


@pytest.mark.parametrize(("src", "dst"), PROMPT_PAIRS, ids=lambda s: str(s))
def test_every_prompt_pair(src: str | None, dst: str) -> None:
    if dst in PROMPT_EDGES[src]:
        check_prompt_transition(7, _prompt(src), PromptState(dst))
    else:
        with pytest.raises(InvalidTransition) as info:
            check_prompt_transition(7, _prompt(src), PromptState(dst))
        assert str(info.value) == f"prompt 7: cannot go from {src or 'nothing'} to {dst}"


def test_the_happy_paths_are_legal() -> None:
    batch_path = [None, "draft", "ready_for_upload", "uploading", "validating", "in_progress",
                  "finalizing", "downloading", "completed"]
    for src, dst in itertools.pairwise(batch_path):
        assert dst is not None
        check_batch_transition(1, _batch(src), BatchState(dst))
    prompt_path = [None, "pending", "processing", "processed", "delivering", "delivered"]
    for src, dst in itertools.pairwise(prompt_path):
        assert dst is not None
        check_prompt_transition(1, _prompt(src), PromptState(dst))


def test_terminal_batch_states_go_nowhere_but_failed_can_restart() -> None:
    for name in ("completed", "expired", "cancelled"):
        for dst in BatchState:
            with pytest.raises(InvalidTransition):
                check_batch_transition(1, BatchState(name), dst)
    check_batch_transition(1, BatchState("failed"), BatchState("ready_for_upload"))


def test_nothing_is_created_in_a_later_state() -> None:
    for state in BatchState:
        if state is not BatchState.DRAFT:
            with pytest.raises(InvalidTransition, match="from nothing"):
                check_batch_transition(3, None, state)


def test_prompt_sources_lists_only_allowed_origins() -> None:
    assert sorted(prompt_sources(PromptState.PENDING)) == [
        "cancelled", "expired", "failed", "processing"
    ]
    assert sorted(prompt_sources(PromptState.DELIVERING)) == ["delivered", "failed", "processed"]
    assert prompt_sources(PromptState.PENDING, [PromptState.FAILED]) == ["failed"]
    with pytest.raises(InvalidTransition):
        prompt_sources(PromptState.PENDING, [PromptState.DELIVERED])
