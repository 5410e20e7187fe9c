"""The engine lease row: which process drives a workspace, and until when its claim runs.

The OS lock the engine holds (see :mod:`batcher_gui.engine.claim`) is what keeps a second
driver out; this row says *who* drives (host, pid) so that others can show it, and keeps out
drivers that cannot see that lock (another machine on a shared folder).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from batcher_gui.storage.db import Database
from batcher_gui.storage.tables import engine_lease


def new_holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """Who holds the lease and until when."""

    holder: str
    pid: int
    expires_at: float

    @property
    def host(self) -> str:
        return self.holder.split(":", 1)[0]


def holder_is_dead(holder: str, pid: int) -> bool:
    """True for a holder that was a process on this machine which no longer exists."""
    if holder.split(":", 1)[0] != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return False


class LeaseBook:
    """Reads and writes the single lease row."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def take(self, holder: str, ttl: float, *, force: bool = False) -> bool:
        """Take or renew the lease for ``holder``; False if another live holder has it.

        ``force``: the caller holds the driver lock that only a live driver can hold (a
        PostgreSQL advisory lock), so another holder's row is a dead driver's: replaced."""
        now = time.time()
        with self.db.write() as conn:
            row = conn.execute(select(engine_lease).where(engine_lease.c.id == 1)).first()
            if (not force and row is not None and row.holder != holder and row.expires_at > now
                    and not holder_is_dead(row.holder, row.pid)):
                return False
            values = {"holder": holder, "pid": os.getpid(), "expires_at": now + ttl}
            if row is None:
                conn.execute(insert(engine_lease).values(id=1, **values))
            else:
                conn.execute(update(engine_lease).where(engine_lease.c.id == 1).values(**values))
        return True

    def release(self, holder: str) -> None:
        with self.db.write() as conn:
            conn.execute(engine_lease.delete().where(engine_lease.c.holder == holder))

    def current(self) -> LeaseInfo | None:
        """The live lease, if any (an expired one or a dead holder's counts as none)."""
        with self.db.read() as conn:
            row = conn.execute(select(engine_lease)).first()
        if row is None or row.expires_at <= time.time() or holder_is_dead(row.holder, row.pid):
            return None
        return LeaseInfo(row.holder, row.pid, row.expires_at)
