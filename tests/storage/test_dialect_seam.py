"""The dialect seam: SQL written once in SQLite's words runs on both databases."""

from __future__ import annotations

from batcher_gui.storage import Store
from batcher_gui.storage.dialect import POSTGRESQL, SQLITE, to_format_params


def test_placeholders_become_psycopgs_outside_literals_and_casts() -> None:
    assert to_format_params("SELECT ? WHERE a LIKE 'x%' AND b = ?") == (
        "SELECT %s WHERE a LIKE 'x%%' AND b = %s")
    assert to_format_params("SELECT :a, x::text, ':b', \"c:d\" -- :e\n", named=True) == (
        "SELECT %(a)s, x::text, ':b', \"c:d\" -- :e\n")
    # Positional parameters: a ':name' is left as written.
    assert to_format_params("SELECT '12:30', :a") == "SELECT '12:30', :a"
    assert to_format_params("UPDATE t SET v = v % 2 WHERE k = :k", named=True) == (
        "UPDATE t SET v = v %% 2 WHERE k = %(k)s")


def test_what_differs_is_asked_of_the_dialect() -> None:
    assert SQLITE.indexed_by("ix_a") == "INDEXED BY ix_a" and POSTGRESQL.indexed_by("ix_a") == ""
    assert SQLITE.driver_sql("SELECT ?") == "SELECT ?"
    assert POSTGRESQL.driver_sql("SELECT ?") == "SELECT %s"


def test_named_and_positional_sql_run_on_both(store: Store) -> None:
    with store.db.write() as conn:
        conn.exec_driver_sql("INSERT INTO settings (key, value) VALUES (:k, :v)",
                             {"k": "a:b", "v": "'50%'"})
        conn.exec_driver_sql("INSERT INTO settings (key, value) VALUES (?, ?)",
                             [("c", "1"), ("d", "2")])
        conn.exec_driver_sql("INSERT INTO settings (key, value) VALUES (:k, :v)",
                             [{"k": "e", "v": "3"}, {"k": "f", "v": "4"}])
    with store.db.read() as conn:
        assert conn.exec_driver_sql(
            "SELECT value FROM settings WHERE key = :k AND value LIKE '%50%%'",
            {"k": "a:b"}).scalar() == "'50%'"
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM settings WHERE key IN (?, ?, ?, ?)",
            ("c", "d", "e", "f")).scalar() == 4
    # A raw DB-API connection does not pass through the translation: driver_sql does it.
    with store.db.write() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        changed = raw.execute(store.db.dialect.driver_sql(
            "UPDATE settings SET value = ? WHERE key = ?"), ("5", "c")).rowcount
    assert changed == 1 and store.get_setting("c") == 5
