"""The views' read connections, on either database: view SQL is written once, in SQLite's
words and with ``?`` placeholders.

* A SQLite workspace is read through a plain ``sqlite3`` connection (:class:`SqliteRead`, a
  subclass that only knows its dialect: no per-row or per-call Python work is added).
* A PostgreSQL workspace is read through :class:`PgRead`: psycopg 3 in autocommit (each
  statement sees what is committed, as SQLite's autocommit reads do), the SQL translated by
  :func:`~batcher_gui.storage.dialect.to_format_params`, ``numeric`` results (``sum`` of
  integers) loaded as int or float as SQLite gives them, and :meth:`PgRead.interrupt` mapped to
  a server-side cancel (SQLite's ``interrupt()``).

Both raise something :func:`interrupted` recognises when a newer query stopped theirs.
:class:`PgChanges` is PostgreSQL's ``PRAGMA data_version``: a ``LISTEN`` connection of its own
counting the notifications every committed write sends, with a polling fallback.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from batcher_gui.storage.dialect import (
    CHANGES_CHANNEL,
    POSTGRESQL,
    SQLITE,
    Dialect,
    is_postgres_url,
    libpq_url,
    to_format_params,
)
from batcher_gui.storage.revision import SCHEMA_HEAD

if TYPE_CHECKING:
    import psycopg

#: Where a workspace's data is: a SQLite file, or a PostgreSQL URL (``postgresql://…``).
Where = Path | str


class Interrupted(Exception):
    """A PostgreSQL read stopped by :meth:`PgRead.interrupt` (a newer query wants its turn)."""


def interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is a read stopped by ``interrupt()`` (SQLite's or PostgreSQL's)."""
    return isinstance(exc, Interrupted) or (
        isinstance(exc, sqlite3.OperationalError) and "interrupted" in str(exc))


def is_postgres(where: Where) -> bool:
    return isinstance(where, str) and is_postgres_url(where)


class Executes(Protocol):
    """Any connection that runs SQL (sqlite3's, :class:`PgRead`)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


class Rows(Protocol):
    """A cursor of either driver, as the views use it."""

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ...) -> list[Any]: ...

    def __iter__(self) -> Any: ...


class ReadConn(Protocol):
    """What the views ask of a read connection (see the module docstring)."""

    @property
    def dialect(self) -> Dialect: ...

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, rows: Any, /) -> Any: ...

    def interrupt(self) -> None: ...

    def data_version(self) -> int: ...

    def prepare_temp(self, cache_mb: int) -> None: ...

    def close(self) -> None: ...


class SqliteRead(sqlite3.Connection):
    """A plain sqlite3 connection that says it is SQLite's (the C methods unchanged)."""

    dialect = SQLITE

    def data_version(self) -> int:
        """Changes when another connection (this process's engine, another process) commits."""
        return int(self.execute("PRAGMA data_version").fetchone()[0])

    def prepare_temp(self, cache_mb: int) -> None:
        """For TEMP tables of many rows (a compare's pairs)."""
        # In memory: a million pairs is ~30 MB, and a read-only workspace folder (or a full
        # disk) must not stop a compare.
        self.execute("PRAGMA temp_store = MEMORY")
        # A build walks two runs' index and rows at random: SQLite's own 2 MB page cache
        # would read most pages from the OS again (3x slower on a million pairs).
        self.execute(f"PRAGMA cache_size = {-cache_mb * 1024}")


def connect(where: Where, *, application: str = "batcher-view") -> SqliteRead | PgRead:
    """A read connection to the workspace at ``where`` (read-only on SQLite)."""
    if is_postgres(where):
        return PgRead(str(where), application=application)
    conn = sqlite3.connect(f"file:{where}?mode=ro", uri=True, check_same_thread=False,
                           isolation_level=None, factory=SqliteRead)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def schema_is_current(where: Where) -> bool:
    """Whether the workspace at ``where`` exists and is at the newest schema (else the view
    queries may ask for columns it does not have yet). No Alembic: it is quick."""
    if is_postgres(where):
        import psycopg

        try:
            with psycopg.connect(libpq_url(str(where)), autocommit=True,
                                 connect_timeout=10) as conn:
                found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except psycopg.Error:  # unreachable, no such table yet...: read once migrated
            return False
        return found is not None and found[0] == SCHEMA_HEAD
    database = Path(where)
    if not database.exists():
        return False
    try:
        sconn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = sconn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:  # no such table (not migrated yet), not a database...
        return False
    finally:
        sconn.close()
    return row is not None and row[0] == SCHEMA_HEAD


