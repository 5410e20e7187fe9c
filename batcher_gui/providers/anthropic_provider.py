"""Anthropic's Message Batches API (Claude) behind the engine's Provider protocol.

Anthropic has no file store: a batch's requests travel inline in the create call, and its
results are one JSONL stream per batch. So this provider maps the engine's file-shaped steps
onto that API without the engine knowing:

* "uploading" stays on this machine: the batch file (``{"custom_id", "params"}`` lines, written
  by the engine) gets a local id (``local:<path>``), and ``create_batch`` sends its lines.
* an ended batch's results are its "output file" (``results:<batch id>``); downloading it
  streams Anthropic's raw result lines to disk, as they come (they are applied by custom_id).
* batches carry no metadata, so ``capabilities.has_metadata`` is False and the engine finds a
  create lost to a crash or a dropped connection by time and request count instead (see
  ``engine.reconcile``). ``batches.create`` is never retried here, for the same reason as
  OpenAI's: a retried create after a lost answer is a second, paid batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import anthropic
from anthropic.types.messages import MessageBatch

from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.remote import RESULTS_ARCHIVED as RESULTS_ARCHIVED
from batcher_gui.domain.remote import (
    BatchErrorInfo,
    Capabilities,
    NotFoundRemote,
    PermanentError,
    Provider,
    RemoteBatch,
    RemoteFile,
    RetryLater,
)
from batcher_gui.providers.common import (
    SdkProvider,
    mapped_pages,
    write_chunk,
    write_whole,
)
from batcher_gui.providers.errors import map_error
from batcher_gui.providers.factory import ANTHROPIC_BASE_URL

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Anthropic's largest page for ``GET /v1/messages/batches``.
MAX_BATCH_PAGE = 1000
#: The id prefix of a batch file that never left this machine (Anthropic takes no uploads).
LOCAL_PREFIX = "local:"
#: The id prefix of a batch's results, Anthropic's stand-in for an output file.
RESULTS_PREFIX = "results:"
DOWNLOAD_CHUNK = 1024 * 1024


def build_client(*, api_key: str, base_url: str, max_retries: int,
                 timeout: float) -> anthropic.AsyncAnthropic:
    """An SDK client that uses only what it is given: the constructor would otherwise take an
    auth token, custom headers and more from ``ANTHROPIC_*`` variables on its own."""
    client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url,
                                      max_retries=max_retries, timeout=timeout)
    client.auth_token = None
    client._custom_headers = {}  # no public way to drop headers the constructor took from env
    return client


def results_id(batch_id: str) -> str:
    return RESULTS_PREFIX + batch_id


def _timestamp(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


def to_remote_batch(batch: MessageBatch) -> RemoteBatch:
    """A Message Batch as the engine's RemoteBatch.

    The status speaks the engine's (OpenAI's) words: ``in_progress``, ``cancelling``, and for
    an ended batch ``cancelled`` (a cancel was asked), ``expired`` (some requests ran out of
    its 24 hours: those are sent again) or ``completed``. An ended batch whose results are no
    longer kept has no output and says so in ``errors``.
    """
    counts = batch.request_counts
    done = counts.succeeded + counts.errored + counts.canceled + counts.expired
    status = {"in_progress": "in_progress", "canceling": "cancelling"}.get(
        str(batch.processing_status), str(batch.processing_status))
    errors: tuple[BatchErrorInfo, ...] = ()
    output = None
    if status == "ended":
        if batch.cancel_initiated_at is not None:
            status = "cancelled"
        elif counts.expired:
            status = "expired"
        else:
            status = "completed"
        if batch.results_url:
            output = results_id(batch.id)
        elif batch.archived_at is not None:
            errors = (BatchErrorInfo(
                RESULTS_ARCHIVED, "Anthropic no longer keeps this batch's results (they are "
                "kept 29 days after the batch was created)"),)
    return RemoteBatch(
        id=batch.id, status=status, endpoint=MESSAGES_ENDPOINT, output_file_id=output,
        created_at=_timestamp(batch.created_at), expires_at=_timestamp(batch.expires_at),
        total=counts.processing + done, completed=counts.succeeded,
        failed=counts.errored + counts.expired, errors=errors)


def _request_body(path: Path) -> bytes:
    """The create call's JSON from the batch file: its lines are already the requests."""
    with path.open("rb") as fh:
        lines = [line.strip() for line in fh]
    return b'{"requests":[' + b",".join(line for line in lines if line) + b"]}"


