"""Stopping an import, and the integrity of what a big import leaves behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batcher_gui.domain.models import ImportOptions
from batcher_gui.engine.run_import import ImportCancelled, import_file
from batcher_gui.storage import Store, tables
from tests.storage.schema_helpers import index_names, orphans


def write(path: Path, n: int) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"custom_id": f"c{i}", "method": "POST", "url": "/v1/embeddings",
                                 "body": {"model": "e", "input": f"text {i}"}}) + "\n")
    return path


def test_stopping_an_import_writes_nothing(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "big.jsonl", 30_000)
    with pytest.raises(ImportCancelled):
        import_file(store, path, ImportOptions(), should_stop=lambda: True)
    assert store.list_runs() == [] and store.list_batches() == []
    assert import_file(store, path, ImportOptions()).prompts == 30_000  # still usable


def test_a_big_first_import_leaves_indexes_and_references_intact(store: Store,
                                                                 tmp_path: Path) -> None:
    progress: list[tuple[int, int]] = []
    import_file(store, write(tmp_path / "a.jsonl", 12_000), ImportOptions(),
                progress=lambda done, total, _n: progress.append((done, total)))
    assert progress[-1][0] == progress[-1][1] and len(progress) > 2
    with store.db.read() as conn:
        names = index_names(conn, "prompts")
        assert names == {index.name for index in tables.prompts.indexes} | {
            tables.NATURAL_ID_INDEX}
        assert orphans(conn) == 0
        if store.db.dialect.postgres:  # the constraints are there and checked
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM pg_constraint WHERE conrelid = 'prompts'::regclass "
                "AND contype = 'f' AND convalidated").scalar() == 2
            assert conn.exec_driver_sql(
                "SELECT bool_and(indisvalid AND indisready) FROM pg_index "
                "WHERE indrelid = 'prompts'::regclass").scalar()
            explain = "EXPLAIN"
        else:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            explain = "EXPLAIN QUERY PLAN"
        plan = " ".join(r[-1] for r in conn.exec_driver_sql(
            # A batch with none of them (PostgreSQL's planner, which knows that all 12,000 are
            # in batch 1, rightly reads the whole table for that one).
            f"{explain} SELECT count(*) FROM prompts WHERE batch_id = 99 AND "
            "state = 'pending'"))
    assert "ix_prompts_batch_state" in plan
