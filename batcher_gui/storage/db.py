"""Opening a workspace database — a SQLite file (WAL mode, foreign keys on) or a PostgreSQL
database (a team workspace) — with its migrations applied.

Transactions are explicit: :meth:`Database.write` takes the write lock up front (SQLite's
``BEGIN IMMEDIATE``; on PostgreSQL a transaction-level advisory lock) so two writers queue
instead of failing half-way, and storage code may read-then-write as on one machine;
:meth:`Database.read` starts a snapshot that never blocks a writer. On PostgreSQL every write
notifies :data:`~batcher_gui.storage.dialect.CHANGES_CHANNEL` when it commits.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DatabaseError, OperationalError

from batcher_gui.domain.errors import DatabaseBusy, WorkspaceError
from batcher_gui.domain.secrecy import mask
from batcher_gui.paths import PRIVATE_FILE, private_opener
from batcher_gui.storage.dialect import (
    CHANGES_CHANNEL,
    LOCK_IMPORT,
    LOCK_MIGRATE,
    LOCK_WRITE,
    POSTGRESQL,
    SQLITE,
    Dialect,
    sqlalchemy_url,
    to_format_params,
)

# The newest migration, known without Alembic, so opening an up-to-date workspace does not
# import it (a third of a second at every start).
from batcher_gui.storage.revision import SCHEMA_HEAD

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: The newest migration. Kept here so opening an up-to-date workspace does not import Alembic
#: (a third of a second at every start); a test checks it against the migrations folder.
BUSY_TIMEOUT_MS = 10_000
_BUSY_TEXTS = ("database is locked", "database table is locked", "database is busy",
               # PostgreSQL: a statement or lock wait that ran out of time, a deadlock.
               "canceling statement due to lock timeout", "deadlock detected",
               "could not serialize access")


def _raise_busy(exc: OperationalError) -> None:
    """SQLITE_BUSY becomes DatabaseBusy, a transient error the caller retries."""
    text = str(exc.orig or exc)
    if any(t in text for t in _BUSY_TEXTS):
        raise DatabaseBusy(f"the workspace database is busy ({text})") from exc


def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest schema revision in the migrations folder."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _create_private(path: Path) -> None:
    """Create the (empty) database file owner-only, if it is missing: SQLite would create it
    with the umask's mode (0644 usually), and gives the WAL and shared-memory files the
    database file's mode."""
    try:
        os.close(private_opener(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return


def _make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        # After a checkpoint empties it, the WAL file is cut back to this size.
        cur.execute("PRAGMA journal_size_limit=67108864")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _make_postgres_engine(url: str) -> Engine:
    engine = create_engine(
        sqlalchemy_url(url), pool_pre_ping=True, pool_size=8, max_overflow=8,
        connect_args={"connect_timeout": 10, "application_name": "batcher"},
    )

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _qmark(conn: Connection, cursor: Any, statement: str, parameters: Any,
               context: Any, executemany: bool) -> tuple[str, Any]:
        # SQL handed to the driver as written (exec_driver_sql) is in SQLite's words: "?".
        if context is not None and context.compiled is None:
            first = parameters[0] if executemany and parameters else parameters
            statement = to_format_params(statement, named=isinstance(first, Mapping))
        return statement, parameters

    return engine


class Database:
    """One open workspace database.

    Attributes:
        path: the SQLite file; for a PostgreSQL workspace, a local file name the workspace's
            local lock files are named after (nothing is stored in it).
        url: the PostgreSQL URL (with its password), None for SQLite.
        dialect: what differs between the two (see :mod:`batcher_gui.storage.dialect`).
    """

    def __init__(self, path: Path, engine: Engine, url: str | None = None) -> None:
        self.path = path
        self.engine = engine
        self.url = url
        self.dialect: Dialect = POSTGRESQL if url else SQLITE

    @property
    def shown_name(self) -> str:
        """Where the workspace is, for messages (a URL's password masked)."""
        return mask(self.url) if self.url else str(self.path)

    @classmethod
    def open_url(cls, url: str, local: Path, *, migrate: bool = True) -> Database:
        """Open (creating the schema if needed) the PostgreSQL workspace at ``url``.

        Args:
            local: this machine's file name for the workspace (its lock files' stem).

        Raises:
            WorkspaceError: the server cannot be reached, refuses the login, or holds a
                newer Batcher's schema.
        """
        engine = _make_postgres_engine(url)
        db = cls(local, engine, url)
        try:
            with engine.connect():
                pass
            if migrate:
                db._migrate()
        except (DatabaseError, OperationalError) as exc:
            engine.dispose()
            why = mask(str(exc.orig or exc)).strip()
            hint = (" Create it first, e.g. createdb --template template0 --locale C NAME "
                    "(README: For teams)." if "does not exist" in why else "")
            raise WorkspaceError(
                f"cannot open the PostgreSQL workspace {db.shown_name}: {why}.{hint}"
            ) from exc
        except BaseException:
            engine.dispose()
            raise
        return db

    @classmethod
    def open(cls, path: Path, *, migrate: bool = True) -> Database:
        """Open (creating if needed) the database at ``path`` and bring its schema to head.

        Raises:
            WorkspaceError: the file is not a Batcher database, is from a newer Batcher, or
                cannot be opened.
        """
        from batcher_gui.storage.guard import refuse_foreign_database

        refuse_foreign_database(path)  # before anything is created or migrated
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
        engine = _make_engine(path)
        db = cls(path, engine)
        try:
            if migrate:
                db._migrate()
        except (DatabaseError, OperationalError) as exc:
            engine.dispose()
            raise WorkspaceError(
                f"cannot open the workspace database {path}: {exc.orig or exc}. "
                "Is it a Batcher workspace (batcher.sqlite3)?"
            ) from exc
        except BaseException:
            engine.dispose()
            raise
        return db

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            if self.dialect.postgres:
                has_table = conn.exec_driver_sql(
                    "SELECT to_regclass('alembic_version') IS NOT NULL").scalar()
            else:
                has_table = conn.exec_driver_sql(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
                ).first()
            if not has_table:
                return None
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    def _migrate(self) -> None:
        current = self.current_revision()
        if current == SCHEMA_HEAD:
            return
        from alembic import command
        from alembic.script import ScriptDirectory

        head = head_revision()
        scripts = ScriptDirectory.from_config(_alembic_config())
        known = {s.revision for s in scripts.walk_revisions()}
        if current is not None and current not in known:
            raise WorkspaceError(
                f"the workspace {self.shown_name} was written by a newer Batcher (schema "
                f"{current}); update Batcher to open it"
            )
        if self.dialect.postgres and current is None:
            with self.engine.connect() as conn:
                foreign = conn.exec_driver_sql(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = current_schema()").scalar()
            if foreign:
                raise WorkspaceError(
                    f"the PostgreSQL database {self.shown_name} holds {foreign} tables of "
                    "another program; Batcher changed nothing. Give Batcher a database of its "
                    "own (CREATE DATABASE batcher)")
        if self.dialect.postgres:
            # Two processes opening a new workspace at once: one migrates, the other waits.
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"SELECT pg_advisory_lock({LOCK_MIGRATE})")
                conn.commit()
                try:
                    if self.current_revision() != head:
                        log.info("Upgrading workspace schema %s -> %s", current or "empty",
                                 head)
                        command.upgrade(_alembic_config(conn), "head")
                        conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
                finally:
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_MIGRATE})")
                    conn.commit()
            return
        # Two processes opening an old workspace at once: one migrates, the other waits.
        lock = FileLock(str(self.path) + ".migrate.lock", timeout=120, mode=PRIVATE_FILE)
        try:
            with lock:
                if self.current_revision() == head:
                    return
                log.info("Upgrading workspace schema %s -> %s", current or "empty", head)
                with self.engine.connect() as conn:
                    command.upgrade(_alembic_config(conn), "head")
                    conn.commit()
        except Timeout as exc:
            raise WorkspaceError(
                f"another Batcher is upgrading the workspace {self.path}; try again shortly"
            ) from exc

    @contextmanager
    def write(self, *, foreign_keys: bool = True, notify: bool = True) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any exception.

        Args:
            foreign_keys: False skips SQLite's per-row foreign-key lookups for this transaction
                (bulk imports, whose rows reference what the same transaction just created).
            notify: False: PostgreSQL's listeners are not told (a write nobody can see yet,
                such as a chunk of a hidden import: they would re-read for nothing).
        """
        if self.dialect.postgres:
            try:
                with self.engine.connect() as conn, conn.begin():
                    # Writers take turns, as on SQLite (code may read, then write).
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_WRITE})")
                    yield conn
                    if notify:
                        conn.exec_driver_sql(f"NOTIFY {CHANGES_CHANNEL}")
            except OperationalError as exc:
                _raise_busy(exc)
                raise
            return
        try:
            with self.engine.connect() as conn:
                raw = conn.connection.driver_connection
                assert raw is not None
                if not foreign_keys:
                    raw.execute("PRAGMA foreign_keys=OFF")  # only outside a transaction
                try:
                    conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                    with conn.begin():
                        yield conn
                finally:
                    if not foreign_keys:
                        raw.execute("PRAGMA foreign_keys=ON")
        except OperationalError as exc:
            _raise_busy(exc)
            raise

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot (deferred transaction, never blocks writers)."""
        try:
            with self.engine.connect() as conn:
                if self.dialect.postgres:
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            _raise_busy(exc)
            raise

    @contextmanager
    def import_lock(self, *, wait: bool = True) -> Iterator[bool]:
        """Held by an import while it writes (one import per workspace at a time, across
        processes). Yields False without waiting when ``wait`` is False and it is taken.

        An import numbers its prompts and drafts at its start and writes them over many short
        transactions, so nothing else may add prompts or batches meanwhile. The OS releases
        the lock when its process dies, so a crashed import never blocks the next one.
        """
        if self.dialect.postgres:
            with self.session_lock(LOCK_IMPORT, wait=wait) as taken:
                yield taken
            return
        lock = FileLock(str(self.path) + ".import.lock", timeout=-1 if wait else 0,
                        mode=PRIVATE_FILE)
        try:
            lock.acquire()
        except Timeout:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    @contextmanager
    def session_lock(self, key: int, *, wait: bool = True) -> Iterator[bool]:
        """A PostgreSQL session-level advisory lock, held on a connection of its own for the
        block (the server drops it when that connection dies). Yields False when ``wait`` is
        False and another session holds it."""
        with self.engine.connect() as conn:
            if wait:
                conn.exec_driver_sql(f"SELECT pg_advisory_lock({key})")
                taken = True
            else:
                taken = bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({key})").scalar())
            conn.commit()
            try:
                yield taken
            finally:
                if taken:
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
                    conn.commit()

    def checkpoint(self, *, wait_ms: int = 250) -> bool:
        """Move the WAL's pages into the database file and start the WAL over (truncated).

        SQLite does the copying by itself, but it can only start the WAL over at a moment no
        reader still uses it; with views and the engine reading all the time such a moment may
        never come and the WAL grows by every write (gigabytes after a few million rows),
        slowing every read. So this is asked for after big writes and now and then. It waits at
        most ``wait_ms`` for readers; False: not now (try again later).
        PostgreSQL looks after its own log: nothing to do there.
        """
        if self.dialect.postgres:
            return True
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute(f"PRAGMA busy_timeout={wait_ms}")
            try:
                busy, _, _ = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.OperationalError:
                busy = 1
            finally:
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return not busy

    def close(self) -> None:
        self.engine.dispose()


def upgrade_to(path: Path, revision: str) -> None:
    """Bring a database to a given revision (tests build old workspaces with this)."""
    from alembic import command

    engine = _make_engine(path)
    try:
        with engine.connect() as conn:
            command.upgrade(_alembic_config(conn), revision)
            conn.commit()
    finally:
        engine.dispose()
