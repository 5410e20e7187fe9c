"""What both SDK-backed providers do alike: write a download whole or not at all, walk an SDK
auto-pager with its faults mapped, and run one call with its faults mapped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from batcher_gui.domain.remote import PermanentError
from batcher_gui.providers.errors import map_error

T = TypeVar("T")


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
