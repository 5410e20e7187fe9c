"""The right to drive a workspace: one driver at a time, for as long as it lives.

Two parts, both held for the engine's whole life:

* a process lock (:mod:`batcher_gui.storage.process_lock`): on SQLite an OS lock on
  ``<database>.engine.lock``, on PostgreSQL a session-level advisory lock on a connection of
  its own. It is held for as long as the process lives, however long one step takes (a stalled
  upload, a machine that slept), and dropped the moment the process dies (kill -9 included;
  on PostgreSQL the server ends the dead session), so a second driver can never slip in while
  the first is merely slow;
* the lease row in the database, saying who drives (host and pid, for every window's status
  bar), renewed by a thread of its own every third of the TTL, independent of the engine's
  pass and of the database writer queue. On SQLite it also keeps out a driver that cannot see
  the OS lock (another machine sharing the folder). On PostgreSQL the advisory lock is the
  judge: whoever holds it may overwrite a lease row left by a dead driver at once, and a
  lease row whose lock nobody holds names no driver (hosts differ: a pid says nothing there).

:meth:`DriverClaim.held` is checked before every remote call: a driver whose renewals failed
for a whole TTL, or whose lock connection died, makes no further call until it has the claim
again.
"""

from __future__ import annotations

import logging
import threading
import time

from batcher_gui.domain.errors import BatcherError
from batcher_gui.storage.db import Database
from batcher_gui.storage.lease import LeaseBook, LeaseInfo, new_holder_name
from batcher_gui.storage.process_lock import process_lock

log = logging.getLogger(__name__)


class ClaimLost(BatcherError):
    """This process no longer holds the right to drive the workspace."""


class DriverClaim:
    """See the module docstring. ``acquire``/``release`` do I/O: call them off the loop."""

    def __init__(self, db: Database, ttl: float) -> None:
        self.ttl = ttl
        self.holder = new_holder_name()
        self._book = LeaseBook(db)
        self._lock = process_lock(db)
        # PostgreSQL: holding the advisory lock proves any other lease row is a dead driver's.
        self._lock_decides = db.dialect.postgres
        self._renewed_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """Acquired and not released (it may still have lapsed; see :meth:`held`)."""
        return self._thread is not None

    def held(self) -> bool:
        """True while this process may make remote calls for the workspace."""
        return (self._thread is not None and self._lock.is_locked
                and time.monotonic() - self._renewed_at < self.ttl)

    def acquire(self) -> bool:
        """Take the claim; False (at once) if another driver has it."""
        if self._thread is not None:
            return self.held()
        if not self._lock.acquire():
            return False
        try:
            taken = self._book.take(self.holder, self.ttl, force=self._lock_decides)
        except BaseException:
            self._lock.release()
            raise
        if not taken:
            self._lock.release()
            return False
        self._renewed_at = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew, name="batcher-claim", daemon=True)
        self._thread.start()
        return True

    def _renew(self) -> None:
        warned = False
        while not self._stop.wait(self.ttl / 3):
            if not self._lock.alive():
                # The lock connection died (or the server restarted): another may drive now.
                # held() is False from here on; the engine's loop takes the claim again.
                if self._renewed_at:
                    log.warning("this Batcher lost its hold on the workspace (its lock "
                                "connection ended); it makes no more remote calls until it "
                                "drives again")
                self._renewed_at = 0.0
                continue
            try:
                if self._book.take(self.holder, self.ttl, force=self._lock_decides):
                    self._renewed_at = time.monotonic()
                    warned = False
                elif not warned:
                    warned = True
                    log.warning("another Batcher took over the workspace lease; this one "
                                "makes no more remote calls")
            except Exception as exc:  # a busy database, a vanished folder: try again
                log.info("could not renew the workspace lease: %s", exc)

    def release(self) -> None:
        """Stop renewing, clear the lease row and drop the OS lock."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=self.ttl)
        try:
            self._book.release(self.holder)
        except Exception as exc:  # the lock below is what matters; the row expires anyway
            log.info("could not clear the workspace lease: %s", exc)
        finally:
            self._lock.release()

    def current_driver(self) -> LeaseInfo | None:
        """Who drives the workspace now (this process or another), if anyone."""
        lease = self._book.current()
        if lease is not None and self._lock.taken_by_anyone() is False:
            return None  # its driver died (its session ended) before the row expired
        return lease
