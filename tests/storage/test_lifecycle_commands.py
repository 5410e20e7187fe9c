"""User commands on batches: cancel before sending, restart rules, retry of failed prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.outcomes import BatchCancel, CancelKind, CancelOutcome, RetryOutcome
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import Store
from batcher_gui.storage.batch_book import BatchBook
from batcher_gui.storage.drafts import Drafts
from batcher_gui.storage.user_actions import UserActions


def _import(store: Store, tmp_path: Path, n: int = 3) -> int:
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(
        {"custom_id": f"c{i}", "method": "POST", "url": "/v1/embeddings",
         "body": {"model": "e", "input": f"t{i}"}}) for i in range(n)) + "\n")
    return import_file(store, path, ImportOptions()).drafts[0]


def test_cancel_a_draft_cancels_its_prompts_at_once(store: Store, tmp_path: Path) -> None:
    batch_id = _import(store, tmp_path)
    done = UserActions(store.db).request_cancel(batch_id)
    assert done == BatchCancel(batch_id, CancelKind.CANCELLED, BatchState.DRAFT, 3)
    assert store.get_batch(batch_id).state is BatchState.CANCELLED
    assert store.status().runs[0].prompts_by_state == {"cancelled": 3}
    with pytest.raises(BatcherError, match="too late to cancel"):
        UserActions(store.db).request_cancel(batch_id)


def test_restart_waits_for_provider_cleanup_then_resends(store: Store, tmp_path: Path) -> None:
    batch_id = _import(store, tmp_path)
    life = UserActions(store.db)
    book = BatchBook(store.db)
    Drafts(store.db).seal()
    book.fail(batch_id, BatchState.READY_FOR_UPLOAD, "provider said no")
    assert store.status().runs[0].prompts_by_state == {"failed": 3}
    with pytest.raises(BatcherError, match="still deleting its files"):
        life.restart_batch(batch_id)
    book.set_fields(batch_id, intent=None)  # what the engine does once the files are gone
    assert life.restart_batch(batch_id) == 3
    batch = store.get_batch(batch_id)
    assert batch.state is BatchState.READY_FOR_UPLOAD and batch.error is None
    assert store.status().runs[0].prompts_by_state == {"pending": 3}
    with pytest.raises(BatcherError, match="batch #1 is ready_for_upload: only a failed batch "
                                           "can be restarted"):
        life.restart_batch(batch_id)


def test_cancel_a_run_says_what_each_batch_did(store: Store, tmp_path: Path) -> None:
    batch_id = _import(store, tmp_path, n=4)
    life = UserActions(store.db)
    (sealed,) = Drafts(store.db).seal()
    assert sealed == batch_id
    run_id = store.list_runs()[0].id
    outcome = life.cancel_run(run_id)
    assert outcome == CancelOutcome((BatchCancel(batch_id, CancelKind.CANCELLED,
                                                 BatchState.READY_FOR_UPLOAD, 4),))
    assert (len(outcome.cancelled), len(outcome.requested), outcome.prompts) == (1, 0, 4)
    assert life.cancel_run(run_id) == CancelOutcome()  # nothing left to cancel


def test_cancel_at_the_provider_is_a_request_with_the_prompts_waiting(
        store: Store, tmp_path: Path) -> None:
    batch_id = _import(store, tmp_path, n=2)
    Drafts(store.db).seal()
    BatchBook(store.db).move(batch_id, BatchState.READY_FOR_UPLOAD, BatchState.UPLOADING,
                             "sending")
    done = UserActions(store.db).request_cancel(batch_id)
    assert done == BatchCancel(batch_id, CancelKind.REQUESTED, BatchState.UPLOADING, 2)
    assert store.get_batch(batch_id).cancel_requested_at is not None
    assert store.get_batch(batch_id).state is BatchState.UPLOADING  # the engine cancels it


def test_delete_a_run_returns_its_prompts_and_batches(store: Store, tmp_path: Path) -> None:
    batch_id = _import(store, tmp_path, n=5)
    run_id = store.list_runs()[0].id
    assert UserActions(store.db).delete_run(run_id) == (5, (batch_id,))
    assert store.list_runs() == []
    with pytest.raises(BatcherError, match=f"no run #{run_id}"):
        UserActions(store.db).delete_run(run_id)


def test_retry_restarts_failed_batches_and_counts_what_it_sends(
        store: Store, tmp_path: Path) -> None:
    batch_id = _import(store, tmp_path, n=3)
    book = BatchBook(store.db)
    Drafts(store.db).seal()
    book.fail(batch_id, BatchState.READY_FOR_UPLOAD, "provider said no")
    book.set_fields(batch_id, intent=None)
    run_id = store.list_runs()[0].id
    life = UserActions(store.db)
    assert life.retry(run_id, prompts_too=True) == RetryOutcome(
        batches_restarted=1, prompts_in_restarted=3, prompts_requeued=0,
        delivery_failures_left=0)
    assert life.retry(run_id, prompts_too=True) == RetryOutcome(0, 0, 0, 0)
