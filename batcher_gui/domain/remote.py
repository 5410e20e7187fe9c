"""What the engine knows about a provider: plain dataclasses and the Provider protocol.

Implementations live in :mod:`batcher_gui.providers`; the engine only sees this module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from batcher_gui.domain.errors import BatcherError

#: metadata key carrying the local batch's uuid, used to re-attach after a crash.
METADATA_KEY = "batcher_batch"
#: ``BatchErrorInfo.code`` of an ended batch whose results the provider no longer keeps
#: (Anthropic: 29 days after creation).
RESULTS_ARCHIVED = "results_archived"


class ProviderError(BatcherError):
    """A provider call did not succeed."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class RetryLater(ProviderError):
    """A transient fault (429, 5xx, timeout, dropped connection): try the same call later.

    Attributes:
        retry_after: seconds the provider asked us to wait, if it said.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class WaitForTurn(RetryLater):
    """Not a fault: another batch of the same profile is being sent first (providers whose
    batches carry no metadata take one send at a time). Looked at again shortly, and never
    counted as a failure (a real fault later backs off from the first wait)."""


class PermanentError(ProviderError):
    """The provider refused the call for good (400, 401, 403, 404...): retrying will not help."""


class NotFoundRemote(PermanentError):
    """The provider does not know the file or batch (404)."""


@dataclass(frozen=True, slots=True)
class BatchErrorInfo:
    """One entry of a failed batch's ``errors.data``."""

    code: str | None
    message: str | None
    line: int | None = None
    param: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteBatch:
    """A provider batch as last seen.

    ``status`` is the provider's raw status string, which may be one the SDK does not know.
    """

    id: str
    status: str
    endpoint: str | None = None
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: float | None = None
    expires_at: float | None = None
    total: int | None = None
    completed: int | None = None
    failed: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    errors: tuple[BatchErrorInfo, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A file stored at the provider."""

    id: str
    filename: str
    bytes: int
    purpose: str
    created_at: float | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do (the UI shows this; the engine respects it)."""

    max_requests: int = 50_000
    max_batch_bytes: int = 200_000_000
    completion_window: str = "24h"
    has_metadata: bool = True
    can_delete_files: bool = True


class Provider(Protocol):
    """One provider account (a profile with its key). All methods raise ProviderError kinds."""

    capabilities: Capabilities

    async def upload_file(self, path: Path, filename: str) -> RemoteFile: ...

    async def create_batch(
        self, input_file_id: str, endpoint: str, metadata: dict[str, str]
    ) -> RemoteBatch: ...

    async def retrieve_batch(self, batch_id: str) -> RemoteBatch: ...

    def list_batches(self, page_size: int = 100) -> AsyncIterator[RemoteBatch]:
        """Newest first; stops when the provider says there is no more."""
        ...

    def list_files(self, purpose: str | None = "batch") -> AsyncIterator[RemoteFile]: ...

    async def cancel_batch(self, batch_id: str) -> RemoteBatch: ...

    async def download_file(self, file_id: str, dest: Path) -> int:
        """Stream a file to ``dest`` (written whole or not at all); return its size."""
        ...

    async def delete_file(self, file_id: str) -> None:
        """Delete a file; a file that is already gone is not an error."""
        ...

    async def close(self) -> None: ...