_format = functools.lru_cache(maxsize=1024)(to_format_params)


def _pg_connect(url: str, application: str) -> psycopg.Connection[Any]:
    import psycopg
    from psycopg.adapt import Loader

    class _Number(Loader):
        """``numeric`` (PostgreSQL's ``sum`` of integers) as SQLite gives it: int or float."""

        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            try:
                return int(text)
            except ValueError:
                return float(text)

    conn = psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10,
                           application_name=application)
    conn.adapters.register_loader("numeric", _Number)
    return conn


class PgRead:
    """A PostgreSQL read connection speaking the views' SQLite-style SQL (module docstring)."""

    dialect = POSTGRESQL

    def __init__(self, url: str, *, application: str = "batcher-view") -> None:
        self._url = url
        self._application = application
        self._conn = _pg_connect(url, application)
        self._changes: PgChanges | None = None  # made when first asked (one per reader)

    def _live(self) -> psycopg.Connection[Any]:
        if self._conn.broken:  # the server restarted, the network dropped: connect again
            self._conn.close()
            self._conn = _pg_connect(self._url, self._application)
        return self._conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        import psycopg

        try:
            return self._live().execute(_format(sql), parameters)
        except psycopg.errors.QueryCanceled as exc:
            raise Interrupted(str(exc)) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> None:
        with self._live().cursor() as cursor:
            cursor.executemany(_format(sql), rows)

    def copy_rows(self, table: str, columns: Sequence[str],
                  rows: Iterable[Sequence[Any]]) -> None:
        """Rows into ``table`` by COPY (many rows: far quicker than INSERTs)."""
        with self._live().cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def prepare_temp(self, cache_mb: int) -> None:
        """For TEMP tables of many rows (a compare's pairs): kept in memory up to this size
        (set before the session's first TEMP table)."""
        self.execute(f"SET temp_buffers = '{int(cache_mb)}MB'")

    def interrupt(self) -> None:
        """Stop the statement running now (it raises :class:`Interrupted`); from any thread."""
        if not self._conn.closed:
            self._conn.cancel_safe(timeout=5)

    def data_version(self) -> int:
        """Changes when a write to the workspace commits (see :class:`PgChanges`)."""
        if self._changes is None:
            self._changes = PgChanges(self._url)
        return self._changes.version()

    def close(self) -> None:
        if self._changes is not None:
            self._changes.close()
        self._conn.close()


#: What every table of the workspace had written to it (the statistics PostgreSQL keeps;
#: temporary tables, a compare's, are in another schema and left out).
_WRITTEN = ("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint "
            "FROM pg_stat_user_tables WHERE schemaname = current_schema()")


class PgChanges:
    """A number that changes when a write to the PostgreSQL workspace commits.

    Every :meth:`Database.write` sends ``NOTIFY batcher_changes`` at commit; this LISTENs on a
    connection of its own and counts them (they are read with each poll's query). The query
    is the fallback: the server's count of rows written to the workspace's tables (it trails
    a write by up to ten seconds), so a write that did not notify — another program, a lost
    connection — is noticed too. A lost connection counts as a change (what happened
    meanwhile is unknown).
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.Connection[Any] | None = None
        self._notified = 0
        self._written: int | None = None
        self._changes = 0
        self._retry_at = 0.0

    def _on_notify(self, _notify: Any) -> None:
        self._notified += 1

    def _connect(self) -> psycopg.Connection[Any]:
        conn = _pg_connect(self._url, "batcher-watch")
        conn.add_notify_handler(self._on_notify)
        conn.execute(f"LISTEN {CHANGES_CHANNEL}")
        return conn

    def version(self) -> int:
        import psycopg

        try:
            if self._conn is None or self._conn.broken:
                if time.monotonic() < self._retry_at:
                    return self._notified + self._changes
                if self._conn is not None:
                    self._conn.close()
                    self._changes += 1
                self._conn = self._connect()
            row = self._conn.execute(_WRITTEN).fetchone()
        except psycopg.OperationalError:
            # The server is away: try again in a few seconds (the views say the error).
            self._retry_at = time.monotonic() + 3
            self._changes += 1
            return self._notified + self._changes
        written = int(row[0]) if row else 0
        if self._written is not None and written != self._written:
            self._changes += 1
        self._written = written
        return self._notified + self._changes

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
