"""Database rows -> domain dataclasses (no ORM object ever leaves the storage package)."""

from __future__ import annotations

from typing import Any

import orjson

from batcher_gui.domain.models import Batch, Profile, ProfileKind, ProfileLimits, Run
from batcher_gui.domain.secrecy import mask_optional
from batcher_gui.domain.states import BatchState


def json_or_none(data: bytes | None) -> Any:
    """A stored request or response body, parsed (None: none, or not JSON)."""
    if not data:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def profile_from_row(row: Any) -> Profile:
    return Profile(
        id=row.id,
        name=row.name,
        kind=ProfileKind(row.kind),
        base_url=row.base_url,
        key_env=row.key_env,
        limits=ProfileLimits(
            max_requests=row.max_requests,
            max_batch_bytes=row.max_batch_bytes,
            max_line_bytes=row.max_line_bytes,
        ),
        options=orjson.loads(row.options) if row.options else {},
    )


def run_from_row(row: Any) -> Run:
    return Run(
        id=row.id,
        name=row.name,
        source_path=row.source_path,
        source_format=row.source_format,
        profile_id=row.profile_id,
        created_at=row.created_at,
        prompt_count=row.prompt_count,
        delivery_kind=row.delivery_kind,
        delivery_target=row.delivery_target,
    )


def batch_from_row(row: Any) -> Batch:
    return Batch(
        id=row.id,
        uuid=row.uuid,
        profile_id=row.profile_id,
        endpoint=row.endpoint,
        model=row.model,
        state=BatchState(row.state),
        request_count=row.request_count,
        bytes=row.bytes,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sealed_at=row.sealed_at,
        not_before=row.not_before,
        # Masked again on the way out: a workspace written before masking may hold a key.
        wait_reason=mask_optional(row.wait_reason),
        provider_batch_id=row.provider_batch_id,
        input_file_id=row.input_file_id,
        output_file_id=row.output_file_id,
        error_file_id=row.error_file_id,
        provider_status=row.provider_status,
        error=mask_optional(row.error),
        intent=row.intent,
        intent_at=row.intent_at,
        polled_at=row.polled_at,
        cancel_requested_at=row.cancel_requested_at,
        expires_at=row.expires_at,
        counts_total=row.counts_total,
        counts_completed=row.counts_completed,
        counts_failed=row.counts_failed,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        token_limit_attempts=row.token_limit_attempts,
        run_id=row.run_id,
        problem=mask_optional(row.problem),
        est_input_tokens=row.est_input_tokens,
    )

