"""Where a workspace lives: platformdirs default, or --data-dir / BATCHER_HOME / DATABASE_URL.

A workspace is one folder holding ``batcher.sqlite3`` (the database), ``batches/`` (the JSONL
files sent to providers), ``results/`` (downloaded output and error files) and ``sandbox/`` (the
built-in sandbox provider's own files).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import platformdirs

from batcher_gui.domain.errors import WorkspaceError

APP_NAME = "batcher-gui"
DB_FILENAME = "batcher.sqlite3"


@dataclass(frozen=True, slots=True)
class WorkspacePaths:
    """The files and folders of one workspace."""

    root: Path
    database: Path

    @property
    def batches_dir(self) -> Path:
        return self.root / "batches"

    @property
    def results_dir(self) -> Path:
        return self.root / "results"

    @property
    def sandbox_dir(self) -> Path:
        return self.root / "sandbox"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def create(self) -> WorkspacePaths:
        """Make the folders (not the database). Raises WorkspaceError when that is impossible."""
        try:
            for folder in (self.root, self.batches_dir, self.results_dir, self.log_dir):
                folder.mkdir(parents=True, exist_ok=True)
            self.database.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(
                f"cannot create the workspace at {self.root}: {exc.strerror or exc}. "
                "Choose another folder with --data-dir or BATCHER_HOME."
            ) from exc
        if self.root.exists() and not os.access(self.root, os.W_OK):
            raise WorkspaceError(f"the workspace folder {self.root} is not writable")
        return self


def default_root() -> Path:
    """The per-user data folder (e.g. ``~/.local/share/batcher-gui`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _from_database_url(url: str) -> WorkspacePaths:
    parsed = urlparse(url)
    if parsed.scheme not in ("sqlite", "sqlite3"):
        raise WorkspaceError(
            f"DATABASE_URL must be a sqlite URL like sqlite:///path/to/db.sqlite3, got {url!r}"
        )
    # sqlite:///relative.db -> path "/relative.db"; sqlite:////abs.db -> "//abs.db" (SQLAlchemy
    # convention: three slashes relative, four absolute).
    raw = unquote(parsed.path)
    if parsed.netloc:
        raise WorkspaceError(f"DATABASE_URL has a host part, which sqlite does not use: {url!r}")
    if raw.startswith("//"):
        db = Path(raw[1:])
    elif raw.startswith("/"):
        db = Path(raw[1:]) if not Path(raw).parent.exists() else Path(raw)
    else:
        db = Path(raw)
    if not raw or raw in ("/", "//") or db.name in ("", ":memory:"):
        raise WorkspaceError(f"DATABASE_URL must name a database file, got {url!r}")
    db = db.expanduser().resolve()
    return WorkspacePaths(root=db.parent, database=db)


def resolve_workspace(
    data_dir: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> WorkspacePaths:
    """Pick the workspace: ``--data-dir``, ``BATCHER_HOME``, ``DATABASE_URL``, else the default."""
    env = os.environ if env is None else env
    if data_dir:
        root = Path(data_dir).expanduser().resolve()
    elif env.get("BATCHER_HOME"):
        root = Path(env["BATCHER_HOME"]).expanduser().resolve()
    elif env.get("DATABASE_URL"):
        return _from_database_url(env["DATABASE_URL"])
    else:
        root = default_root()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"the workspace location {root} is a file, not a folder")
    return WorkspacePaths(root=root, database=root / DB_FILENAME)


def resources_dir() -> Path:
    """The ``resources/`` folder: beside the package in a checkout, inside a frozen build.

    PyInstaller unpacks (or lays out) data files under ``sys._MEIPASS``; the spec in
    ``packaging/`` copies ``resources/`` there under the same name.
    """
    import sys

    frozen_root = getattr(sys, "_MEIPASS", None)
    base = Path(frozen_root) if frozen_root else Path(__file__).resolve().parent.parent
    return base / "resources"


def resource(*parts: str) -> Path:
    """A file shipped in ``resources/`` (e.g. ``resource("icons", "batcher.svg")``)."""
    return resources_dir().joinpath(*parts)
