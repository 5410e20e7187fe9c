"""Workspace storage: SQLite, or PostgreSQL for a team (the only package that imports
SQLAlchemy and Alembic).

The names below are loaded on first use: the window's views read through plain ``sqlite3``
(:mod:`batcher_gui.storage.views`) and show rows before SQLAlchemy (a third of a second to
import) is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batcher_gui.storage.db import Database
    from batcher_gui.storage.store import RunStatus, Store, WorkspaceStatus


def open_store(database: Path, url: str | None = None) -> Store:
    """Open (creating and migrating as needed) the workspace database at ``database``, or the
    PostgreSQL one at ``url`` (``database`` is then this machine's local name for it)."""
    from batcher_gui.storage.db import Database
    from batcher_gui.storage.store import Store

    if url:
        return Store(Database.open_url(url, database))
    return Store(Database.open(database))


def __getattr__(name: str) -> Any:
    if name == "Database":
        from batcher_gui.storage.db import Database

        return Database
    if name in ("RunStatus", "Store", "WorkspaceStatus"):
        from batcher_gui.storage import store

        return getattr(store, name)
    raise AttributeError(name)


__all__ = ["Database", "RunStatus", "Store", "WorkspaceStatus", "open_store"]
