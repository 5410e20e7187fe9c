"""Runs with answers for compare tests: a real import, then answers stored as results are."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson

from batcher_gui.domain.models import ImportOptions
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import Store


def make_run(store: Store, tmp: Path, name: str, prompts: Sequence[tuple[str | None, str]],
             answers: Sequence[str | None], model: str = "gpt-4o-mini",
             failed: Sequence[int] = ()) -> int:
    """A run of chat prompts ``(custom_id, text)``; answer i stored as prompt i's
    response (None: no answer yet); indexes in ``failed`` end failed without one."""
    path = tmp / f"{name}.jsonl"
    with path.open("wb") as fh:
        for custom_id, text in prompts:
            line: dict[str, object] = {
                "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": model, "messages": [{"role": "user", "content": text}]}}
            line["custom_id"] = custom_id
            fh.write(orjson.dumps(line) + b"\n")
    run = import_file(store, path, ImportOptions(), profile_name="sandbox", run_name=name).run
    with store.db.write() as conn:  # SQLite's words on both databases (exec_driver_sql)
        ids = [i for (i,) in conn.exec_driver_sql(
            "SELECT id FROM prompts WHERE run_id = ? ORDER BY id", (run.id,))]
        for i, (pid, answer) in enumerate(zip(ids, answers, strict=True)):
            if i in failed:
                conn.exec_driver_sql(
                    "UPDATE prompts SET state = 'failed', error = 'boom' WHERE id = ?", (pid,))
            elif answer is not None:
                response = orjson.dumps({"choices": [{"message": {"content": answer},
                                                      "finish_reason": "stop"}],
                                         "usage": {"prompt_tokens": 10, "completion_tokens": 5}})
                conn.exec_driver_sql(
                    "UPDATE prompts SET state = 'processed', response = ?, input_tokens = 10, "
                    "output_tokens = 5 WHERE id = ?", (response, pid))
    return run.id
