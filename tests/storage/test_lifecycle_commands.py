"""User commands on batches: cancel before sending, restart rules, retry of failed prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.models import ImportOptions
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
    message = UserActions(store.db).request_cancel(batch_id)
    assert "cancelled" in message
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
    with pytest.raises(BatcherError, match="no longer failed"):
        life.restart_batch(batch_id)
