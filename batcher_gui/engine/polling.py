"""Seeing many in-flight batches with one listing instead of one request each.

A provider lists batches newest first, a page of up to 100 at a time: when several batches of a
profile are due for a status check, one or two list calls cover them all, which matters under
per-minute request limits. Batches the listing does not reach are checked one by one as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.models import Batch
from batcher_gui.domain.remote import Provider, RemoteBatch

log = logging.getLogger(__name__)

#: From this many due batches of one profile on, a listing is cheaper than one GET each.
LIST_FROM = 3
#: A listing never reads more than this many batches (10 pages).
MAX_LISTED = 1000


async def statuses_by_listing(
    due: Iterable[Batch], provider_for: Callable[[Batch], Awaitable[Provider]]
) -> dict[str, RemoteBatch]:
    """Remote batches (by provider id) for as many ``due`` batches as listings reach.

    Provider faults (and profiles that cannot be used now) are not errors here: the caller
    falls back to one request per batch, where they are handled.
    """
    by_profile: dict[int, list[Batch]] = {}
    for batch in due:
        if batch.provider_batch_id:
            by_profile.setdefault(batch.profile_id, []).append(batch)
    found: dict[str, RemoteBatch] = {}
    for batches in by_profile.values():
        if len(batches) < LIST_FROM:
            continue
        wanted = {b.provider_batch_id for b in batches}
        # Newest first: once past the oldest of ours (with an hour's slack for clock skew),
        # nothing further down can be ours.
        oldest = min((b.intent_at or b.created_at) for b in batches) - 3600
        seen = 0
        try:
            provider = await provider_for(batches[0])
            async for remote in provider.list_batches():
                seen += 1
                if remote.id in wanted:
                    found[remote.id] = remote
                    wanted.discard(remote.id)
                if not wanted or seen >= MAX_LISTED or (
                        remote.created_at is not None and remote.created_at < oldest):
                    break
        except BatcherError as exc:
            log.info("listing batches failed (%s); checking them one by one", exc)
    return found
