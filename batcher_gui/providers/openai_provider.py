"""The OpenAI (and OpenAI-compatible, and Azure OpenAI) batch provider on the official SDK.

Every public method raises only ProviderError kinds (see :mod:`.errors`). The SDK retries
transient failures itself (``max_retries``), except for ``batches.create`` and ``files.create``:
the API takes no idempotency key, so a retried create after a lost answer makes a duplicate
batch (or an extra copy of a file). The engine reconciles lost creates itself, through the
batch metadata and the upload's file name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

import openai

from batcher_gui.domain.remote import (
    Capabilities,
    NotFoundRemote,
    PermanentError,
    Provider,
    RemoteBatch,
    RemoteFile,
)
from batcher_gui.providers.common import (
    SdkProvider,
    mapped_pages,
    write_chunk,
    write_whole,
)
from batcher_gui.providers.errors import map_error
from batcher_gui.providers.wire import to_remote_batch, to_remote_file

log = logging.getLogger(__name__)

T = TypeVar("T")

#: OpenAI's maximum page size for ``GET /batches``.
MAX_BATCH_PAGE = 100
#: Bytes per read while streaming a download to disk.
DOWNLOAD_CHUNK = 1024 * 1024


def _without_ambient_config(client: openai.AsyncOpenAI) -> openai.AsyncOpenAI:
    """Drop what the SDK's constructor read from ``OPENAI_*`` variables on its own.

    Key and base URL are passed explicitly, but the constructor still fills organisation,
    project, admin key, webhook secret and extra headers (``OPENAI_CUSTOM_HEADERS``, which may
    even carry an ``Authorization`` header) from the environment. Which key and account a
    profile uses is Batcher's decision, so none of that may leak in. ``with_options`` copies
    run the constructor again: call this on each copy too.
    """
    client.organization = None
    client.project = None
    client.admin_api_key = None
    client.webhook_secret = None
    client._custom_headers = {}  # no public way to drop headers the constructor took from env
    return client


def build_client(
    *,
    api_key: str,
    base_url: str,
    max_retries: int,
    timeout: float,
    azure_api_version: str | None = None,
) -> openai.AsyncOpenAI:
    """An SDK client that uses only what it is given (see ``_without_ambient_config``)."""
    client: openai.AsyncOpenAI
    if azure_api_version is not None:
        client = openai.AsyncAzureOpenAI(
            azure_endpoint=base_url, api_key=api_key, api_version=azure_api_version,
            max_retries=max_retries, timeout=timeout,
        )
    else:
        client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout,
        )
    return _without_ambient_config(client)


def _require_id(value: str, what: str) -> str:
    # The SDK raises a bare ValueError for empty ids; say which id was missing instead.
    if not value or not value.strip():
        raise PermanentError(f"No {what} id given.", code="invalid_id")
    return value


class OpenAIProvider(SdkProvider):
    """One provider account (a profile and its key) behind the engine's Provider protocol.

    Args:
        api_key: the key, sent as ``Authorization: Bearer`` (``api-key`` for Azure).
        base_url: API root including ``/v1`` (OpenAI and compatible), or the Azure resource
            endpoint when ``azure_api_version`` is given.
        max_retries: SDK retries for every call except ``create_batch`` (never retried).
        timeout: seconds per connect/read/write operation (not for a whole upload).
        capabilities: limits to advertise (the factory builds them from the profile).
        profile_name: used in error messages ("check the API key for profile X").
        azure_api_version: set to talk to Azure OpenAI with this ``api-version``.
        client: a ready SDK client (tests); ``api_key``/``base_url`` are then ignored.
    """

    def __init__(
        self,
        *,
        api_key: str = "",
        base_url: str = "https://api.openai.com/v1",
        max_retries: int = 2,
        timeout: float = 60.0,
        capabilities: Capabilities | None = None,
        profile_name: str | None = None,
        azure_api_version: str | None = None,
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        built_here = client is None
        if client is None:
            if not api_key:
                raise PermanentError("No API key given for the provider.", code="missing_key")
            client = build_client(api_key=api_key, base_url=base_url, max_retries=max_retries,
                                  timeout=timeout, azure_api_version=azure_api_version)
        self._client = client
        # Shares the HTTP connection pool with the main client; only the retry count differs.
        self._create_client = client.with_options(max_retries=0)
        if built_here:  # an injected client keeps whatever headers its creator gave it
            _without_ambient_config(self._create_client)
        self.capabilities = capabilities or Capabilities()
        self.profile_name = profile_name

    # --- files ---------------------------------------------------------------------

    async def upload_file(self, path: Path, filename: str) -> RemoteFile:
        """Upload a JSONL batch input file (``purpose="batch"``)."""
        if not filename.lower().endswith(".jsonl"):
            # The real API rejects batch files not named *.jsonl with a 400; fail early.
            raise PermanentError(f"Batch input file names must end in .jsonl, got {filename!r}.",
                                 code="invalid_filename")
        try:
            # A seekable file object streams from disk and lets the SDK rewind it for a retry,
            # instead of holding up to 200 MB in memory (a Path would be read whole).
            fh = Path(path).open("rb")  # noqa: SIM115 - closed below, after the awaited call
        except OSError as exc:
            raise PermanentError(f"Cannot read the batch file {path}: {exc}",
                                 code="local_io") from exc
        with fh:
            created = await self._call(lambda: self._create_client.files.create(
                file=(filename, fh, "application/jsonl"), purpose="batch",
            ))
        log.debug("uploaded %s as %s", filename, created.id)
        return to_remote_file(created)

    async def list_files(self, purpose: str | None = "batch") -> AsyncIterator[RemoteFile]:
        """Every file at the provider (all pages), optionally of one purpose."""
        pager = (self._client.files.list(purpose=purpose) if purpose is not None
                 else self._client.files.list())
        async for item in self._iterate(pager):
            yield to_remote_file(item)

    async def download_file(self, file_id: str, dest: Path) -> int:
        """Stream a file to ``dest``: written whole (fsynced, then renamed) or not at all."""
        _require_id(file_id, "file")
        size = await write_whole(Path(dest), lambda out: self._stream_to(file_id, out))
        log.debug("downloaded %s (%d bytes)", file_id, size)
        return size

    async def _stream_to(self, file_id: str, out: BinaryIO) -> int:
        size = 0
        try:
            async with self._client.files.with_streaming_response.content(file_id) as response:
                async for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                    size += write_chunk(out, chunk)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise map_error(exc, profile_name=self.profile_name) from exc
        return size

    async def delete_file(self, file_id: str) -> None:
        """Delete a file; one that is already gone counts as deleted."""
        _require_id(file_id, "file")
        try:
            await self._call(lambda: self._client.files.delete(file_id))
        except NotFoundRemote:
            log.debug("file %s was already deleted", file_id)

    # --- batches -------------------------------------------------------------------

    async def create_batch(
        self, input_file_id: str, endpoint: str, metadata: dict[str, str]
    ) -> RemoteBatch:
        """Create a batch (24 h window). Never retried here: see the module docstring."""
        _require_id(input_file_id, "input file")
        batch = await self._call(lambda: self._create_client.batches.create(
            input_file_id=input_file_id,
            # The SDK types endpoint as a Literal of known URLs; compatible servers may add more.
            endpoint=cast(Any, endpoint),
            completion_window="24h",
            metadata=dict(metadata),
        ))
        log.debug("created batch %s", batch.id)
        return to_remote_batch(batch)

    async def retrieve_batch(self, batch_id: str) -> RemoteBatch:
        _require_id(batch_id, "batch")
        return to_remote_batch(await self._call(lambda: self._client.batches.retrieve(batch_id)))

    async def cancel_batch(self, batch_id: str) -> RemoteBatch:
        _require_id(batch_id, "batch")
        return to_remote_batch(await self._call(lambda: self._client.batches.cancel(batch_id)))

    async def list_batches(self, page_size: int = 100) -> AsyncIterator[RemoteBatch]:
        """Newest first, every page; stops when the provider says there is no more."""
        limit = max(1, min(page_size, MAX_BATCH_PAGE))
        async for item in self._iterate(self._client.batches.list(limit=limit)):
            yield to_remote_batch(item)

    def _iterate(self, pager: Any) -> AsyncIterator[Any]:
        return mapped_pages(pager, self.profile_name)


if TYPE_CHECKING:  # mypy proves the class satisfies the engine's protocol
    def _is_provider(provider: OpenAIProvider) -> Provider:
        return provider
