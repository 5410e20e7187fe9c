"""Applying an Anthropic Message Batch's results (raw lines, any order) to its prompts: answers,
errors resent or failed, cancelled and expired requests, and only succeeded results billed."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import Store
from batcher_gui.storage.batch_book import BatchBook
from batcher_gui.storage.drafts import Drafts
from batcher_gui.storage.results_apply import apply_and_finish

B = BatchState


def _downloading(store: Store, tmp_path: Path, n: int) -> tuple[int, list[int]]:
    """A Claude batch of ``n`` prompts whose results are being applied (ids in line order)."""
    path = tmp_path / "claude.jsonl"
    path.write_text("".join(json.dumps({
        "custom_id": f"c{i}", "method": "POST", "url": MESSAGES_ENDPOINT,
        "body": {"model": "claude-sonnet-5-5", "max_tokens": 20,
                 "messages": [{"role": "user", "content": f"q{i}"}]}}) + "\n" for i in range(n)))
    batch_id = import_file(store, path, ImportOptions(),
                           profile_name="sandbox-claude").drafts[0]
    book = BatchBook(store.db)
    Drafts(store.db).seal()
    book.move(batch_id, B.READY_FOR_UPLOAD, B.UPLOADING, "test")
    book.mark_sent(batch_id, B.UPLOADING, B.IN_PROGRESS, "msgbatch_01", "test")
    book.move(batch_id, B.IN_PROGRESS, B.DOWNLOADING, "test", provider_status="ended")
    with store.db.read() as conn:
        ids = [row[0] for row in conn.exec_driver_sql(
            "SELECT id FROM prompts WHERE batch_id = ? ORDER BY line_no", (batch_id,))]
    return batch_id, ids


def _succeeded(pid: int, **usage: int) -> dict[str, Any]:
    return {"custom_id": f"p{pid}", "result": {"type": "succeeded", "message": {
        "id": f"msg_{pid}", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
        "content": [{"type": "text", "text": f"answer {pid}"}], "stop_reason": "end_turn",
        "usage": usage or {"input_tokens": 10, "output_tokens": 4}}}}


def _errored(pid: int, kind: str) -> dict[str, Any]:
    return {"custom_id": f"p{pid}", "result": {"type": "errored", "error": {
        "type": "error", "error": {"type": kind, "message": f"{kind} happened"}}}}


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def _prompts(store: Store, batch_id: int | None = None) -> dict[int, tuple[Any, ...]]:
    with store.db.read() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.exec_driver_sql(
            "SELECT id, state, error, input_tokens, output_tokens, response FROM prompts")}


def test_an_ended_batch_answers_fails_resends_and_bills_only_answers(
        store: Store, tmp_path: Path) -> None:
    batch_id, ids = _downloading(store, tmp_path, 7)
    ok_cached, ok_plain, overloaded, invalid, expired, canceled, api = ids
    cached_line = _succeeded(ok_cached, input_tokens=10, output_tokens=5,
                             cache_read_input_tokens=100, cache_creation_input_tokens=50)
    cached_line["result"]["message"]["usage"]["cache_creation"] = {
        "ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 30}
    results = _write(tmp_path / "results.jsonl", [  # not in input order, as Anthropic writes
        _errored(invalid, "invalid_request_error"),
        {"custom_id": f"p{expired}", "result": {"type": "expired"}},
        cached_line,
        _errored(overloaded, "overloaded_error"),
        {"custom_id": f"p{canceled}", "result": {"type": "canceled"}},
        _succeeded(ok_plain),
        _errored(api, "api_error"),
    ])
    summary = apply_and_finish(store.db, batch_id, [results], B.COMPLETED, 3)
    assert (summary.processed, summary.failed, summary.retried, summary.not_run) == (2, 1, 2, 2)
    prompts = _prompts(store)
    state, error, tokens_in, tokens_out, response = prompts[ok_cached]
    assert (state, error, tokens_in, tokens_out) == ("processed", None, 160, 5)
    assert orjson.loads(response)["content"][0]["text"] == f"answer {ok_cached}"
    assert prompts[ok_plain][:4] == ("processed", None, 10, 4)
    assert prompts[invalid][:4] == ("failed", "invalid_request_error: invalid_request_error "
                                              "happened", None, None)
    for resent in (overloaded, api):
        assert prompts[resent][0] == "pending" and prompts[resent][2:4] == (None, None)
        assert prompts[resent][1].startswith(("overloaded_error", "api_error"))
    assert prompts[expired][0] == prompts[canceled][0] == "pending"  # sent again
    # the batch's usage is its answers' (Anthropic reports none for a batch): errors unbilled
    batch = store.get_batch(batch_id)
    assert batch.state is B.COMPLETED
    assert (batch.input_tokens, batch.output_tokens) == (160 + 10, 5 + 4)
    with store.db.read() as conn:
        assert conn.exec_driver_sql(
            "SELECT cached_input_tokens, cache_write_tokens, cache_write_1h_tokens FROM batches "
            "WHERE id = ?", (batch_id,)).one() == (100, 50, 30)  # 30 of the 50 kept an hour


def test_a_cancelled_batch_keeps_its_answers_and_cancels_the_rest(
        store: Store, tmp_path: Path) -> None:
    batch_id, ids = _downloading(store, tmp_path, 3)
    done, never, too_late = ids
    results = _write(tmp_path / "results.jsonl", [
        {"custom_id": f"p{never}", "result": {"type": "canceled"}},
        _succeeded(done),
        {"custom_id": f"p{too_late}", "result": {"type": "canceled"}},
    ])
    summary = apply_and_finish(store.db, batch_id, [results], B.CANCELLED, 3)
    assert (summary.processed, summary.not_run, summary.leftover) == (1, 2, {"cancelled": 2})
    prompts = _prompts(store)
    assert [prompts[pid][0] for pid in ids] == ["processed", "cancelled", "cancelled"]
    batch = store.get_batch(batch_id)
    assert (batch.state, batch.input_tokens, batch.output_tokens) == (B.CANCELLED, 10, 4)


def test_a_batch_whose_provider_reports_usage_keeps_it(store: Store, tmp_path: Path) -> None:
    batch_id, ids = _downloading(store, tmp_path, 1)
    results = _write(tmp_path / "results.jsonl", [_succeeded(ids[0])])
    apply_and_finish(store.db, batch_id, [results], B.COMPLETED, 3, input_tokens=99,
                     output_tokens=77)
    batch = store.get_batch(batch_id)
    assert (batch.input_tokens, batch.output_tokens) == (99, 77)


def test_shuffled_results_are_written_by_id_range_and_survive_a_crash(
        store: Store, tmp_path: Path) -> None:
    batch_id, ids = _downloading(store, tmp_path, 5000)
    order = list(ids)
    random.Random(3).shuffle(order)  # as Anthropic writes them: in no order
    results = _write(tmp_path / "results.jsonl", [_succeeded(pid) for pid in order])
    written: list[set[int]] = []  # the prompts each transaction answered

    def write(fn: Callable[[], Any]) -> None:
        if len(written) == 1:
            raise OSError("the power went out")  # before the second transaction
        fn()
        with store.db.read() as conn:
            done = {row[0] for row in conn.exec_driver_sql(
                "SELECT id FROM prompts WHERE state = 'processed'")}
        written.append(done - set().union(*written))

    with pytest.raises(OSError):
        apply_and_finish(store.db, batch_id, [results], B.COMPLETED, 3, write=write)
    # the first transaction wrote neighbouring prompts (one range of ids: a fresh workspace
    # numbers them from 1), not 2,000 from all over the table
    (first,) = written
    assert len(first) == 2000 and max(first) - min(first) < 2000
    assert store.get_batch(batch_id).state is B.DOWNLOADING  # not finished: applied again
    summary = apply_and_finish(store.db, batch_id, [results], B.COMPLETED, 3)
    assert (summary.processed, summary.skipped_lines) == (3000, 2000)  # applied once only
    with store.db.read() as conn:
        assert conn.exec_driver_sql(
            "SELECT count(*), count(DISTINCT prompt_id) FROM prompt_transitions "
            "WHERE to_state = 'processed'").one() == (5000, 5000)
    assert store.get_batch(batch_id).state is B.COMPLETED
