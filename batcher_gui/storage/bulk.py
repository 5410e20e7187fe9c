"""Bulk loading rows with ids chosen by the caller: the import's hot path, on both databases.

SQLite takes a chunk of rows fastest through one ``executemany`` of a prepared INSERT.
PostgreSQL takes them fastest through ``COPY … FROM STDIN`` (psycopg's ``cursor.copy``): one
round trip a chunk instead of a statement a row. Both write inside the caller's transaction,
so a chunk is there entirely or not at all.

Integer primary keys are SERIAL on PostgreSQL: rows inserted with explicit ids leave the
sequence behind, and the next row inserted without an id would take an id already used. So
after writing explicit ids the sequence is moved past them (:func:`advance_sequence`).

The first import into a PostgreSQL workspace (no prompts yet) is staged: its chunks are copied
into an unlogged table of their own, with no index and no foreign key, and :func:`move_staged`
moves them into ``prompts`` at the end, in the import's last transaction, with the prompts'
(full) indexes and foreign keys dropped meanwhile and built again afterwards: once, by sorting,
instead of row by row (a million prompts on the shared 2-core machine: ~40 s of COPY into the
indexed table; staged, ~4 s of COPY and ~7 s to move, index and check them).
All of it is one transaction: a failure restores the indexes and the constraints. The table
is empty, so the moment it is locked for this costs nobody anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from batcher_gui.storage.dialect import Dialect


class RowRefused(ValueError):
    """The database refused a row's value (PostgreSQL: a NUL character in text)."""


def insert_rows(conn: Connection, dialect: Dialect, table: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` in the open transaction."""
    if not rows:
        return
    if not dialect.postgres:
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})", rows)
        return
    import psycopg  # here: a SQLite workspace never loads it

    raw = conn.connection.driver_connection
    assert raw is not None
    # Text COPY: psycopg adapts each Python value (int, str, bytes → bytea, None → NULL);
    # binary COPY would need every column's exact type (an int into a bigint column fails).
    try:
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
    except psycopg.DataError as exc:
        raise RowRefused(str(exc)) from exc


def advance_sequence(conn: Connection, dialect: Dialect, table: str,
                     last_id: int | None = None) -> None:
    """Make the table's id sequence hand out ids past ``last_id`` (None: past the table's
    highest id) after rows were written with explicit ids (PostgreSQL; SQLite picks
    ``max(rowid) + 1`` by itself). Never moves it back."""
    if not dialect.postgres:
        return
    past = "?" if last_id is not None else f"(SELECT coalesce(max(id), 0) FROM {table})"
    # SERIAL's sequence is named <table>_id_seq; setval is not undone by a rollback (harmless:
    # ids are then skipped, never reused).
    conn.exec_driver_sql(
        f"SELECT setval('{table}_id_seq', greatest({past}, "
        f"(SELECT last_value FROM {table}_id_seq)))",
        () if last_id is None else (last_id,))


def staging_table(run_id: int) -> str:
    """The name of the run's staging table (see the module docstring)."""
    return f"batcher_import_{int(run_id)}"


def create_staging(conn: Connection, run_id: int, columns: Sequence[str]) -> str:
    """Create the run's (PostgreSQL) staging table, with ``prompts``' columns; its name."""
    name = staging_table(run_id)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    conn.exec_driver_sql(
        f"CREATE UNLOGGED TABLE {name} AS SELECT {', '.join(columns)} FROM prompts WITH NO DATA")
    return name


def drop_staging(conn: Connection, dialect: Dialect, run_id: int) -> None:
    if dialect.postgres:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {staging_table(run_id)}")


def move_staged(conn: Connection, staging: str, columns: Sequence[str]) -> None:
    """Move the staged rows into ``prompts`` and drop the staging table (PostgreSQL, in the
    caller's transaction). With ``prompts`` still empty its (full) secondary indexes and foreign
    keys are dropped first and made again after; else (or if this login may not do that) the rows
    are inserted with them in place."""
    listed = ", ".join(columns)
    insert = f"INSERT INTO prompts ({listed}) SELECT {listed} FROM {staging}"
    empty = conn.exec_driver_sql("SELECT NOT EXISTS (SELECT 1 FROM prompts)").scalar()
    done = False
    if empty:
        indexes = conn.exec_driver_sql(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = 'prompts'::regclass AND NOT x.indisprimary "
            # A partial index stays: building it again reads the whole table, keeping it up
            # costs a test per row (new prompts have no label, note or check result yet).
            "AND x.indpred IS NULL").all()
        keys = conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'prompts'::regclass AND contype = 'f'").all()
        try:
            with conn.begin_nested():  # not the owner of the tables: the plain way below
                for name, _ in indexes:
                    conn.exec_driver_sql(f'DROP INDEX "{name}"')
                for name, _ in keys:
                    conn.exec_driver_sql(f'ALTER TABLE prompts DROP CONSTRAINT "{name}"')
                conn.exec_driver_sql(insert)
                # Sorting for the index builds: more memory than the default 64 MB.
                conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
                for _, definition in indexes:
                    conn.exec_driver_sql(definition)
                for name, definition in keys:
                    conn.exec_driver_sql(
                        f'ALTER TABLE prompts ADD CONSTRAINT "{name}" {definition}')
                done = True
        except Exception as exc:  # noqa: BLE001 - any refusal: fall back, the rows still go in
            if not _refused(exc):
                raise
    if not done:
        conn.exec_driver_sql(insert)
    conn.exec_driver_sql(f"DROP TABLE {staging}")
    # A million new rows: the planner's figures for the columns most queries choose by, now
    # rather than at autovacuum's next pass.
    conn.exec_driver_sql("ANALYZE prompts (id, run_id, batch_id, state)")


def _refused(exc: Exception) -> bool:
    """A permission error (the login does not own the tables)."""
    text = str(getattr(exc, "orig", None) or exc)
    return "must be owner" in text or "permission denied" in text
