"""Blocking work the caller may abandon: run in a thread, stopped through an event."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

T = TypeVar("T")


async def run_stoppable(fn: Callable[[], T], cancel: threading.Event,
                        executor: Executor | None = None) -> T:
    """``fn()`` in a thread of ``executor`` (default: the loop's). If the caller is cancelled,
    ``cancel`` is set (``fn`` polls it) and the thread is waited for — its outcome, whatever
    it is, taken and dropped (it was stopped on purpose) — before the cancellation goes on."""
    future = asyncio.get_running_loop().run_in_executor(executor, fn)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        cancel.set()
        await asyncio.wait([future])
        if not future.cancelled():
            future.exception()  # retrieved: never "exception was never retrieved"
        raise
