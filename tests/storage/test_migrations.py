"""Alembic migrations build the schema; old workspaces upgrade in place without losing data."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from batcher_gui.domain.errors import WorkspaceError
from batcher_gui.storage.db import SCHEMA_HEAD, Database, head_revision, upgrade_to
from batcher_gui.storage.tables import NATURAL_ID_INDEX, POSTGRES_ID_ENDED, metadata
from tests.pg_cluster import PgCluster


def test_new_workspace_is_at_head_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "batcher.sqlite3")
    try:
        assert db.current_revision() == head_revision()
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
            names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM profiles")}
        assert names == {"openai", "sandbox", "sandbox-claude"}
    finally:
        db.close()


def test_schema_head_constant_matches_the_migrations() -> None:
    assert head_revision() == SCHEMA_HEAD


# The natural custom_id order's expression index (0010) is one SQLAlchemy cannot reflect.
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index ix_prompts_run_natural_id")
def test_migrated_schema_matches_the_tables_module(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "batcher.sqlite3")
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        db.close()


def test_upgrade_from_previous_revision_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "batcher.sqlite3"
    upgrade_to(path, "0001")
    raw = sqlite3.connect(path)
    with raw:
        raw.execute(
            "INSERT INTO runs (id, name, source_format, profile_id, created_at, prompt_count) "
            "VALUES (1, 'old run', 'jsonl', 1, 1.0, 1)"
        )
        raw.execute(
            "INSERT INTO batches (id, uuid, profile_id, endpoint, model, state, request_count, "
            "bytes, created_at, updated_at) VALUES (1, 'u-1', 1, '/v1/chat/completions', 'm', "
            "'draft', 1, 99, 1.0, 1.0)"
        )
        raw.execute(
            "INSERT INTO prompts (id, run_id, batch_id, line_no, user_custom_id, endpoint, model,"
            " state, request_bytes, body) VALUES (1, 1, 1, 1, 'req-1', '/v1/chat/completions', "
            "'m', 'pending', 99, X'7B7D')"
        )
        raw.execute("INSERT INTO settings (key, value) VALUES ('mine', '42')")
    raw.close()

    db = Database.open(path)
    try:
        assert db.current_revision() == head_revision() != "0001"
        with db.read() as conn:
            prompt = conn.exec_driver_sql(
                "SELECT user_custom_id, body, input_tokens FROM prompts").one()
            assert tuple(prompt) == ("req-1", b"{}", None)
            batch = conn.exec_driver_sql(
                "SELECT uuid, state, token_limit_attempts FROM batches").one()
            assert tuple(batch) == ("u-1", "draft", 0)
            assert conn.exec_driver_sql(
                "SELECT value FROM settings WHERE key='mine'").scalar() == "42"
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM profiles WHERE name='sandbox'").scalar() == 1
    finally:
        db.close()


def test_reopening_at_head_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "batcher.sqlite3"
    Database.open(path).close()
    db = Database.open(path)
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM profiles").scalar() == 3
    finally:
        db.close()


def test_workspace_from_a_newer_batcher_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "batcher.sqlite3"
    Database.open(path).close()
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    raw.close()
    with pytest.raises(WorkspaceError, match="newer Batcher"):
        Database.open(path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "batcher.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(WorkspaceError, match="Is it a Batcher workspace"):
        Database.open(path)


def test_upgrade_from_0002_gives_batches_their_run_and_separates_delivery_failures(
        tmp_path: Path) -> None:
    path = tmp_path / "batcher.sqlite3"
    upgrade_to(path, "0002")
    raw = sqlite3.connect(path)
    with raw:
        for run_id in (1, 2):
            raw.execute("INSERT INTO runs (id, name, source_format, profile_id, created_at, "
                        f"prompt_count) VALUES ({run_id}, 'r{run_id}', 'jsonl', 1, 1.0, 2)")
        raw.execute("INSERT INTO batches (id, uuid, profile_id, endpoint, model, state, "
                    "request_count, bytes, created_at, updated_at) VALUES (1, 'u-1', 1, "
                    "'/v1/chat/completions', 'm', 'completed', 3, 99, 1.0, 1.0)")
        rows = [(1, 1, "processed", None), (2, 1, "failed", "delivery failed: HTTP 500"),
                (3, 2, "failed", "provider said no")]  # the draft was shared by two runs
        for pid, run_id, state, error in rows:
            raw.execute("INSERT INTO prompts (id, run_id, batch_id, line_no, user_custom_id, "
                        "endpoint, model, state, request_bytes, body, response, error) VALUES "
                        f"(?, ?, 1, 1, 'c{pid}', '/v1/chat/completions', 'm', ?, 9, X'7B7D', "
                        "X'7B7D', ?)", (pid, run_id, state, error))
    raw.close()

    db = Database.open(path)
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT run_id FROM batches").scalar() == 1
            assert conn.exec_driver_sql(
                "SELECT id, error, delivery_error, attempt_base FROM prompts ORDER BY id"
            ).all() == [(1, None, None, 0), (2, None, "HTTP 500", 0),
                        (3, "provider said no", None, 0)]
            assert conn.exec_driver_sql("SELECT DISTINCT status FROM runs").all() == [("ready",)]
    finally:
        db.close()


def test_migrations_on_postgresql_build_the_tables_module(pg_url: str, tmp_path: Path) -> None:
    """The same migrations give PostgreSQL the same tables, columns and indexes (partial ones
    with their conditions); a workspace at head opens without migrating again."""
    db = Database.open_url(pg_url, tmp_path / "team.local")
    try:
        assert db.current_revision() == head_revision()
        with db.engine.connect() as conn:
            # The natural-order expression index is the migrations' alone, and on PostgreSQL
            # the sort indexes end in id (see tables.py): both are checked below.
            context = MigrationContext.configure(conn, opts={"include_object": (
                lambda obj, name, kind, reflected, other:
                name != NATURAL_ID_INDEX and name not in POSTGRES_ID_ENDED)})
            diff = compare_metadata(context, metadata)
            definitions = dict(conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = "
                "current_schema()").all())
        assert diff == []
        for table in metadata.tables.values():
            for index in table.indexes:
                made = definitions[str(index.name)]
                where = index.dialect_options["sqlite"]["where"]
                assert ("WHERE" in made) == (where is not None), made
        assert NATURAL_ID_INDEX in definitions
        for name in POSTGRES_ID_ENDED:
            declared = metadata.tables["prompts"].indexes
            columns = next(i for i in declared if i.name == name).columns.keys()
            assert definitions[name].endswith(f"({', '.join(columns)}, id)"), definitions[name]
    finally:
        db.close()


def test_a_postgresql_workspace_at_head_opens_without_migrating(
        pg_cluster: PgCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import psycopg

    name = f"empty_{os.getpid()}"
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.INFO):
            Database.open_url(pg_cluster.url(name), tmp_path / "team.local").close()
        assert any("Upgrading workspace schema empty" in r.getMessage() for r in caplog.records)
        caplog.clear()
        with caplog.at_level(logging.INFO):
            db = Database.open_url(pg_cluster.url(name), tmp_path / "team.local")
        try:
            assert db.current_revision() == SCHEMA_HEAD
        finally:
            db.close()
        assert caplog.records == []  # neither Alembic nor an upgrade
    finally:
        pg_cluster.drop_database(pg_cluster.url(name))
