"""What both SDK-backed providers do alike: their lifetime and name, one call or an SDK
auto-pager with its faults mapped, and a download written whole or not at all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self, TypeVar

from batcher_gui.domain.remote import PermanentError
from batcher_gui.providers.errors import map_error

T = TypeVar("T")


class SdkProvider:
    """The part of a provider that only holds an SDK client: its URL, a name that never
    shows the key, calls with their faults mapped, and closing the connections."""

    _client: Any
    profile_name: str | None

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def __repr__(self) -> str:  # never shows the key
        profile = f"profile={self.profile_name!r}, " if self.profile_name else ""
        return f"{type(self).__name__}({profile}base_url={self.base_url!r})"

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        return await mapped_call(make, self.profile_name)

    async def close(self) -> None:
        """Close the HTTP connections (a copy made with other options shares them)."""
        await self._client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()


async def mapped_call(make: Callable[[], Awaitable[T]], profile_name: str | None) -> T:
    """``await make()``, with whatever the SDK raises turned into a ProviderError kind."""
    try:
        return await make()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise map_error(exc, profile_name=profile_name) from exc


async def mapped_pages(pager: Any, profile_name: str | None) -> AsyncIterator[Any]:
    """Items of an SDK auto-pager; only the fetches are wrapped, not the consumer's code."""
    iterator = pager.__aiter__()
    try:
        while True:
            try:
                item = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise map_error(exc, profile_name=profile_name) from exc
            yield item
    finally:
        # A consumer that stops early must not leave the SDK's page generator pending.
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


async def write_whole(dest: Path, fill: Callable[[BinaryIO], Awaitable[int]]) -> int:
    """Write what ``fill`` streams into a temp file beside ``dest``, fsync it and rename it:
    ``dest`` is there whole, or not at all. Returns the size ``fill`` reports."""
    dest = Path(dest)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.",
                                        suffix=".part")
    except OSError as exc:
        raise PermanentError(f"Cannot write into {dest.parent}: {exc}",
                             code="local_io") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            size = await fill(out)
            try:
                out.flush()
                # fsync can take a while for a big file: keep the event loop responsive.
                await asyncio.to_thread(os.fsync, out.fileno())
            except OSError as exc:
                raise PermanentError(f"Cannot write {dest}: {exc}", code="local_io") from exc
        try:
            await asyncio.to_thread(os.replace, tmp, dest)
        except OSError as exc:
            raise PermanentError(f"Cannot write {dest}: {exc}", code="local_io") from exc
        await asyncio.to_thread(fsync_dir, dest.parent)  # disk waits: off the loop
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


def write_chunk(out: BinaryIO, chunk: bytes) -> int:
    """Write a downloaded chunk; disk full etc. is a local problem, not a remote one."""
    try:
        out.write(chunk)
    except OSError as exc:
        raise PermanentError(f"Cannot write the download: {exc}", code="local_io") from exc
    return len(chunk)


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); Windows cannot open directories, and needs no such step."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
