"""Restart recovery: a new engine (and a restarted provider) picks up every in-flight state.

Each case gets one batch into a state, throws the engine away as a crash would, restarts the
sandbox server on the same state folder and port, and runs a brand new engine until idle.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from batcher_gui.domain.states import BatchState
from batcher_gui.sandbox import FaultSpec
from batcher_gui.storage.drafts import Drafts
from batcher_gui.storage.user_actions import UserActions
from tests.engine.conftest import Workspace, assert_all_settled, chat


def _batch_state(ws: Workspace) -> str:
    (batch,) = ws.store.list_batches()
    return batch.state.value


def _reach(state: str, **fault: FaultSpec) -> Callable[[Workspace], None]:
    def setup(ws: Workspace) -> None:
        ws.sandbox.config.faults = dict(fault)
        ws.tick_until(ws.engine(), lambda: _batch_state(ws) == state)
    return setup


def _sealed(ws: Workspace) -> None:
    Drafts(ws.store.db).seal()


def _token_wait(ws: Workspace) -> None:
    ws.sandbox.config.token_limit_failures = 1
    ws.tick_until(ws.engine(), lambda: _batch_state(ws) == "ready_for_upload"
                  and ws.store.list_batches()[0].token_limit_attempts == 1)


def _frozen(state: str) -> Callable[[Workspace], None]:
    def setup(ws: Workspace) -> None:
        ws.sandbox.config.steps_per_poll = 0  # the provider does not move on: state sticks
        ws.tick_until(ws.engine(), lambda: _batch_state(ws) == state)
    return setup


def _in_progress_with_results(ws: Workspace) -> None:
    ws.tick_until(ws.engine(), lambda: (ws.store.list_batches()[0].counts_completed or 0) > 0)


def _failing(kind: str = "500") -> FaultSpec:
    """Every call of the route fails (``*_after``: after the provider did the work)."""
    return FaultSpec(rate=1.0, kinds=(kind,))


CASES: dict[str, tuple[Callable[[Workspace], None], str | None, int]] = {
    # name: (setup, expected intent while stopped, uploads expected over the whole test)
    "ready_for_upload": (_sealed, None, 1),
    "ready_for_upload waiting on token limit": (_token_wait, None, 1),
    "uploading intent upload, nothing uploaded": (
        _reach("uploading", **{"files.create": _failing()}), "upload", 1),
    "uploading intent upload, uploaded, answer lost": (
        _reach("uploading", **{"files.create": _failing("500_after")}),
        "upload", 1),
    "uploading intent create, not created": (
        _reach("uploading", **{"batches.create": _failing()}), "create", 1),
    "uploading intent create, created, answer lost": (
        _reach("uploading", **{"batches.create": _failing("drop_after")}),
        "create", 1),
    "validating": (_frozen("validating"), None, 1),
    "in_progress": (_in_progress_with_results, None, 1),
    "finalizing": (_reach("finalizing"), None, 1),
    "downloading": (
        _reach("downloading", **{"files.content": _failing()}), None, 1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_new_engine_resumes(ws: Workspace, case: str) -> None:
    setup, intent, uploads = CASES[case]
    ws.import_lines([chat(i) for i in range(5)] + [chat(5, "#fail")])
    ws.max_retries = 1  # SDK retries on: they must still never repeat an upload or a create

    setup(ws)

    (stopped,) = ws.store.list_batches()
    if intent:
        assert stopped.intent == intent
        assert (stopped.input_file_id is None) == (intent == "upload")
    assert ws.scalar("SELECT count(*) FROM prompt_transitions WHERE to_state = 'processed'") == 0
    # The crash: the engine is gone; the provider restarts too, with knobs back to normal.
    ws.sandbox.config.faults = {}
    ws.sandbox.config.steps_per_poll = 1
    ws.sandbox.config.token_limit_failures = 0
    ws.sandbox.restart()
    ws.max_retries = 2

    assert ws.run(ws.engine()) is True

    (batch,) = ws.store.list_batches()
    assert batch.state is BatchState.COMPLETED
    assert batch.provider_batch_id is not None
    assert ws.prompt_states() == {"processed": 5, "failed": 1}
    totals = ws.sandbox.totals()
    sends = 2 if "token" in case else 1  # the token-limit send failed at the provider
    assert totals["batches_created"] == sends
    assert totals["files_created"] == uploads
    assert ws.sandbox.stats()["batches_total"] == sends
    assert_all_settled(ws)


def test_new_engine_resumes_a_cancel_requested_before_the_crash(ws: Workspace) -> None:
    ws.import_lines([chat(i) for i in range(4)])
    ws.tick_until(ws.engine(), lambda: (ws.store.list_batches()[0].counts_completed or 0) > 0)
    (batch,) = ws.store.list_batches()
    UserActions(ws.store.db).request_cancel(batch.id)
    ws.sandbox.restart()

    assert ws.run(ws.engine()) is True

    assert ws.store.get_batch(batch.id).state is BatchState.CANCELLED
    assert ws.prompt_states() == {"processed": 2, "cancelled": 2}
    assert_all_settled(ws)
