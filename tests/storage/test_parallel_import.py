"""The two-process import gives exactly what the one-process import gives, errors included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batcher_gui.domain.errors import ImportValidationError
from batcher_gui.domain.models import ImportOptions, ProfileLimits
from batcher_gui.engine.imports import ImportCancelled, import_file
from batcher_gui.importing import ParallelReader, RequestReader
from batcher_gui.storage import Store


def write(path: Path, n: int, bad: set[int] = frozenset()) -> Path:  # type: ignore[assignment]
    with path.open("w") as fh:
        for i in range(n):
            line = {"custom_id": f"c{i}", "method": "POST", "url": "/v1/embeddings",
                    "body": {"model": "e", "input": f"text {i}"}}
            fh.write(("{oops" if i in bad else json.dumps(line)) + "\n")
    return path


def test_parallel_reader_yields_the_same_items(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", 9000, bad={5, 8500})
    serial = [tuple(x) if isinstance(x, tuple) else x
              for x in RequestReader(path, ImportOptions(), ProfileLimits())]
    reader = ParallelReader(path, ImportOptions(), ProfileLimits())
    parallel = list(reader)
    assert parallel == serial
    assert reader.bytes_read == reader.total_bytes


def test_file_level_problems_surface_in_the_parent(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(ImportValidationError, match="empty"):
        ParallelReader(empty, ImportOptions(), ProfileLimits())


def test_parallel_import_matches_and_stays_atomic(store: Store, tmp_path: Path) -> None:
    good = write(tmp_path / "good.jsonl", 12_000)
    summary = import_file(store, good, ImportOptions(), parallel_from_bytes=0)
    assert summary.prompts == 12_000
    with store.db.read() as conn:
        names = {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='prompts'")}
        assert names == {"ix_prompts_batch_state", "ix_prompts_run_state"}
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    bad = write(tmp_path / "bad.jsonl", 12_000, bad={11_999})
    with pytest.raises(ImportValidationError) as info:
        import_file(store, bad, ImportOptions(), parallel_from_bytes=0)
    assert info.value.errors[0].line == 12_000
    assert store.status().runs[0].run.prompt_count == 12_000 and len(store.list_runs()) == 1


def test_stopping_an_import_writes_nothing_and_ends_the_reader(store: Store,
                                                             tmp_path: Path) -> None:
    path = write(tmp_path / "big.jsonl", 30_000)
    with pytest.raises(ImportCancelled):
        import_file(store, path, ImportOptions(), parallel_from_bytes=0,
                    should_stop=lambda: True)
    assert store.list_runs() == [] and store.list_batches() == []
    import_file(store, path, ImportOptions(), parallel_from_bytes=0)  # the workspace is usable
