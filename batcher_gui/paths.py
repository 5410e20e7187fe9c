"""Where a workspace lives. The first of these that is given wins:

1. ``--data-dir DIR`` (the command line);
2. ``BATCHER_HOME`` (a folder);
3. ``BATCHER_DATABASE_URL`` (``sqlite:////abs/path/batcher.sqlite3``: the folder around it);
4. ``DATABASE_URL``, the common name other programs use too: honoured, but a database that
   holds another program's tables is refused (see :mod:`batcher_gui.storage.guard`);
5. the per-user data folder (platformdirs).

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
from batcher_gui.domain.secrecy import mask

APP_NAME = "batcher-gui"
DB_FILENAME = "batcher.sqlite3"
#: The environment variables naming a workspace database, the first set winning.
DATABASE_URL_VARIABLES = ("BATCHER_DATABASE_URL", "DATABASE_URL")


@dataclass(frozen=True, slots=True)
class WorkspacePaths:
    """The files and folders of one workspace."""

    root: Path
    database: Path
    #: What chose this workspace ("--data-dir", "BATCHER_HOME", "DATABASE_URL", "default"),
    #: for messages.
    chosen_by: str = "default"

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


def _from_database_url(url: str, variable: str) -> WorkspacePaths:
    parsed = urlparse(url)
    shown = mask(url)  # never a password: postgres://user:***@host/db
    if parsed.scheme not in ("sqlite", "sqlite3"):
        raise WorkspaceError(
            f"{variable} must be a sqlite URL like sqlite:////path/to/batcher.sqlite3, got "
            f"{shown!r}. Batcher keeps its workspace in SQLite; if {variable} is meant for "
            "another program, give Batcher its own with BATCHER_HOME or --data-dir."
        )
    # sqlite:///relative.db -> path "/relative.db"; sqlite:////abs.db -> "//abs.db" (SQLAlchemy
    # convention: three slashes relative, four absolute).
    raw = unquote(parsed.path)
    if parsed.netloc:
        raise WorkspaceError(f"{variable} has a host part, which sqlite does not use: {shown!r}")
    if raw.startswith("//"):
        db = Path(raw[1:])
    elif raw.startswith("/"):
        db = Path(raw[1:]) if not Path(raw).parent.exists() else Path(raw)
    else:
        db = Path(raw)
    if not raw or raw in ("/", "//") or db.name in ("", ":memory:"):
        raise WorkspaceError(f"{variable} must name a database file, got {shown!r}")
    db = db.expanduser().resolve()
    return WorkspacePaths(root=db.parent, database=db, chosen_by=variable)


def resolve_workspace(
    data_dir: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> WorkspacePaths:
    """Pick the workspace: ``--data-dir``, ``BATCHER_HOME``, ``BATCHER_DATABASE_URL``,
    ``DATABASE_URL``, else the default (see the module docstring)."""
    env = os.environ if env is None else env
    if data_dir:
        root, chosen_by = Path(data_dir).expanduser().resolve(), "--data-dir"
    elif env.get("BATCHER_HOME"):
        root, chosen_by = Path(env["BATCHER_HOME"]).expanduser().resolve(), "BATCHER_HOME"
    else:
        for variable in DATABASE_URL_VARIABLES:
            if env.get(variable):
                return _from_database_url(env[variable], variable)
        root, chosen_by = default_root(), "default"
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"the workspace location {root} is a file, not a folder")
    return WorkspacePaths(root=root, database=root / DB_FILENAME, chosen_by=chosen_by)


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
