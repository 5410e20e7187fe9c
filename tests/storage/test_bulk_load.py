"""An import's bulk load on both databases (PostgreSQL: COPY, the first import staged): ids
handed out by the import are never handed out again, and an import cut short leaves nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import insert

from batcher_gui.domain.errors import ImportValidationError
from batcher_gui.domain.models import ImportOptions, ProfileKind
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import Store, tables
from batcher_gui.storage.bulk import staging_table
from batcher_gui.storage.import_rows import RowBuilder
from batcher_gui.storage.import_session import ImportSession, discard_abandoned
from tests.storage.schema_helpers import index_names, orphans


def write(path: Path, n: int, prefix: str = "c") -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"custom_id": f"{prefix}{i}", "method": "POST",
                                 "url": "/v1/embeddings",
                                 "body": {"model": "e", "input": f"text {i}"}}) + "\n")
    return path


def staging_tables(store: Store) -> list[str]:
    if not store.db.dialect.postgres:
        return []
    with store.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'batcher_import_%'")]


def test_ids_go_on_past_what_imports_wrote(store: Store, tmp_path: Path) -> None:
    first = import_file(store, write(tmp_path / "a.jsonl", 7_000), ImportOptions())
    second = import_file(store, write(tmp_path / "b.jsonl", 3_000, "d"), ImportOptions())
    assert staging_tables(store) == []
    with store.db.read() as conn:
        low, high, n = conn.exec_driver_sql(
            "SELECT min(id), max(id), count(*) FROM prompts WHERE run_id = ?",
            (second.run.id,)).one()
        assert (high - low + 1, n) == (3_000, 3_000)
        assert conn.exec_driver_sql("SELECT max(id) FROM prompts WHERE run_id = ?",
                                    (first.run.id,)).scalar() == low - 1
        top_batch = conn.exec_driver_sql("SELECT max(id) FROM batches").scalar()
        assert orphans(conn) == 0
    # Rows made without an id (a draft for retries, an audit row) take the next free ones.
    now = time.time()
    with store.db.write() as conn:
        key = conn.execute(insert(tables.batches).values(
            uuid="u-new", profile_id=store.default_profile().id, endpoint="/v1/embeddings",
            model="e", state=BatchState.DRAFT.value, created_at=now, updated_at=now,
            run_id=second.run.id)).inserted_primary_key
    assert key is not None and key[0] == top_batch + 1
    assert store.status().runs[1].prompts_by_state == {"pending": 3_000}


def test_an_import_cut_short_is_cleared_with_its_staging(store: Store, tmp_path: Path) -> None:
    profile = store.add_profile("p", ProfileKind.OPENAI_COMPATIBLE, base_url="http://x")
    session = ImportSession.begin(store.db, "cut", None, "jsonl", profile)
    builder = RowBuilder(session.start)
    items = [(i + 1, f"c{i}", "/v1/embeddings", "e", b'{"model":"e","input":"x"}')
             for i in range(12_000)]
    for rows in builder.rows(items):
        session.write(rows, builder.new_drafts())
    # The process dies here: the run is hidden, its rows (staged on PostgreSQL) are left.
    assert store.list_runs() == [] and store.list_batches() == []
    expected = [staging_table(session.run.id)] if store.db.dialect.postgres else []
    assert staging_tables(store) == expected
    assert discard_abandoned(store.db) == 1
    assert staging_tables(store) == []
    with store.db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM prompts").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM batches").scalar() == 0
        assert index_names(conn, "prompts") == (
            {index.name for index in tables.prompts.indexes} | {tables.NATURAL_ID_INDEX})
    # The next import is whole, with ids past the ones the cut one had taken.
    summary = import_file(store, write(tmp_path / "a.jsonl", 100), ImportOptions())
    assert summary.prompts == 100 and staging_tables(store) == []
    assert store.status().runs[0].prompts_by_state == {"pending": 100}


def test_a_failed_first_import_leaves_no_staging(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", 9_000)
    with path.open("a") as fh:
        fh.write("not json\n")
    with pytest.raises(ImportValidationError) as info:
        import_file(store, path, ImportOptions())
    assert info.value.errors[0].line == 9_001
    assert store.list_runs() == [] and staging_tables(store) == []
    with store.db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM prompts").scalar() == 0


def test_an_import_tells_listeners_when_it_begins_and_ends_not_per_chunk(
        pg_url: str, tmp_path: Path) -> None:
    import psycopg

    from batcher_gui.storage import open_store
    from batcher_gui.storage.dialect import CHANGES_CHANNEL, libpq_url

    store = open_store(tmp_path / "team.local", pg_url)
    try:
        with psycopg.connect(libpq_url(pg_url), autocommit=True) as listener:
            listener.execute(f"LISTEN {CHANGES_CHANNEL}")  # type: ignore[arg-type]
            summary = import_file(store, write(tmp_path / "a.jsonl", 30_000), ImportOptions())
            heard = list(listener.notifies(timeout=1.0))
    finally:
        store.db.close()
    assert summary.prompts == 30_000  # six chunks of 5,000
    assert len(heard) == 2, heard  # the hidden run made, then shown
