"""The engine's sleep between passes, and what ends it early.

A pass is followed by a pause (until the next poll or retry is due, at most a few seconds).
It ends early when a user acts: in this process (:meth:`Pause.wake`), or in another one —
a `batcher` command while the window drives, or the other way round — whose wake-up call
(:mod:`batcher_gui.storage.wake`) is noticed within :data:`WAKE_CHECK_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

#: How often a pausing engine looks for wake-up calls from other processes.
WAKE_CHECK_SECONDS = 0.5


class Pause:
    """See the module docstring.

    Args:
        read_calls: the workspace's wake-up count (run in a database thread).
        on_call: called when another process's wake-up call ended a pause.
    """

    def __init__(self, read_calls: Callable[[], Awaitable[int]],
                 on_call: Callable[[], None] | None = None) -> None:
        self._read_calls = read_calls
        self.on_call = on_call
        self._event: asyncio.Event | None = None
        self._count: int | None = None

    def start(self) -> None:
        """On the loop the engine runs on (the event belongs to it)."""
        self._event = asyncio.Event()

    def wake(self) -> None:
        """End the current pause (a user acted in this process)."""
        if self._event is not None:
            self._event.set()

    async def sleep(self, seconds: float, stop: asyncio.Event | None = None,
                    deadline: float | None = None) -> None:
        """Pause ``seconds`` (never past ``deadline``, a monotonic time), unless woken or
        stopped first."""
        assert self._event is not None, "start() first"
        if deadline is not None:
            seconds = min(seconds, max(deadline - time.monotonic(), 0.0))
        waits = [asyncio.ensure_future(self._event.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        end = time.monotonic() + seconds
        try:
            while True:
                left = end - time.monotonic()
                done, _ = await asyncio.wait(waits, timeout=min(left, WAKE_CHECK_SECONDS),
                                             return_when=asyncio.FIRST_COMPLETED)
                if done or left <= WAKE_CHECK_SECONDS or await self._called():
                    return
        finally:
            for w in waits:
                w.cancel()
            self._event.clear()

    async def _called(self) -> bool:
        """Whether a wake-up call came from elsewhere since the last look."""
        count = await self._read_calls()
        called = self._count is not None and count != self._count
        self._count = count
        if called and self.on_call is not None:
            self.on_call()
        return called
