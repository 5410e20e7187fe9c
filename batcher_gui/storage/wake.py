"""Wake-up calls between processes: a user's action adds one; the engine that drives the
workspace (maybe in another process: the window while a `batcher` command acts, or the other
way round) notices the count change within a second and acts at once."""

from __future__ import annotations

from sqlalchemy import select, update

from batcher_gui.storage.db import Database
from batcher_gui.storage.dialect import WAKE_CHANNEL
from batcher_gui.storage.tables import wake_calls


class WakeCalls:
    """The workspace's wake-up counter."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.scalar(select(wake_calls.c.count).where(wake_calls.c.id == 1)) or 0)

    def call(self) -> int:
        """Wake whoever drives the workspace (call after committing a user's change).
        Returns the count this call made (the caller can tell its own calls apart)."""
        with self.db.write() as conn:
            count = conn.execute(update(wake_calls).where(wake_calls.c.id == 1)
                                 .values(count=wake_calls.c.count + 1)
                                 .returning(wake_calls.c.count)).scalar()
            if self.db.dialect.postgres:  # the driver hears it at commit, on any machine
                conn.exec_driver_sql(f"NOTIFY {WAKE_CHANNEL}")
        return int(count or 0)
