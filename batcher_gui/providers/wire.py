"""SDK objects -> domain dataclasses, defensively.

The SDK builds response models without validation: a field the provider left out reads as
None (or is absent), and a status the SDK does not know passes through as a raw string. So
every field is read with a fallback instead of trusting the type hints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batcher_gui.domain.remote import BatchErrorInfo, RemoteBatch, RemoteFile


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _time(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _field(obj: Any, name: str) -> Any:
    """A field of an SDK model or of a plain mapping (what a lax model may hold when nested)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _errors(raw: Any) -> tuple[BatchErrorInfo, ...]:
    data = _field(raw, "data")
    if not isinstance(data, list | tuple):
        return ()
    return tuple(
        BatchErrorInfo(
            code=_str(_field(item, "code")),
            message=_str(_field(item, "message")),
            line=_int(_field(item, "line")),
            param=_str(_field(item, "param")),
        )
        for item in data
        if item is not None
    )


def _metadata(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): str(v) for k, v in raw.items() if v is not None}


def to_remote_batch(batch: Any) -> RemoteBatch:
    """A ``RemoteBatch`` from an SDK ``Batch`` (or anything shaped like one)."""
    counts = _field(batch, "request_counts")
    usage = _field(batch, "usage")
    status = _field(batch, "status")
    return RemoteBatch(
        id=str(_field(batch, "id")),
        # Raw string on purpose: the engine handles statuses it does not know.
        status=str(status) if status is not None else "unknown",
        endpoint=_str(_field(batch, "endpoint")),
        input_file_id=_str(_field(batch, "input_file_id")),
        output_file_id=_str(_field(batch, "output_file_id")),
        error_file_id=_str(_field(batch, "error_file_id")),
        created_at=_time(_field(batch, "created_at")),
        expires_at=_time(_field(batch, "expires_at")),
        total=_int(_field(counts, "total")),
        completed=_int(_field(counts, "completed")),
        failed=_int(_field(counts, "failed")),
        input_tokens=_int(_field(usage, "input_tokens")),
        output_tokens=_int(_field(usage, "output_tokens")),
        errors=_errors(_field(batch, "errors")),
        metadata=_metadata(_field(batch, "metadata")),
    )


def to_remote_file(file: Any) -> RemoteFile:
    """A ``RemoteFile`` from an SDK ``FileObject``."""
    return RemoteFile(
        id=str(_field(file, "id")),
        filename=_str(_field(file, "filename")) or "",
        bytes=_int(_field(file, "bytes")) or 0,
        purpose=_str(_field(file, "purpose")) or "",
        created_at=_time(_field(file, "created_at")),
    )
