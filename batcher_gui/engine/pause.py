"""The engine's sleep between passes, and what ends it early.

A pass is followed by a pause (until the next poll or retry is due, at most a few seconds).
It ends early when a user acts: in this process (:meth:`Pause.wake`), or in another one —
a `batcher` command while the window drives, or the other way round — whose wake-up call
(:mod:`batcher_gui.storage.wake`) is noticed within :data:`WAKE_CHECK_SECONDS`, or at once
when it is heard (:meth:`Pause.heard`: PostgreSQL's LISTEN, on another thread).
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
        self._own = 0  # calls this process made that the count may not show yet
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heard = False  # a notification came: look at the count when the pause ends

    def start(self) -> None:
        """On the loop the engine runs on (the event belongs to it)."""
        self._event = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def heard(self) -> None:
        """A wake-up call was heard (a notification): end the pause. Any thread may call it."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def on_loop() -> None:
            self._heard = True
            if self._event is not None:
                self._event.set()

        try:
            loop.call_soon_threadsafe(on_loop)
        except RuntimeError:  # the loop closed meanwhile: nobody to wake
            pass

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
                if self._heard:  # another process's call: tell on_call, as the poll does
                    self._heard = False
                    await self._called()
                    return
                if done or left <= WAKE_CHECK_SECONDS or await self._called():
                    return
        finally:
            for w in waits:
                w.cancel()
            self._event.clear()

    def own_call(self, made: bool = True) -> None:
        """This process is making a wake-up call (``made=False``: it failed): when the count
        shows it, it is not taken for another process's (:attr:`on_call` would read the
        settings and profiles again for nothing)."""
        self._own += 1 if made else -1

    async def _called(self) -> bool:
        """Whether a wake-up call came from elsewhere since the last look."""
        count = await self._read_calls()
        if self._count is None:  # the first look: what came before it is the baseline
            self._count, self._own = count, 0
            return False
        seen, self._count = count - self._count, count
        called = seen > self._own
        self._own = max(self._own - seen, 0)
        if called and self.on_call is not None:
            self.on_call()
        return called
