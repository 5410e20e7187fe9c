"""Folder delivery appends new results, marks them delivered only once they are on disk, and
cuts off what a crashed pass left half written."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from pathlib import Path

from batcher_gui.domain.models import ImportOptions
from batcher_gui.engine.delivery import Deliverer
from batcher_gui.engine.run_import import import_file
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage import Store
from batcher_gui.storage.delivery import DeliveryStore


def _finish(store: Store, ids: list[int]) -> None:
    """The provider answered these prompts (what applying a batch's results does)."""
    with store.db.write() as conn:
        for pid in ids:
            body = json.dumps({"object": "chat.completion", "choices": [
                {"message": {"role": "assistant", "content": f"answer {pid}"}}]}).encode()
            conn.exec_driver_sql("UPDATE prompts SET state = 'processed', response = ?, "
                                 "input_tokens = 10, output_tokens = 2, updated_at = ? "
                                 "WHERE id = ?", (body, time.time(), pid))


def _deliver(store: Store) -> None:
    async def one_pass() -> None:
        workers = DbWorkers()
        try:
            await Deliverer(store.db, EngineSettings(), None, workers).run_pass()
        finally:
            workers.close()

    asyncio.run(one_pass())


def test_results_are_appended_and_a_crashed_pass_is_cut_off(store: Store,
                                                            tmp_path: Path) -> None:
    source = tmp_path / "answers.jsonl"
    source.write_text("\n".join(json.dumps(
        {"custom_id": f"u{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{i}"}]}})
        for i in range(6)) + "\n")
    run = import_file(store, source, ImportOptions()).run
    out = tmp_path / "out"
    DeliveryStore(store.db).set_target(run.id, "folder", str(out))

    _finish(store, [1, 2, 3, 4])
    _deliver(store)
    jsonl, csv_file = out / "answers.jsonl", out / "answers.csv"
    first_jsonl, first_csv = jsonl.read_bytes(), csv_file.read_bytes()
    assert len(first_jsonl.splitlines()) == 4
    assert store.status().runs[0].prompts_by_state == {"delivered": 4, "pending": 2}

    # A pass that crashed after writing, before recording: its bytes are not "delivered".
    for path in (jsonl, csv_file):
        with path.open("ab") as fh:
            fh.write(b'{"custom_id": "u4", "half a li')
    _finish(store, [5, 6])
    _deliver(store)

    data = jsonl.read_bytes()
    assert data.startswith(first_jsonl)  # appended, not rewritten
    lines = [json.loads(x) for x in data.splitlines()]
    assert [x["custom_id"] for x in lines] == ["u0", "u1", "u2", "u3", "u4", "u5"]
    assert csv_file.read_bytes().startswith(first_csv)
    with csv_file.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["custom_id"] for r in rows] == ["u0", "u1", "u2", "u3", "u4", "u5"]
    assert rows[-1]["output_text"] == "answer 6"
    assert store.status().runs[0].prompts_by_state == {"delivered": 6}


def test_a_removed_results_file_is_written_again_in_full(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "r.jsonl"
    source.write_text("\n".join(json.dumps(
        {"custom_id": f"u{i}", "method": "POST", "url": "/v1/embeddings",
         "body": {"model": "text-embedding-3-small", "input": f"t{i}"}}) for i in range(3))
        + "\n")
    run = import_file(store, source, ImportOptions()).run
    out = tmp_path / "out"
    DeliveryStore(store.db).set_target(run.id, "folder", str(out))
    _finish(store, [1, 2, 3])
    _deliver(store)
    (out / "r.jsonl").unlink()
    _deliver(store)
    assert len((out / "r.jsonl").read_text().splitlines()) == 3
    assert len((out / "r.csv").read_text().splitlines()) == 4  # header + 3, not doubled
