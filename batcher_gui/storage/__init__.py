"""SQLite workspace storage (the only package that imports SQLAlchemy and Alembic)."""

from __future__ import annotations

from pathlib import Path

from batcher_gui.storage.db import Database
from batcher_gui.storage.store import RunStatus, Store, WorkspaceStatus


def open_store(database: Path) -> Store:
    """Open (creating and migrating as needed) the workspace database at ``database``."""
    return Store(Database.open(database))


__all__ = ["Database", "RunStatus", "Store", "WorkspaceStatus", "open_store"]
