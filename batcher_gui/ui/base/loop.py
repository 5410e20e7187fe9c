"""The window's event loop: qasync's (asyncio on Qt's loop), with a sturdier cross-thread wake-up.

qasync hands work from other threads to the GUI thread by emitting a Qt signal that carries
Python objects; every database call's result comes back that way, so under load (an import and
the engine at once) that path is taken thousands of times a second. Here it is replaced by the
way asyncio's own loops do it: the callback goes into a thread-safe queue and a byte into a
socket pair the GUI thread watches, so no Python object crosses threads through Qt. Blocking
calls without an executor of their own run on plain Python threads, not QThreads.

And Python's cyclic garbage is collected on the GUI thread only (:class:`GuiThreadCollector`):
left to itself, a collection runs in whichever thread happens to allocate, and a Qt object
caught in a reference cycle (a closed dialog, a model, a timer) would then be destroyed in a
worker thread — which Qt does not allow ("Timers cannot be stopped from another thread") and
which can crash the process.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import gc
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import qasync
from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication


class GuiThreadCollector:
    """Runs Python's cyclic garbage collection from a GUI-thread timer, with the interpreter's
    own thresholds, instead of wherever an allocation happens to trigger it (see the module
    docstring). Automatic collection is off while it runs; :meth:`stop` turns it back on."""

    def __init__(self, interval_ms: int = 250) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(interval=interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start()

    @staticmethod
    def collect_due() -> int:
        """Collect the oldest generation past its threshold (if any); returns what was
        found unreachable."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                return gc.collect(generation)
        return 0

    def stop(self) -> None:
        """Collect what is left here, on the GUI thread, then leave collection to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()


class AppEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """See the module docstring."""

    def __init__(self, app: QApplication | None = None, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._handoff: collections.deque[asyncio.Handle] = collections.deque()
        self._wake_read, self._wake_write = socket.socketpair()
        for end in (self._wake_read, self._wake_write):
            end.setblocking(False)
        self._notifier = QSocketNotifier(self._wake_read.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._take_handoff)
        self.set_default_executor(ThreadPoolExecutor(8, thread_name_prefix="batcher-worker"))
        self.collector = GuiThreadCollector()

    def call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any,
                             context: contextvars.Context | None = None) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self._handoff.append(handle)
        try:
            self._wake_write.send(b"\0")
        except (BlockingIOError, InterruptedError):
            pass  # the socket is full of wake-ups already: one is enough
        except OSError:
            pass  # closing
        return handle

    def _take_handoff(self, *_: Any) -> None:
        try:
            while self._wake_read.recv(4096):
                pass
        except (BlockingIOError, InterruptedError, OSError):
            pass
        while self._handoff:
            handle = self._handoff.popleft()
            if not handle.cancelled():
                self.call_soon(handle._run)

    def close(self) -> None:
        self.collector.stop()
        self._notifier.setEnabled(False)
        super().close()
        self._wake_read.close()
        self._wake_write.close()
