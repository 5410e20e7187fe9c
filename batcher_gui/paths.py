"""Where a workspace lives. The first of these that is given wins:

1. ``--data-dir DIR`` (the command line);
2. ``BATCHER_HOME`` (a folder);
3. ``BATCHER_DATABASE_URL`` (``sqlite:////abs/path/batcher.sqlite3``: the folder around it;
   or ``postgresql://user@host/db``: a team workspace, see below);
4. ``DATABASE_URL``, the common name other programs use too: honoured, but a database that
   holds another program's tables is refused (see :mod:`batcher_gui.storage.guard`);
5. the per-user data folder (platformdirs).

A workspace is one folder, owner-only (folders 0700, files 0600: prompts, answers and logs
are nobody else's business on a shared computer), holding ``batcher.sqlite3`` (the
database), ``batches/`` (the JSONL files sent to providers), ``results/`` (downloaded output
and error files), ``logs/`` and ``sandbox/`` (the built-in sandbox provider's own files).

A team workspace is held in PostgreSQL (``--database postgresql://…``, or one of the URL
variables above). The files this machine makes for it (batch files, downloads, logs) are kept
in a local folder: ``--data-dir``/``BATCHER_HOME`` when given, else a folder per server and
database under the per-user data folder.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import platformdirs

from batcher_gui.domain.errors import WorkspaceError
from batcher_gui.domain.secrecy import mask

log = logging.getLogger(__name__)

APP_NAME = "batcher-gui"
#: Modes of the workspace's folders and files: the owner's alone.
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
#: Whether modes mean anything here (on Windows, files are guarded by ACLs instead).
_POSIX = os.name == "posix"
DB_FILENAME = "batcher.sqlite3"
#: URL schemes of a team workspace held in PostgreSQL.
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
#: The environment variables naming a workspace database, the first set winning.
DATABASE_URL_VARIABLES = ("BATCHER_DATABASE_URL", "DATABASE_URL")


def is_postgres_url(url: str | None) -> bool:
    """A team workspace's URL (``postgresql://…``)?"""
    return bool(url) and urlparse(str(url)).scheme.lower() in POSTGRES_SCHEMES


@dataclass(frozen=True, slots=True)
class WorkspacePaths:
    """The files and folders of one workspace."""

    root: Path
    database: Path
    #: What chose this workspace ("--data-dir", "BATCHER_HOME", "DATABASE_URL", "default"),
    #: for messages.
    chosen_by: str = "default"
    #: A team workspace's PostgreSQL URL (``database`` is then only a local name); None for
    #: SQLite.
    database_url: str | None = None

    @property
    def shown_database(self) -> str:
        """Where the workspace's data is, for messages (a password masked)."""
        return mask(self.database_url) if self.database_url else str(self.database)

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

    @property
    def _own_folders(self) -> tuple[Path, ...]:
        return (self.batches_dir, self.results_dir, self.log_dir, self.sandbox_dir)

    def create(self) -> WorkspacePaths:
        """Make the folders (not the database), owner-only. Raises WorkspaceError when that is
        impossible."""
        try:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            for folder in (self.root, *self._own_folders):
                private_dir(folder)
        except OSError as exc:
            raise WorkspaceError(
                f"cannot create the workspace at {self.root}: {exc.strerror or exc}. "
                "Choose another folder with --data-dir or BATCHER_HOME."
            ) from exc
        if self.root.exists() and not os.access(self.root, os.W_OK):
            raise WorkspaceError(f"the workspace folder {self.root} is not writable")
        return self

    def tighten(self) -> int:
        """Make Batcher's folders and files in the workspace owner-only where they are not
        (workspaces made before Batcher did so); returns how many of them other users could
        reach (a loose file inside an owner-only folder was not exposed, so is not counted).

        Only Batcher's own entries: the database and the files beside it (WAL, locks), and
        its folders with all they hold. The workspace folder too, unless a database URL chose
        it (then it is the folder the database happens to be in, perhaps shared). Links are
        never followed; what cannot be changed is logged and left.
        """
        if not _POSIX or not self.root.is_dir():
            return 0
        root_open = _enterable_by_others(self.root)
        exposed = 0
        if self.chosen_by not in DATABASE_URL_VARIABLES:
            exposed += make_private(self.root)
        own = {folder.name for folder in self._own_folders}
        for entry in self.root.iterdir():
            if entry.name.startswith(self.database.name) or entry.name in own:
                exposed += _tighten_tree(entry, root_open)
        return exposed