def _local_path(file_id: str) -> Path:
    if not file_id.startswith(LOCAL_PREFIX):
        raise PermanentError(f"{file_id!r} is not a batch file of this machine.",
                             code="invalid_id")
    return Path(file_id[len(LOCAL_PREFIX):])


class AnthropicProvider(SdkProvider):
    """One Anthropic account (a profile and its key).

    Args:
        api_key: the key (sent as ``x-api-key``).
        base_url: the API root without ``/v1`` (the SDK's paths carry it).
        max_retries: SDK retries for every call except ``create_batch`` (never retried).
        timeout: seconds per connect/read/write operation.
        capabilities: limits to advertise (the factory builds them from the profile).
        profile_name: used in error messages.
        client: a ready SDK client (tests); ``api_key``/``base_url`` are then ignored.
    """

    def __init__(self, *, api_key: str = "", base_url: str = ANTHROPIC_BASE_URL,
                 max_retries: int = 2, timeout: float = 60.0,
                 capabilities: Capabilities | None = None, profile_name: str | None = None,
                 client: anthropic.AsyncAnthropic | None = None) -> None:
        if client is None:
            if not api_key:
                raise PermanentError("No API key given for the provider.", code="missing_key")
            client = build_client(api_key=api_key, base_url=base_url, max_retries=max_retries,
                                  timeout=timeout)
        self._client = client
        self._create_client = client.with_options(max_retries=0)
        _load_lazy_parts(client)
        base = capabilities or Capabilities(max_requests=100_000, max_batch_bytes=256_000_000)
        self.capabilities = Capabilities(
            max_requests=base.max_requests, max_batch_bytes=base.max_batch_bytes,
            completion_window="24h", has_metadata=False, can_delete_files=False)
        self.profile_name = profile_name

    # --- "files" -------------------------------------------------------------------

    async def upload_file(self, path: Path, filename: str) -> RemoteFile:
        """Nothing to upload: the requests go inline with the create call."""
        try:
            size = (await asyncio.to_thread(Path(path).stat)).st_size
        except OSError as exc:
            raise PermanentError(f"Cannot read the batch file {path}: {exc}",
                                 code="local_io") from exc
        return RemoteFile(LOCAL_PREFIX + str(Path(path).resolve()), filename, size, "batch")

    async def list_files(self, purpose: str | None = "batch") -> AsyncIterator[RemoteFile]:
        """Anthropic keeps no files: nothing to find or clean up."""
        return
        yield  # an async generator

    async def delete_file(self, file_id: str) -> None:
        """Deleting a batch's results deletes the batch at Anthropic (only an ended one can
        be); local batch files are the engine's to remove."""
        if not file_id.startswith(RESULTS_PREFIX):
            return
        batch_id = file_id[len(RESULTS_PREFIX):]
        try:
            await self._call(lambda: self._client.messages.batches.delete(batch_id))
        except NotFoundRemote:
            log.debug("batch %s was already deleted", batch_id)

    async def download_file(self, file_id: str, dest: Path) -> int:
        """Stream an ended batch's results to ``dest``: written whole or not at all.

        A 404 while the batch still has a results URL is a hiccup of a freshly ended batch
        (RetryLater); once the results are no longer kept it is NotFoundRemote.
        """
        if not file_id.startswith(RESULTS_PREFIX):
            raise PermanentError(f"{file_id!r} is not a batch's results.", code="invalid_id")
        batch_id = file_id[len(RESULTS_PREFIX):]

        async def fill(out: BinaryIO) -> int:
            try:
                return await self._stream_results(batch_id, out)
            except NotFoundRemote:
                remote = await self.retrieve_batch(batch_id)
                if remote.output_file_id:
                    raise RetryLater(f"the results of {batch_id} are not ready to read yet",
                                     status=404) from None
                raise

        size = await write_whole(Path(dest), fill)
        log.debug("downloaded the results of %s (%d bytes)", batch_id, size)
        return size

    async def _stream_results(self, batch_id: str, out: BinaryIO) -> int:
        size = 0
        try:
            results = self._client.messages.batches.with_streaming_response.results(batch_id)
            async with results as response:
                async for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                    size += write_chunk(out, chunk)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise map_error(exc, profile_name=self.profile_name) from exc
        return size

    # --- batches -------------------------------------------------------------------

    async def create_batch(self, input_file_id: str, endpoint: str,
                           metadata: dict[str, str]) -> RemoteBatch:
        """Send the batch file's requests as one Message Batch (never retried: see the module
        docstring). ``metadata`` cannot travel: Anthropic batches have none."""
        if endpoint != MESSAGES_ENDPOINT:
            raise PermanentError(f"Anthropic batches run {MESSAGES_ENDPOINT} requests, not "
                                 f"{endpoint}.", code="invalid_endpoint")
        path = _local_path(input_file_id)
        try:
            # Up to 256 MB: joined in a worker thread, sent as they are (no re-encoding).
            content = await asyncio.to_thread(_request_body, path)
        except FileNotFoundError as exc:
            # Removed, or the workspace moved since: the engine writes it again ("uploads"
            # it again), as it does for an OpenAI input file the provider lost.
            raise NotFoundRemote(f"The batch file {path} is gone.", code="local_io") from exc
        except OSError as exc:
            raise PermanentError(f"Cannot read the batch file {path}: {exc}",
                                 code="local_io") from exc
        batch = await self._call(lambda: self._create_client.post(
            "/v1/messages/batches", cast_to=MessageBatch, content=content,
            options={"headers": {"Content-Type": "application/json"}}))
        log.debug("created batch %s", batch.id)
        return to_remote_batch(batch)

    async def retrieve_batch(self, batch_id: str) -> RemoteBatch:
        _require_id(batch_id)
        return to_remote_batch(await self._call(
            lambda: self._client.messages.batches.retrieve(batch_id)))

    async def cancel_batch(self, batch_id: str) -> RemoteBatch:
        _require_id(batch_id)
        return to_remote_batch(await self._call(
            lambda: self._client.messages.batches.cancel(batch_id)))

    async def list_batches(self, page_size: int = 100) -> AsyncIterator[RemoteBatch]:
        """Newest first, every page; stops when Anthropic says there is no more."""
        limit = max(1, min(page_size, MAX_BATCH_PAGE))
        async for item in mapped_pages(self._client.messages.batches.list(limit=limit),
                                       self.profile_name):
            yield to_remote_batch(item)

    async def count_tokens(self, body: dict[str, Any]) -> int:
        """Input tokens of one Messages request (Anthropic's free ``count_tokens`` call)."""
        params = {k: v for k, v in body.items()
                  if k in ("model", "messages", "system", "tools", "tool_choice", "thinking")}
        answer = await self._call(lambda: self._client.post(
            "/v1/messages/count_tokens", cast_to=anthropic.types.MessageTokensCount,
            body=params))
        return int(answer.input_tokens)


def _load_lazy_parts(client: anthropic.AsyncAnthropic) -> None:
    """Import what the SDK loads on first use now (the provider is made in a worker thread):
    at the first request it would run on the event loop and stall the window."""
    import importlib

    client.messages.batches  # noqa: B018 - the attribute loads the resource modules
    for module in ("anthropic.pagination", "anthropic._decoders.jsonl",
                   "anthropic.types.messages.message_batch"):
        with contextlib.suppress(ImportError):  # a newer SDK may not have them
            importlib.import_module(module)


def _require_id(value: str) -> str:
    if not value or not value.strip():
        raise PermanentError("No batch id given.", code="invalid_id")
    return value


if TYPE_CHECKING:  # mypy proves the class satisfies the engine's protocol
    def _is_provider(provider: AnthropicProvider) -> Provider:
        return provider
