"""SDK Batch/FileObject -> RemoteBatch/RemoteFile, including lax (unvalidated) models."""

from __future__ import annotations

from typing import Any

from openai.types import Batch, FileObject

from batcher_gui.domain.remote import BatchErrorInfo
from batcher_gui.providers import to_remote_batch, to_remote_file


def test_complete_batch() -> None:
    payload: dict[str, Any] = {
        "id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions",
        "input_file_id": "file-in", "completion_window": "24h", "status": "completed",
        "output_file_id": "file-out", "error_file_id": "file-err", "created_at": 1711471533,
        "expires_at": 1711557933, "request_counts": {"total": 3, "completed": 2, "failed": 1},
        "usage": {"input_tokens": 20, "output_tokens": 6, "total_tokens": 26,
                  "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens_details": {"reasoning_tokens": 0}},
        "metadata": {"batcher_batch": "u1"},
    }
    batch = Batch.construct(**payload)
    remote = to_remote_batch(Batch.model_validate(batch.model_dump()))
    assert remote.status == "completed"
    assert (remote.output_file_id, remote.error_file_id) == ("file-out", "file-err")
    assert (remote.total, remote.completed, remote.failed) == (3, 2, 1)
    assert (remote.input_tokens, remote.output_tokens) == (20, 6)
    assert remote.created_at == 1711471533.0 and isinstance(remote.created_at, float)
    assert remote.metadata == {"batcher_batch": "u1"}


def test_sparse_batch_with_unknown_status() -> None:
    # What the SDK builds (without validation) from a server that omits optional fields.
    batch = Batch.construct(id="batch_2", status="paused_for_maintenance")
    remote = to_remote_batch(batch)
    assert remote.status == "paused_for_maintenance"
    assert remote.total is None and remote.input_tokens is None
    assert remote.errors == () and remote.metadata == {}
    assert remote.created_at is None and remote.endpoint is None


def test_failed_batch_errors() -> None:
    batch = Batch.construct(id="b", status="failed", errors={"object": "list", "data": [
        {"code": "token_limit_exceeded", "message": "Enqueued token limit reached",
         "line": None, "param": None},
        {"code": "invalid_json_line", "message": "not JSON", "line": 7},
    ]}, request_counts=None, usage=None, metadata=None)
    assert to_remote_batch(batch).errors == (
        BatchErrorInfo("token_limit_exceeded", "Enqueued token limit reached"),
        BatchErrorInfo("invalid_json_line", "not JSON", line=7),
    )
    assert to_remote_batch(Batch.construct(id="b", status="failed",
                                           errors={"data": None})).errors == ()


def test_file() -> None:
    f = FileObject.construct(id="file-1", bytes=535, created_at=1795932145, filename="in.jsonl",
                             object="file", purpose="batch", status="processed")
    remote = to_remote_file(f)
    assert (remote.id, remote.filename, remote.bytes, remote.purpose) == \
        ("file-1", "in.jsonl", 535, "batch")
    assert remote.created_at == 1795932145.0
    sparse = to_remote_file(FileObject.construct(id="file-2"))
    assert (sparse.filename, sparse.bytes, sparse.purpose, sparse.created_at) == ("", 0, "", None)
