"""Provider-side bookkeeping after a crash or a lost answer: find what may already exist there,
and delete what is left over, so nothing is uploaded or created twice and nothing leaks."""

from __future__ import annotations

import logging

from batcher_gui.domain.models import Batch
from batcher_gui.domain.remote import (
    METADATA_KEY,
    Provider,
    ProviderError,
    RemoteBatch,
    RetryLater,
)

log = logging.getLogger(__name__)
#: Metadata key numbering the sends of one local batch (a token-limit wait or a restart sends it
#: again): re-attaching after a crash must find this send's provider batch, not an older one.
SEND_KEY = "batcher_send"
#: How far a provider's clock may be behind ours when a create is found by its time.
CLOCK_SKEW = 600.0


async def find_uploaded(provider: Provider, filename: str) -> str | None:
    """An upload that may have happened before a crash: reuse it instead of uploading twice."""
    found = None
    async for remote_file in provider.list_files():
        if remote_file.filename == filename:
            if found is None:
                found = remote_file.id
            else:
                await provider.delete_file(remote_file.id)  # an extra copy: never used
    return found


async def find_created(provider: Provider, batch: Batch, send: str, *,
                       requests: int | None = None,
                       claimed: frozenset[str] | set[str] = frozenset()) -> RemoteBatch | None:
    """A create that may have happened before a crash, found by our uuid in its metadata.

    Only this send's batch counts: after a token-limit wait the provider still lists the
    failed batch of the previous send under the same uuid. A provider whose batches carry no
    metadata (Anthropic) is searched by what it does keep: see :func:`find_by_shape`.
    """
    if not provider.capabilities.has_metadata:
        return await find_by_shape(provider, batch, requests, claimed)
    since = (batch.intent_at or batch.updated_at) - 3600
    async for remote in provider.list_batches():
        if (remote.metadata.get(METADATA_KEY) == batch.uuid
                and remote.metadata.get(SEND_KEY, "1") == send):
            return remote
        if remote.created_at is not None and remote.created_at < since:
            break  # newest first: anything older cannot be ours
    return None


async def find_by_shape(provider: Provider, batch: Batch, requests: int | None,
                        claimed: frozenset[str] | set[str]) -> RemoteBatch | None:
    """A lost create, found among batches without metadata: created since this send's intent
    was recorded (less the clock skew), holding exactly its number of requests, and not
    already another local batch's. The oldest such is the first create of this send (the
    engine looks here before every create, so there is never more than one of its own)."""
    if batch.intent_at is None or not requests:
        return None
    since = batch.intent_at - CLOCK_SKEW
    found = None
    async for remote in provider.list_batches():
        if remote.created_at is not None and remote.created_at < since:
            break  # newest first: anything older cannot be ours
        if remote.total == requests and remote.id not in claimed:
            found = remote
    if found is not None:
        log.info("batch %s: found its provider batch %s again (created %s, %s requests)",
                 batch.id, found.id, found.created_at, requests)
    return found


async def delete_provider_files(provider: Provider, batch: Batch, *, extra_copies: bool,
                                recorded: bool) -> None:
    """Delete a finished batch's files at the provider.

    Args:
        extra_copies: also look for unused copies of the input file (an upload repeated after a
            lost answer, or one made before a crash); they go whatever the setting says.
        recorded: delete the input, output and error files the batch used (the
            ``cleanup_provider_files`` setting).

    Raises:
        RetryLater: a transient fault; the caller tries again later.
    """
    doomed: list[str] = []
    if extra_copies:
        doomed += [f.id async for f in provider.list_files()
                   if f.filename == f"batch-{batch.uuid}.jsonl" and f.id != batch.input_file_id]
    if recorded:
        doomed += [f for f in (batch.input_file_id, batch.output_file_id, batch.error_file_id)
                   if f]
    for file_id in doomed:
        try:
            await provider.delete_file(file_id)
        except RetryLater:
            raise
        except ProviderError as exc:
            log.info("batch %s: could not delete %s: %s", batch.id, file_id, exc)
