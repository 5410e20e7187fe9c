"""Providers by profile: built on first use, rebuilt when the profile or its key changes, and
guarded so that a driver that lost its claim makes no remote call."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.events import WaitKind
from batcher_gui.domain.models import Profile
from batcher_gui.domain.remote import Provider, RemoteBatch, RemoteFile
from batcher_gui.engine.claim import ClaimLost

log = logging.getLogger(__name__)

BuildProvider = Callable[[Profile], Provider | Awaitable[Provider]]


class ProfileUnusable(BatcherError):
    """A profile's batches cannot go on until the user acts (no key, key refused, bad URL).

    Only that profile's batches wait; the others go on. ``kind`` says why, for the window.
    """

    def __init__(self, message: str, kind: WaitKind = WaitKind.UNUSABLE) -> None:
        super().__init__(message)
        self.kind = kind


class ProviderCache:
    """One provider per profile, rebuilt when the profile changes or :meth:`forget` is called.

    Args:
        build: makes a provider for a profile (may be async: key lookups block). It raises
            ProfileUnusable (or any BatcherError) when the profile cannot be used now.
    """

    def __init__(self, build: BuildProvider) -> None:
        self._build = build
        self._cache: dict[int, tuple[Profile, Provider]] = {}
        self._retired: list[Provider] = []
        self._locks: dict[int, asyncio.Lock] = {}

    async def get(self, profile: Profile) -> Provider:
        # One build at a time per profile: batches asking together share one provider (two
        # builds would leave one's connections open for good).
        async with self._locks.setdefault(profile.id, asyncio.Lock()):
            cached = self._cache.get(profile.id)
            if cached is not None and cached[0] == profile:
                return cached[1]
            if cached is not None:
                self._retired.append(cached[1])
                del self._cache[profile.id]
            made = self._build(profile)
            provider = await made if inspect.isawaitable(made) else made
            self._cache[profile.id] = (profile, provider)
            return provider

    def forget(self, profile_id: int | None = None) -> None:
        """Build again on next use (the key or profile changed); ``None``: every profile."""
        for pid in list(self._cache) if profile_id is None else [profile_id]:
            cached = self._cache.pop(pid, None)
            if cached is not None:
                self._retired.append(cached[1])

    async def close(self) -> None:
        providers = [p for _, p in self._cache.values()] + self._retired
        self._cache.clear()
        self._retired.clear()
        self._locks.clear()
        for provider in providers:
            try:
                await provider.close()
            except Exception as exc:  # closing connections must not stop a shutdown
                log.info("closing a provider failed: %s", exc)


class GuardedProvider:
    """A provider whose every remote call first checks that this process may still drive."""

    def __init__(self, inner: Provider, may_call: Callable[[], bool]) -> None:
        self._inner = inner
        self._may_call = may_call
        self.capabilities = inner.capabilities

    def _check(self) -> None:
        if not self._may_call():
            raise ClaimLost("this Batcher no longer drives the workspace; no remote call made")

    async def upload_file(self, path: Path, filename: str) -> RemoteFile:
        self._check()
        return await self._inner.upload_file(path, filename)

    async def create_batch(self, input_file_id: str, endpoint: str,
                           metadata: dict[str, str]) -> RemoteBatch:
        self._check()
        return await self._inner.create_batch(input_file_id, endpoint, metadata)

    async def retrieve_batch(self, batch_id: str) -> RemoteBatch:
        self._check()
        return await self._inner.retrieve_batch(batch_id)

    async def list_batches(self, page_size: int = 100) -> AsyncIterator[RemoteBatch]:
        self._check()
        async for item in self._inner.list_batches(page_size):
            yield item

    async def list_files(self, purpose: str | None = "batch") -> AsyncIterator[RemoteFile]:
        self._check()
        async for item in self._inner.list_files(purpose):
            yield item

    async def cancel_batch(self, batch_id: str) -> RemoteBatch:
        self._check()
        return await self._inner.cancel_batch(batch_id)

    async def download_file(self, file_id: str, dest: Path) -> int:
        self._check()
        return await self._inner.download_file(file_id, dest)

    async def delete_file(self, file_id: str) -> None:
        self._check()
        await self._inner.delete_file(file_id)

    async def close(self) -> None:
        await self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
