"""A lock held by one process for as long as it lives: the right to drive a workspace.

Two kinds, asked of :meth:`process_lock` by the database's kind:

* SQLite: an OS lock on ``<database>.engine.lock``; the kernel drops it when the process dies
  (kill -9 included);
* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a connection of
  its own, outside the pool. The server drops it when that connection ends — the process died,
  the machine vanished (TCP keepalives), the server restarted — so windows and engines on every
  machine agree on whether anyone drives. :meth:`AdvisoryLock.alive` tells the holder whether
  its connection (and so its lock) still stands.

Both are used from one thread at a time (the claim's acquire/release and its renew thread
take turns through a mutex).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from filelock import FileLock, Timeout
from sqlalchemy.exc import SQLAlchemyError

from batcher_gui.domain.secrecy import mask
from batcher_gui.paths import PRIVATE_FILE
from batcher_gui.storage.dialect import LOCK_DRIVER, libpq_url

if TYPE_CHECKING:
    import psycopg

    from batcher_gui.storage.db import Database

log = logging.getLogger(__name__)

#: Seconds a check of the lock connection may take before it counts as dead.
ALIVE_TIMEOUT_MS = 5000


class ProcessLock(Protocol):
    """What the engine's claim needs of its lock."""

    @property
    def is_locked(self) -> bool: ...

    def acquire(self) -> bool:
        """Take it at once, or False (another process has it)."""

    def alive(self) -> bool:
        """Whether it is still held (False once it was lost)."""

    def release(self) -> None: ...

    def taken_by_anyone(self) -> bool | None:
        """Whether any process holds it now (None: cannot tell from here)."""


class FileProcessLock:
    """SQLite's kind: an OS file lock beside the database."""

    def __init__(self, path: Path) -> None:
        # Not thread-local: taken in a worker thread, checked on the event loop.
        self._lock = FileLock(str(path) + ".engine.lock", timeout=0, thread_local=False,
                              mode=PRIVATE_FILE)  # owner-only, as the whole workspace

    @property
    def is_locked(self) -> bool:
        return bool(self._lock.is_locked)

    def acquire(self) -> bool:
        try:
            self._lock.acquire()
        except Timeout:
            return False
        return True

    def alive(self) -> bool:
        return self.is_locked

    def release(self) -> None:
        self._lock.release()

    def taken_by_anyone(self) -> bool | None:
        return None  # the lease row (and the holder's pid on this machine) says


class AdvisoryLock:
    """PostgreSQL's kind (see the module docstring)."""

    def __init__(self, db: Database, key: int = LOCK_DRIVER) -> None:
        assert db.url is not None
        self._db = db
        self._url = db.url
        self.key = key
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False
        self._mutex = threading.Lock()

    @property
    def is_locked(self) -> bool:
        return self._held

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        # TCP keepalives: a vanished peer (a laptop closed mid-drive, a network cut) ends
        # the session on the server within about a minute, freeing the lock.
        return psycopg.connect(libpq_url(self._url), autocommit=True, connect_timeout=10,
                               application_name="batcher-driver", keepalives=1,
                               keepalives_idle=20, keepalives_interval=5, keepalives_count=4)

    def acquire(self) -> bool:
        """A server that cannot be reached counts as "not taken" (the caller tries again)."""
        import psycopg

        with self._mutex:
            if self._held:
                return True
            try:
                if self._conn is None:
                    self._conn = self._connect()
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)",
                                         (self.key,)).fetchone()
                taken = bool(row and row[0])
            except psycopg.Error as exc:
                log.info("could not ask for the driver lock: %s", mask(str(exc)).strip())
                self._close()
                return False
            self._held = taken
            if not taken:
                # Not kept open while another drives: a waiting window costs no connection.
                self._close()
            return taken

    def alive(self) -> bool:
        """Ask the server, on the lock's own connection, whether this session holds the lock
        still (a dead connection, a restarted server: no)."""
        import psycopg

        with self._mutex:
            if not self._held or self._conn is None:
                return False
            try:
                conn = self._conn
                conn.execute(f"SET statement_timeout = {ALIVE_TIMEOUT_MS}")
                row = conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND classid::bigint = %s "
                    "AND objid::bigint = %s "
                    "AND objsubid = 1 AND granted", _key_parts(self.key)).fetchone()
                ok = bool(row and row[0])
            except psycopg.Error as exc:
                log.info("the driver lock's connection failed: %s", mask(str(exc)).strip())
                ok = False
            if not ok:
                self._held = False
                self._close()
            return ok

    def release(self) -> None:
        import psycopg

        with self._mutex:
            if self._conn is not None and self._held:
                try:
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
                except psycopg.Error:
                    pass  # closing the connection below drops it anyway
            self._held = False
            self._close()

    def taken_by_anyone(self) -> bool | None:
        """Whether any session of this database holds the lock."""
        try:
            with self._db.read() as conn:
                taken = conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database()) "
                    "AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 1 AND granted",
                    _key_parts(self.key)).scalar()
        except SQLAlchemyError as exc:
            log.info("could not ask who holds the driver lock: %s", mask(str(exc)).strip())
            return None
        return bool(taken)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: nothing to close
                pass


def _key_parts(key: int) -> tuple[int, int]:
    """A bigint advisory key as pg_locks shows it: high 32 bits (classid), low (objid)."""
    return (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF


def process_lock(db: Database) -> ProcessLock:
    """The driver lock of ``db``'s kind (see the module docstring)."""
    if db.dialect.postgres:
        return AdvisoryLock(db)
    return FileProcessLock(db.path)
