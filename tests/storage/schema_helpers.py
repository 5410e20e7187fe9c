"""Reading a workspace database's schema in the tests, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import Connection


def index_names(conn: Connection, table: str) -> set[str]:
    """The table's indexes by name (a primary key's own index left out)."""
    if conn.dialect.name == "postgresql":
        return {r[0] for r in conn.exec_driver_sql(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = to_regclass(?) AND NOT x.indisprimary", (table,))}
    return {r[0] for r in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND name NOT LIKE 'sqlite_autoindex_%'", (table,))}


def orphans(conn: Connection) -> int:
    """Prompts and batches referring to a run, batch or prompt that is not there."""
    return int(conn.exec_driver_sql(
        "SELECT (SELECT count(*) FROM prompts p WHERE p.batch_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM batches b WHERE b.id = p.batch_id)) "
        "+ (SELECT count(*) FROM prompts p WHERE NOT EXISTS "
        "(SELECT 1 FROM runs r WHERE r.id = p.run_id)) "
        "+ (SELECT count(*) FROM batches b WHERE b.run_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM runs r WHERE r.id = b.run_id)) "
        "+ (SELECT count(*) FROM batch_transitions t WHERE NOT EXISTS "
        "(SELECT 1 FROM batches b WHERE b.id = t.batch_id))").scalar() or 0)
