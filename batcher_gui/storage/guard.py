"""Is this file a Batcher workspace? Asked before anything is created or migrated.

``DATABASE_URL`` is a common variable name: it may point at another program's database, which
Batcher must not take over (add its tables to, create folders beside). Only a missing or
empty database, or one holding Batcher's own tables, may be opened. Plain ``sqlite3``,
read-only: the check itself changes nothing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.request import pathname2url

from batcher_gui.domain.errors import WorkspaceError

#: The tables every Batcher workspace has had since its first schema.
WORKSPACE_TABLES = frozenset({"alembic_version", "profiles", "settings", "runs", "batches",
                              "prompts", "batch_transitions", "prompt_transitions"})
_SHOWN_NAMES = 5


def existing_tables(path: Path) -> set[str]:
    """The tables and views of the SQLite database at ``path`` (read-only; none if absent)."""
    if path.is_dir():
        raise WorkspaceError(f"{path} is a folder, not a database file: name the database "
                             "file itself, or give the folder with --data-dir or BATCHER_HOME")
    if not path.exists() or path.stat().st_size == 0:
        return set()
    # Without a WAL file beside it, everything is in the file itself: read it as immutable,
    # or SQLite, even read-only, leaves a -wal and a -shm file beside a WAL-mode database.
    wal = path.with_name(path.name + "-wal").exists()
    how = "mode=ro" if wal else "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(f"file:{pathname2url(str(path))}?{how}", uri=True)
    except sqlite3.Error as exc:
        raise WorkspaceError(f"cannot read the database {path}: {exc}") from exc
    try:
        return {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%'")}
    except sqlite3.DatabaseError as exc:
        raise WorkspaceError(
            f"cannot open the workspace database {path}: {exc}. "
            "Is it a Batcher workspace (batcher.sqlite3)?") from exc
    finally:
        conn.close()


def refuse_foreign_database(path: Path, chosen_by: str | None = None) -> None:
    """Raise WorkspaceError, changing nothing, when ``path`` holds another program's tables.

    Args:
        chosen_by: what named the file (``DATABASE_URL``...), to say in the message.
    """
    tables = existing_tables(path)
    if not tables or tables >= WORKSPACE_TABLES:
        return
    foreign = sorted(tables - WORKSPACE_TABLES)
    shown = ", ".join(foreign[:_SHOWN_NAMES]) + (
        f" and {len(foreign) - _SHOWN_NAMES} more" if len(foreign) > _SHOWN_NAMES else "")
    by = f" (named by {chosen_by})" if chosen_by else ""
    raise WorkspaceError(
        f"the database {path}{by} belongs to another program: it holds tables Batcher does "
        f"not know ({shown}). Batcher opens only an empty database or its own workspace, and "
        "changed nothing. Give Batcher a file or folder of its own: BATCHER_DATABASE_URL="
        "sqlite:////path/to/batcher.sqlite3, BATCHER_HOME or --data-dir.")
