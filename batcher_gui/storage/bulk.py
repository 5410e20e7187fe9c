"""Bulk loading rows with ids chosen by the caller: the import's hot path, on both databases.

SQLite takes a chunk of rows fastest through one ``executemany`` of a prepared INSERT.
PostgreSQL takes them fastest through ``COPY … FROM STDIN`` (psycopg's ``cursor.copy``): one
round trip a chunk instead of a statement a row. Both write inside the caller's transaction,
so a chunk is there entirely or not at all.

Integer primary keys are SERIAL on PostgreSQL: rows inserted with explicit ids leave the
sequence behind, and the next row inserted without an id would take an id already used. So
after writing explicit ids the sequence is moved past them (:func:`advance_sequence`).
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


def advance_sequence(conn: Connection, dialect: Dialect, table: str, last_id: int) -> None:
    """Make the table's id sequence hand out ids past ``last_id`` (PostgreSQL; SQLite picks
    ``max(rowid) + 1`` by itself). Never moves it back."""
    if not dialect.postgres:
        return
    # SERIAL's sequence is named <table>_id_seq; setval is not undone by a rollback (harmless:
    # ids are then skipped, never reused).
    conn.exec_driver_sql(
        f"SELECT setval('{table}_id_seq', greatest(?, (SELECT last_value FROM {table}_id_seq)))",
        (last_id,))
