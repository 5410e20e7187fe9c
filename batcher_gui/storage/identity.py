"""The workspace's own id: random, made once, kept in the workspace (see migration 0006)."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import select

from batcher_gui.storage.db import Database
from batcher_gui.storage.tables import workspace_identity


def workspace_id(db: Database) -> str:
    """This workspace's id: the same in every process and after every restart, different
    from any other workspace's (a copied workspace folder shares it with its original)."""
    with db.read() as conn:
        found = conn.scalar(select(workspace_identity.c.uid).where(workspace_identity.c.id == 1))
    if found is not None:
        return str(found)
    with db.write() as conn:  # the row was removed by hand: a new id, the same for everyone
        conn.exec_driver_sql("INSERT INTO workspace_identity (id, uid, created_at) "
                             "VALUES (1, ?, ?) ON CONFLICT DO NOTHING",
                             (uuid.uuid4().hex, time.time()))
        return str(conn.scalar(select(workspace_identity.c.uid)
                               .where(workspace_identity.c.id == 1)))
