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
        self._pending = 0  # own calls being made: their counts are not known yet
        self._mine: set[int] = set()  # the counts this process's own calls made
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

    def own_call(self) -> None:
        """This process is making a wake-up call: until :meth:`own_call_done` says which
        count it made, a new count is not taken for another process's call (:attr:`on_call`
        would read the settings and profiles again for nothing)."""
        self._pending += 1

    def own_call_done(self, count: int | None) -> None:
        """The call made ``count`` (None: it failed)."""
        self._pending = max(self._pending - 1, 0)
        if count is not None and (self._count is None or count > self._count):
            self._mine.add(count)

    async def _called(self) -> bool:
        """Whether a wake-up call came from elsewhere since the last look (judged by each
        count: one this process made is its own, whatever the order of commits and looks)."""
        count = await self._read_calls()
        if self._count is None:  # the first look: what came before it is the baseline
            self._count = count
            self._mine = {n for n in self._mine if n > count}
            return False
        if self._pending:  # an own call's count is not known yet: judge at the next look
            return False
        new = range(self._count + 1, count + 1)
        called = any(n not in self._mine for n in new)
        self._count = max(self._count, count)
        self._mine = {n for n in self._mine if n > self._count}
        if called and self.on_call is not None:
            self.on_call()
        return called
