"""Applying results fills what the facets count: each answer's finish reason (chat, Claude,
responses API) and each failure's kind (the provider's error code or type, expiry, a lost
result), and a retry clears the kind again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.results import finish_reason
from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import Store
from batcher_gui.storage.batch_book import BatchBook
from batcher_gui.storage.drafts import Drafts
from batcher_gui.storage.results_apply import apply_and_finish
from batcher_gui.storage.user_actions import UserActions

B = BatchState


@pytest.fixture(autouse=True)
def _moves_on_postgresql(request: pytest.FixtureRequest) -> None:
    """These tests send batches (storage/moves.py, the pgstore helper's): on PostgreSQL they
    wait for its fix of named parameters there. Drop this once that is merged."""
    if "[postgresql]" in request.node.name:
        request.applymarker(pytest.mark.xfail(reason="needs the pgstore helper's moves.py on "
                                                     "PostgreSQL", strict=False))


def _downloading(store: Store, tmp_path: Path, n: int, url: str, profile: str,
                 model: str) -> tuple[int, list[int]]:
    path = tmp_path / f"{profile}.jsonl"
    path.write_text("".join(json.dumps({
        "custom_id": f"c{i}", "method": "POST", "url": url,
        "body": {"model": model, "max_tokens": 20,
                 "messages": [{"role": "user", "content": f"q{i}"}]}}) + "\n" for i in range(n)))
    batch_id = import_file(store, path, ImportOptions(), profile_name=profile).drafts[0]
    book = BatchBook(store.db)
    Drafts(store.db).seal()
    book.move(batch_id, B.READY_FOR_UPLOAD, B.UPLOADING, "test")
    book.mark_sent(batch_id, B.UPLOADING, B.IN_PROGRESS, "b_1", "test")
    book.move(batch_id, B.IN_PROGRESS, B.DOWNLOADING, "test", provider_status="ended")
    with store.db.read() as conn:
        ids = [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM prompts WHERE batch_id = ? ORDER BY line_no", (batch_id,))]
    return batch_id, ids


def _columns(store: Store, ids: list[int]) -> list[tuple[Any, ...]]:
    with store.db.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            f"SELECT state, finish_reason, error_kind FROM prompts WHERE id IN "
            f"({', '.join(str(i) for i in ids)}) ORDER BY id")]


def test_openai_results_fill_finish_reason_and_error_kind(store: Store, tmp_path: Path) -> None:
    batch_id, ids = _downloading(store, tmp_path, 5, "/v1/chat/completions", "sandbox",
                                 "gpt-4o-mini")

    def ok(pid: int, reason: str) -> dict[str, Any]:
        return {"custom_id": f"p{pid}", "response": {"status_code": 200, "body": {
            "choices": [{"index": 0, "finish_reason": reason,
                         "message": {"role": "assistant", "content": "x"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1}}}, "error": None}

    lines = [ok(ids[0], "stop"), ok(ids[1], "length"),
             {"custom_id": f"p{ids[2]}", "response": {"status_code": 400, "body": {
                 "error": {"type": "invalid_request_error", "message": "bad"}}}, "error": None},
             {"custom_id": f"p{ids[3]}", "response": None,
              "error": {"code": "content_policy", "message": "no"}}]
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    apply_and_finish(store.db, batch_id, [out], B.EXPIRED, 1)
    assert _columns(store, ids) == [
        ("processed", "stop", None), ("processed", "length", None),
        ("failed", None, "invalid_request_error"), ("failed", None, "content_policy"),
        ("expired", None, "expired")]  # never answered, the batch expired: gave up
    # Sent again by the user: the kind goes with the error.
    UserActions(store.db).retry_prompts(None, [PromptState.FAILED, PromptState.EXPIRED])
    assert [c[2] for c in _columns(store, ids)] == [None] * 5


def test_claude_results_fill_stop_reason_and_error_type(store: Store, tmp_path: Path) -> None:
    batch_id, ids = _downloading(store, tmp_path, 4, MESSAGES_ENDPOINT, "sandbox-claude",
                                 "claude-sonnet-5-5")
    lines = [
        {"custom_id": f"p{ids[0]}", "result": {"type": "succeeded", "message": {
            "type": "message", "role": "assistant", "content": [{"type": "text", "text": "a"}],
            "stop_reason": "max_tokens", "usage": {"input_tokens": 3, "output_tokens": 20}}}},
        {"custom_id": f"p{ids[1]}", "result": {"type": "errored", "error": {
            "type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}}},
        {"custom_id": f"p{ids[2]}", "result": {"type": "errored", "error": {
            "type": "error", "error": {"type": "overloaded_error", "message": "busy"}}}}]
    out = tmp_path / "claude-out.jsonl"
    out.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    apply_and_finish(store.db, batch_id, [out], B.COMPLETED, 1)
    # overloaded: retried until the limit (1 here), then failed under its own type; the
    # fourth never came back.
    assert _columns(store, ids) == [
        ("processed", "max_tokens", None), ("failed", None, "invalid_request_error"),
        ("failed", None, "overloaded_error"), ("failed", None, "no_result")]


def test_finish_reason_of_each_api() -> None:
    assert finish_reason({"choices": [{"finish_reason": "tool_calls"}]}) == "tool_calls"
    assert finish_reason({"stop_reason": "end_turn"}) == "end_turn"
    assert finish_reason({"status": "incomplete", "output": []}) == "incomplete"
    assert finish_reason({"choices": []}) is None
    assert finish_reason(None) is None and finish_reason({"choices": [None]}) is None