def _enterable_by_others(folder: Path) -> bool:
    return bool(stat.S_IMODE(folder.lstat().st_mode) & 0o011)


def _tighten_tree(path: Path, parent_open: bool) -> int:
    """Make ``path`` and all under it owner-only (links left alone); how many of them were
    loose where others could reach them (every folder above open to them)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:  # gone meanwhile (a lock file, a temp file)
        return 0
    if stat.S_ISLNK(mode):
        return 0
    exposed = int(make_private(path) and parent_open)
    if stat.S_ISDIR(mode):
        inside_open = parent_open and bool(stat.S_IMODE(mode) & 0o011)
        try:
            with os.scandir(path) as entries:
                children = [Path(entry.path) for entry in entries]
        except OSError as exc:  # another user's folder: say so, open anyway
            log.info("could not look into %s: %s", path, exc.strerror or exc)
            children = []
        exposed += sum(_tighten_tree(child, inside_open) for child in children)
    return exposed


def private_opener(path: str | os.PathLike[str], flags: int) -> int:
    """``os.open`` for a file that is its owner's alone: 0600 whatever the umask, an existing
    file opened so tightened too. Also as ``open(path, mode, opener=private_opener)``."""
    fd = os.open(path, flags, PRIVATE_FILE)
    if _POSIX:
        os.fchmod(fd, PRIVATE_FILE)  # os.open's mode passes through the umask
    return fd


def private_dir(folder: Path, *, parents: bool = False) -> None:
    """Make ``folder`` owner-only if it is new (its parents too, as the system makes them,
    with ``parents``); an existing one is left as it is (:meth:`WorkspacePaths.tighten`
    sees to those)."""
    if parents:
        folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=PRIVATE_DIR)
    except FileExistsError:
        return
    if _POSIX:
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode passes through the umask


def make_private(path: Path) -> bool:
    """Drop the group's and others' rights on ``path`` (not a link); True if it had any."""
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not stat.S_IMODE(mode) & 0o077:
            return False
        os.chmod(path, stat.S_IMODE(mode) & 0o700)
    except FileNotFoundError:  # gone meanwhile (a lock file, a temp file)
        return False
    except OSError as exc:  # another user's file, a read-only disk: say so, open anyway
        log.info("could not make %s owner-only: %s", path, exc.strerror or exc)
        return False
    return True


def default_root() -> Path:
    """The per-user data folder (e.g. ``~/.local/share/batcher-gui`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _postgres_workspace(url: str, chosen_by: str, root: Path | None) -> WorkspacePaths:
    parsed = urlparse(url)
    if not parsed.hostname and not parsed.path.strip("/") and "host=" not in parsed.query:
        raise WorkspaceError(f"{chosen_by} must name a PostgreSQL server and database, like "
                             f"postgresql://user@host:5432/batcher; got {mask(url)!r}")
    if root is None:
        slug = "-".join(part for part in (
            parsed.hostname or "local", str(parsed.port or 5432),
            unquote(parsed.path).strip("/") or "postgres") if part)
        slug = "".join(c if c.isalnum() or c in "-._" else "_" for c in slug)
        root = default_root() / "team" / slug
    return WorkspacePaths(root=root, database=root / "team.local", chosen_by=chosen_by,
                          database_url=url)


def _from_database_url(url: str, variable: str) -> WorkspacePaths:
    parsed = urlparse(url)
    shown = mask(url)  # never a password: postgres://user:***@host/db
    if is_postgres_url(url):
        return _postgres_workspace(url, variable, None)
    if parsed.scheme not in ("sqlite", "sqlite3"):
        raise WorkspaceError(
            f"{variable} must be a sqlite URL like sqlite:////path/to/batcher.sqlite3 or a "
            f"PostgreSQL URL like postgresql://user@host/batcher, got {shown!r}. If "
            f"{variable} is meant for another program, give Batcher its own with BATCHER_HOME "
            "or --data-dir."
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
    data_dir: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
    database: str | None = None,
) -> WorkspacePaths:
    """Pick the workspace: ``--database URL`` (with ``--data-dir``/``BATCHER_HOME`` as its
    local folder), ``--data-dir``, ``BATCHER_HOME``, ``BATCHER_DATABASE_URL``,
    ``DATABASE_URL``, else the default (see the module docstring)."""
    env = os.environ if env is None else env
    if database:
        local = data_dir or env.get("BATCHER_HOME")
        local_root = Path(local).expanduser().resolve() if local else None
        if is_postgres_url(database):
            return _postgres_workspace(database, "--database", local_root)
        return _from_database_url(database, "--database")
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
