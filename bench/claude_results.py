"""Applying a Claude batch's results (``bench/results.py --anthropic [N]``): see results.py.

N prompts on /v1/messages, one batch (an Anthropic profile holds 100,000 requests a batch);
their results as Anthropic writes them, shuffled: 90 % succeeded (a tenth of those with
prompt-cache reads and writes), 4 % errored with overloaded_error, 3 % with
invalid_request_error, 3 % expired. Batcher applies them as the engine does (DbWorkers: parsed in
a reader thread, chunks written by the writer thread) while a heartbeat measures the event
loop, in a process settled as the window's and the CLI's are (1 ms thread turns, the start-up
heap frozen); the baseline (on a byte-identical copy of the database) reads the same file
with orjson and writes each result type with one executemany.
"""

from __future__ import annotations

import asyncio
import random
import resource
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
from results import write_output as write_openai_output
from results import write_prompts as write_openai_prompts
from stall import Heartbeat

from batcher_gui.app.process import load_for_driving, settle
from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.models import ImportOptions, ProfileKind, ProfileLimits
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.run_import import import_file
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage import open_store
from batcher_gui.storage.batch_book import BatchBook
from batcher_gui.storage.drafts import Drafts
from batcher_gui.storage.results_apply import apply_and_finish

B = BatchState
MODEL = "claude-haiku-4-5"


def write_prompts(path: Path, n: int) -> None:
    with path.open("wb") as fh:
        for i in range(n):
            fh.write(orjson.dumps({
                "custom_id": f"r{i}", "method": "POST", "url": MESSAGES_ENDPOINT,
                "body": {"model": MODEL, "max_tokens": 16, "system": "Answer with one label.",
                         "messages": [{"role": "user", "content": f"Classify item {i}"}]},
            }) + b"\n")


