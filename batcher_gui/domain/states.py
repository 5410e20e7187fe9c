"""The two state machines (batch: 11 states, prompt: 8 states) and their transition tables.

Code never assigns a state directly: it asks :func:`check_batch_transition` or
:func:`check_prompt_transition`, which refuse anything the table does not list, and the storage
layer writes an audit row (from, to, at, reason) for every change it makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from batcher_gui.domain.errors import InvalidTransition


class BatchState(StrEnum):
    """Where a local batch is in its life."""

    #: Collecting prompts; nothing has left the machine.
    DRAFT = "draft"
    #: Sealed; waiting to be written and uploaded (maybe until ``not_before``: a backoff).
    READY_FOR_UPLOAD = "ready_for_upload"
    #: The JSONL file is being uploaded and the provider batch created.
    UPLOADING = "uploading"
    #: The provider accepted the batch and is validating its file.
    VALIDATING = "validating"
    #: The provider is running the requests.
    IN_PROGRESS = "in_progress"
    #: The provider is writing the output files.
    FINALIZING = "finalizing"
    #: Output and error files are being downloaded and applied to prompts.
    DOWNLOADING = "downloading"
    #: Every result is applied. Terminal.
    COMPLETED = "completed"
    #: The provider (or Batcher) gave up on the batch. Can be restarted.
    FAILED = "failed"
    #: The 24 h window passed; partial results were kept, the rest re-queued. Terminal.
    EXPIRED = "expired"
    #: Cancelled by the user; partial results were kept. Terminal.
    CANCELLED = "cancelled"


class PromptState(StrEnum):
    """Where one prompt (one request line) is in its life."""

    #: Waiting to go into a batch (or sitting in a draft batch).
    PENDING = "pending"
    #: Sent to the provider inside a batch.
    PROCESSING = "processing"
    #: A successful response is stored. Terminal when the run has no delivery target.
    PROCESSED = "processed"
    #: The result is being delivered to the run's target.
    DELIVERING = "delivering"
    #: The result reached the run's target. Terminal.
    DELIVERED = "delivered"
    #: The provider answered with an error, attempts ran out, or delivery failed.
    FAILED = "failed"
    #: The batch window passed and attempts ran out.
    EXPIRED = "expired"
    #: Cancelled by the user before a result arrived.
    CANCELLED = "cancelled"


B = BatchState
P = PromptState

#: Every allowed batch transition, from -> allowed targets. ``None`` is creation.
BATCH_TRANSITIONS: Mapping[BatchState | None, frozenset[BatchState]] = {
    None: frozenset({B.DRAFT}),
    B.DRAFT: frozenset({B.READY_FOR_UPLOAD, B.CANCELLED}),
    # -> failed: the batch cannot be written (e.g. every prompt was cancelled).
    B.READY_FOR_UPLOAD: frozenset({B.UPLOADING, B.FAILED, B.CANCELLED}),
    # -> ready_for_upload: the upload/create failed in a way worth retrying later.
    B.UPLOADING: frozenset(
        {B.VALIDATING, B.IN_PROGRESS, B.READY_FOR_UPLOAD, B.FAILED, B.CANCELLED}
    ),
    # Polls can be sparse: the provider may have moved on by several states between two polls.
    # -> ready_for_upload: ``token_limit_exceeded``, waiting with a backoff.
    B.VALIDATING: frozenset(
        {B.IN_PROGRESS, B.FINALIZING, B.DOWNLOADING, B.READY_FOR_UPLOAD, B.FAILED, B.EXPIRED,
         B.CANCELLED}
    ),
    B.IN_PROGRESS: frozenset(
        {B.FINALIZING, B.DOWNLOADING, B.READY_FOR_UPLOAD, B.FAILED, B.EXPIRED, B.CANCELLED}
    ),
    B.FINALIZING: frozenset({B.DOWNLOADING, B.FAILED, B.EXPIRED, B.CANCELLED}),
    # Expired/cancelled batches with partial output end here after the files are applied.
    B.DOWNLOADING: frozenset({B.COMPLETED, B.FAILED, B.EXPIRED, B.CANCELLED}),
    B.COMPLETED: frozenset(),
    # Restart: back in the queue for a new upload.
    B.FAILED: frozenset({B.READY_FOR_UPLOAD}),
    B.EXPIRED: frozenset(),
    B.CANCELLED: frozenset(),
}

#: Every allowed prompt transition, from -> allowed targets. ``None`` is creation.
PROMPT_TRANSITIONS: Mapping[PromptState | None, frozenset[PromptState]] = {
    None: frozenset({P.PENDING}),
    P.PENDING: frozenset({P.PROCESSING, P.FAILED, P.CANCELLED}),
    # -> pending: a retryable failure (5xx line, expired batch, token limit) for a new batch.
    P.PROCESSING: frozenset({P.PROCESSED, P.PENDING, P.FAILED, P.EXPIRED, P.CANCELLED}),
    P.PROCESSED: frozenset({P.DELIVERING}),
    # -> processed: a delivery attempt failed and will be retried.
    P.DELIVERING: frozenset({P.DELIVERED, P.PROCESSED, P.FAILED}),
    # Redeliver.
    P.DELIVERED: frozenset({P.DELIVERING}),
    # Retry: failed/expired/cancelled prompts go into a new batch; a failed delivery is redone.
    P.FAILED: frozenset({P.PENDING, P.DELIVERING}),
    P.EXPIRED: frozenset({P.PENDING}),
    P.CANCELLED: frozenset({P.PENDING}),
}

BATCH_TERMINAL: frozenset[BatchState] = frozenset(
    {B.COMPLETED, B.FAILED, B.EXPIRED, B.CANCELLED}
)
#: Batches the engine still has to drive (everything but drafts and terminal states).
BATCH_IN_FLIGHT: frozenset[BatchState] = frozenset(
    {B.READY_FOR_UPLOAD, B.UPLOADING, B.VALIDATING, B.IN_PROGRESS, B.FINALIZING, B.DOWNLOADING}
)
PROMPT_FINAL: frozenset[PromptState] = frozenset(
    {P.PROCESSED, P.DELIVERED, P.FAILED, P.EXPIRED, P.CANCELLED}
)


def check_batch_transition(
    batch_id: object, from_state: BatchState | None, to_state: BatchState
) -> None:
    """Refuse a batch state change that the table does not allow.

    Raises:
        InvalidTransition: if ``from_state -> to_state`` is not in :data:`BATCH_TRANSITIONS`.
    """
    if to_state not in BATCH_TRANSITIONS.get(from_state, frozenset()):
        raise InvalidTransition("batch", batch_id, from_state, to_state)


def check_prompt_transition(
    prompt_id: object, from_state: PromptState | None, to_state: PromptState
) -> None:
    """Refuse a prompt state change that the table does not allow.

    Raises:
        InvalidTransition: if ``from_state -> to_state`` is not in :data:`PROMPT_TRANSITIONS`.
    """
    if to_state not in PROMPT_TRANSITIONS.get(from_state, frozenset()):
        raise InvalidTransition("prompt", prompt_id, from_state, to_state)


def prompt_sources(to_state: PromptState, among: Iterable[PromptState] | None = None) -> list[str]:
    """The prompt states from which ``to_state`` may be reached (optionally within ``among``).

    Bulk updates use this in their ``WHERE state IN (...)`` clause, so a bulk change can never
    move a prompt along an edge the table does not have.
    """
    allowed = [
        s for s, targets in PROMPT_TRANSITIONS.items() if s is not None and to_state in targets
    ]
    if among is not None:
        wanted = set(among)
        bad = wanted.difference(allowed)
        if bad:
            raise InvalidTransition("prompt", "*", ",".join(sorted(bad)), to_state)
        allowed = [s for s in allowed if s in wanted]
    return [s.value for s in allowed]
