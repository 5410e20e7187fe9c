"""Wake-up calls that arrive at once on PostgreSQL: LISTEN on :data:`WAKE_CHANNEL`.

A user's action in any process on any machine adds a wake-up call (:mod:`.wake`), which on
PostgreSQL also sends ``NOTIFY batcher_wake``. The driving engine listens on a connection of
its own, on a thread of its own, and ends its pause the moment one arrives; the wake-up
counter it polls stays the fallback (a listener that lost its connection reconnects after a
pause). Only user actions notify this channel, not every write: the engine's own writes would
otherwise wake it all the time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from batcher_gui.domain.secrecy import mask
from batcher_gui.storage.db import Database
from batcher_gui.storage.dialect import WAKE_CHANNEL, libpq_url

log = logging.getLogger(__name__)

#: Seconds between two looks at the stop flag while no notification comes.
_WAIT = 0.5
#: Seconds before a listener whose connection failed tries again.
_RECONNECT = 2.0


class WakeListener:
    """Calls ``on_wake`` (from its own thread) for every wake-up notification.

    Does nothing on SQLite (no notifications there: the counter poll wakes the engine).
    """

    def __init__(self, db: Database, on_wake: Callable[[], None]) -> None:
        self._url = db.url
        self._on_wake = on_wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Set once the first LISTEN is in place (tests wait for it).
        self.listening = threading.Event()

    def start(self) -> None:
        if self._url is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="batcher-wake-listener",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=_WAIT * 4)

    def _run(self) -> None:
        import psycopg

        assert self._url is not None
        while not self._stop.is_set():
            try:
                with psycopg.connect(libpq_url(self._url), autocommit=True, connect_timeout=10,
                                     application_name="batcher-wake") as conn:
                    conn.execute(f"LISTEN {WAKE_CHANNEL}")
                    self.listening.set()
                    while not self._stop.is_set():
                        woken = False
                        for _note in conn.notifies(timeout=_WAIT, stop_after=1):
                            woken = True
                        if woken:
                            self._on_wake()
            except psycopg.Error as exc:
                log.info("listening for wake-up calls failed (polling meanwhile): %s",
                         mask(str(exc)).strip())
                self._stop.wait(_RECONNECT)
            except Exception:  # the callback's bug must not end the listening silently
                log.exception("a wake-up call could not be passed on")
                self._stop.wait(_RECONNECT)