def _result(pid: int, draw: float) -> dict[str, Any]:
    custom_id = f"p{pid}"
    if draw < 0.90:
        usage: dict[str, Any] = {"input_tokens": 18, "output_tokens": 3,
                                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if draw < 0.09:  # a tenth of the answers met the prompt cache
            usage.update(cache_read_input_tokens=1200, cache_creation_input_tokens=300,
                         cache_creation={"ephemeral_5m_input_tokens": 100,
                                         "ephemeral_1h_input_tokens": 200})
        return {"custom_id": custom_id, "result": {"type": "succeeded", "message": {
            "id": f"msg_{pid:024d}", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": f"label {pid % 3}"}],
            "stop_reason": "end_turn", "stop_sequence": None, "usage": usage}}}
    if draw < 0.97:
        kind, message = (("overloaded_error", "Overloaded") if draw < 0.94 else
                         ("invalid_request_error", "max_tokens: must be at most 8192"))
        return {"custom_id": custom_id, "result": {"type": "errored", "error": {
            "type": "error", "error": {"type": kind, "message": message}}}}
    return {"custom_id": custom_id, "result": {"type": "expired"}}


def write_results(path: Path, first_id: int, n: int) -> None:
    rng = random.Random(17)
    order = list(range(first_id, first_id + n))
    rng.shuffle(order)  # Anthropic writes results in no particular order
    with path.open("wb") as fh:
        for pid in order:
            fh.write(orjson.dumps(_result(pid, rng.random())) + b"\n")


def baseline(db: Path, results: Path) -> float:
    """The least a reader can do: parse each line, one executemany per result type."""
    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    answers, errors = [], []
    with results.open("rb") as fh:
        for raw in fh:
            line = orjson.loads(raw)
            result = line["result"]
            pid = int(line["custom_id"][1:])
            if result["type"] == "succeeded":
                message = result["message"]
                usage = message["usage"]
                answers.append((orjson.dumps(message), usage["input_tokens"]
                                + usage["cache_read_input_tokens"]
                                + usage["cache_creation_input_tokens"],
                                usage["output_tokens"], pid))
            elif result["type"] == "errored":
                error = result["error"]["error"]
                errors.append((orjson.dumps(result["error"]),
                               f"{error['type']}: {error['message']}", pid))
    conn.executemany("UPDATE prompts SET state = 'processed', response = ?, input_tokens = ?, "
                     "output_tokens = ? WHERE id = ?", answers)
    conn.executemany("UPDATE prompts SET state = 'failed', response = ?, error = ? "
                     "WHERE id = ?", errors)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - start


async def _apply(store: Any, batch_id: int, results: Path) -> tuple[Any, float, float]:
    workers = DbWorkers()
    try:
        return await Heartbeat().measure(workers.read(
            apply_and_finish, store.db, batch_id, [results], B.COMPLETED, 3,
            write=workers.write_sync))
    finally:
        workers.close()


async def _idle() -> float:
    return (await Heartbeat().measure(asyncio.sleep(2)))[2]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _downloading(store: Any, prompts: Path, profile: str) -> int:
    """The imported prompts' batch, as if its results were just downloaded."""
    import_file(store, prompts, ImportOptions(), profile_name=profile)
    batches = [b for b in store.list_batches() if b.state is B.DRAFT]
    assert len(batches) == 1, f"{len(batches)} batches: N is above one batch's limit"
    batch_id: int = batches[0].id
    book = BatchBook(store.db)
    Drafts(store.db).seal()
    book.move(batch_id, B.READY_FOR_UPLOAD, B.UPLOADING, "bench")
    book.mark_sent(batch_id, B.UPLOADING, B.IN_PROGRESS, f"batch_{batch_id}", "bench")
    book.move(batch_id, B.IN_PROGRESS, B.DOWNLOADING, "bench", provider_status="ended")
    return batch_id


def _first_id(store: Any, batch_id: int) -> int:
    with store.db.read() as conn:
        return int(conn.exec_driver_sql("SELECT min(id) FROM prompts WHERE batch_id = ?",
                                        (batch_id,)).scalar())


def bench_claude_apply(work: Path, n: int) -> None:
    # As the window and the CLI run: 1 ms thread turns, the start-up heap frozen out of
    # garbage collections (batcher_gui.app.process)
    load_for_driving()
    settle()
    idle_ms = asyncio.run(_idle())
    store = open_store(work / "claude" / "batcher.sqlite3")
    store.add_profile("claude", ProfileKind.ANTHROPIC,
                      limits=ProfileLimits(max_requests=100_000, max_batch_bytes=256 * 10**6))
    write_prompts(work / "claude.jsonl", n)
    batch_id = _downloading(store, work / "claude.jsonl", "claude")
    results = work / "results.jsonl"
    write_results(results, _first_id(store, batch_id), n)
    store.db.close()
    raw = sqlite3.connect(work / "claude" / "batcher.sqlite3")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    shutil.copy(work / "claude" / "batcher.sqlite3", work / "baseline.sqlite3")

    # Batcher first: the peak memory then is its own (the baseline's lists come after)
    store = open_store(work / "claude" / "batcher.sqlite3")
    summary, ours_s, stall_ms = asyncio.run(_apply(store, batch_id, results))
    peak = _peak_mb()
    assert summary.processed + summary.failed + summary.retried + summary.not_run == n, summary
    base_s = baseline(work / "baseline.sqlite3", results)
    print(f"apply a Claude batch of {n:,} results ({summary.processed:,} succeeded, "
          f"{summary.failed:,} failed, {summary.retried:,} to resend, {summary.not_run:,} "
          f"expired): baseline {base_s:.2f}s ({n / base_s:,.0f}/s), batcher {ours_s:.2f}s "
          f"({n / ours_s:,.0f}/s), ratio {ours_s / base_s:.2f}x (target <= 1.50x)")
    print(f"peak memory of the whole process (setup and Batcher's apply): {peak:,.0f} MB "
          "(target < 400 MB)")

    # The same harness on OpenAI's output (in order), to tell this machine's load from ours
    store.add_profile("openai-bench", ProfileKind.OPENAI_COMPATIBLE,
                      base_url="http://127.0.0.1:9/v1",  # one batch of N, as Claude's
                      limits=ProfileLimits(max_requests=100_000, max_batch_bytes=256 * 10**6))
    write_openai_prompts(work / "openai.jsonl", n)
    openai_id = _downloading(store, work / "openai.jsonl", "openai-bench")
    write_openai_output(work / "output.jsonl", _first_id(store, openai_id), n)
    _, openai_s, openai_stall = asyncio.run(_apply(store, openai_id, work / "output.jsonl"))
    print(f"longest event-loop stall while applying: {stall_ms:.1f} ms (target < 50 ms); "
          f"the same for {n:,} OpenAI results {openai_stall:.1f} ms ({openai_s:.2f}s), an idle "
          f"loop {idle_ms:.1f} ms")
    store.db.close()
