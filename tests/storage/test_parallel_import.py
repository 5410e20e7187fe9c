"""The two-process import writes exactly what the one-process import writes, errors included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batcher_gui.domain.errors import ImportValidationError
from batcher_gui.domain.models import ImportOptions
from batcher_gui.engine.run_import import ImportCancelled, import_file
from batcher_gui.storage import Store, open_store


def write(path: Path, n: int, bad: frozenset[int] = frozenset()) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            line = {"custom_id": f"c{i}", "method": "POST", "url": "/v1/embeddings",
                    "body": {"model": "e", "input": f"text {i}"}}
            fh.write(("{oops" if i in bad else json.dumps(line)) + "\n")
    return path


def _rows(store: Store) -> list[tuple[object, ...]]:
    with store.db.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT id, batch_id, line_no, user_custom_id, endpoint, model, state, "
            "request_bytes, body FROM prompts ORDER BY id")]


def test_both_ways_write_the_same_rows_and_report_the_same_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", 12_000, bad=frozenset({5, 11_500}))
    results = []
    for threshold in (0, 10**12):
        store = open_store(tmp_path / f"ws{threshold}" / "batcher.sqlite3")
        with pytest.raises(ImportValidationError) as info:
            import_file(store, path, ImportOptions(), parallel_from_bytes=threshold)
        progress: list[int] = []
        summary = import_file(store, path, ImportOptions(valid_only=True),
                              parallel_from_bytes=threshold,
                              progress=lambda done, _total, _n, seen=progress: seen.append(done))
        assert progress == sorted(progress) and progress[-1] == path.stat().st_size
        results.append((info.value.total, [str(e) for e in info.value.errors],
                        summary.prompts, summary.skipped, summary.errors, _rows(store),
                        [(b.request_count, b.bytes) for b in store.list_batches()]))
        store.db.close()
    assert results[0] == results[1]
    assert results[0][0] == 2 and results[0][2] == 11_998


def test_file_level_problems_surface_at_once(store: Store, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(ImportValidationError, match="empty"):
        import_file(store, empty, ImportOptions(), parallel_from_bytes=0)


def test_stopping_a_parallel_import_writes_nothing(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "big.jsonl", 30_000)
    with pytest.raises(ImportCancelled):
        import_file(store, path, ImportOptions(), parallel_from_bytes=0,
                    should_stop=lambda: True)
    assert store.list_runs() == [] and store.list_batches() == []
    assert import_file(store, path, ImportOptions(), parallel_from_bytes=0).prompts == 30_000
