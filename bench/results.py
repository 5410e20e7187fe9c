"""Result-application benchmark, and the whole lifecycle of a large run on the sandbox.

Usage: python bench/results.py [N_RESULTS] [N_LIFECYCLE]
       python bench/results.py --anthropic [N_RESULTS]

(a) Applies an N-line output file to an N-prompt batch with Batcher (classification, audit rows,
    state checks, one transaction) and, on a byte-identical copy of the same database, a bare
    baseline: orjson parse + one executemany UPDATE by primary key. Prints both and the ratio
    (target <= 1.5x).
(b) Imports N_LIFECYCLE prompts and runs them through the in-process sandbox with instant
    processing: import -> seal -> upload -> create -> poll -> download -> apply. Prints the time
    and the process's peak memory (target < 400 MB for 1,000,000 prompts).
(--anthropic) Applies an N-result Claude batch (default 100,000): Anthropic's raw results lines
    (mixed succeeded / errored / expired, shuffled) to an N-prompt /v1/messages batch, the way
    the engine does (parsing in a reader thread, chunks written by the writer thread) while an
    event loop ticks, against a bare baseline on a copy of the same database (read JSONL ->
    orjson -> executemany, per result type). Prints the ratio (target <= 1.5x), the longest
    stall of the event loop while it applies (target < 50 ms) and the process's peak memory
    (target < 400 MB).
"""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import orjson

from batcher_gui.domain.models import ImportOptions, ProfileKind
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.engine import Engine
from batcher_gui.engine.run_import import import_file
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.providers import make_provider
from batcher_gui.sandbox import SandboxConfig, SandboxServer
from batcher_gui.storage import open_store
from batcher_gui.storage.batch_book import BatchBook
from batcher_gui.storage.drafts import Drafts
from batcher_gui.storage.results_apply import apply_and_finish

B = BatchState


def write_prompts(path: Path, n: int) -> None:
    with path.open("wb") as fh:
        for i in range(n):
            fh.write(orjson.dumps({
                "custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": "gpt-4o-mini",
                         "messages": [{"role": "user", "content": f"Classify item {i}"}]},
            }) + b"\n")


def write_output(path: Path, first_id: int, n: int) -> None:
    with path.open("wb") as fh:
        for k in range(n):
            pid = first_id + n - 1 - k  # reverse order: providers do not keep input order
            body = {"id": f"chatcmpl-{pid}", "object": "chat.completion", "created": 1,
                    "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f"label {pid % 3}"}}],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}}
            fh.write(orjson.dumps({"id": f"batch_req_{pid}", "custom_id": f"p{pid}",
                                   "response": {"status_code": 200, "request_id": f"req_{pid}",
                                                "body": body}, "error": None}) + b"\n")


def baseline(db: Path, output: Path) -> float:
    start = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    rows = []
    with output.open("rb") as fh:
        for raw in fh:
            line = orjson.loads(raw)
            body = line["response"]["body"]
            rows.append((orjson.dumps(body), body["usage"]["prompt_tokens"],
                         body["usage"]["completion_tokens"], int(line["custom_id"][1:])))
    conn.executemany("UPDATE prompts SET state = 'processed', response = ?, input_tokens = ?, "
                     "output_tokens = ? WHERE id = ?", rows)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - start


def bench_apply(work: Path, n: int) -> None:
    store = open_store(work / "apply" / "batcher.sqlite3")
    write_prompts(work / "in.jsonl", n)
    import_file(store, work / "in.jsonl", ImportOptions())
    batch = store.list_batches()[0]
    book = BatchBook(store.db)
    Drafts(store.db).seal()
    book.move(batch.id, B.READY_FOR_UPLOAD, B.UPLOADING, "bench")
    book.mark_sent(batch.id, B.UPLOADING, B.IN_PROGRESS, "batch_bench", "bench")
    book.move(batch.id, B.IN_PROGRESS, B.DOWNLOADING, "bench", provider_status="completed")
    with store.db.read() as conn:
        first = conn.exec_driver_sql("SELECT min(id) FROM prompts").scalar()
    output = work / "output.jsonl"
    write_output(output, first, n)
    store.db.close()
    raw = sqlite3.connect(work / "apply" / "batcher.sqlite3")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    shutil.copy(work / "apply" / "batcher.sqlite3", work / "baseline.sqlite3")

    base_s = baseline(work / "baseline.sqlite3", output)
    store = open_store(work / "apply" / "batcher.sqlite3")
    start = time.perf_counter()
    summary = apply_and_finish(store.db, batch.id, [output], B.COMPLETED, 3)
    ours_s = time.perf_counter() - start
    assert summary.processed == n, summary
    print(f"apply {n:,} results: baseline {base_s:.2f}s ({n / base_s:,.0f}/s), "
          f"batcher {ours_s:.2f}s ({n / ours_s:,.0f}/s), ratio {ours_s / base_s:.2f}x "
          "(target <= 1.50x)")
    store.db.close()


async def bench_lifecycle(work: Path, n: int) -> None:
    server = SandboxServer(work / "sandbox", SandboxConfig(instant=True))
    await server.start()
    store = open_store(work / "life" / "batcher.sqlite3")
    profile = store.add_profile("bench", ProfileKind.OPENAI_COMPATIBLE, base_url=server.base_url)
    write_prompts(work / "life.jsonl", n)
    engine = Engine(store, lambda p: make_provider(p, server.token, base_url=server.base_url),
                    work / "life" / "batches", work / "life" / "results",
                    EngineSettings(poll_interval=0, quiet_seconds=0, tick=0.01))
    start = time.perf_counter()
    import_file(store, work / "life.jsonl", ImportOptions(), profile_name=profile.name)
    imported = time.perf_counter() - start
    idle = await engine.run(until_idle=True, timeout=600)
    total = time.perf_counter() - start
    await engine.close()
    await server.stop()
    status = store.status().runs[0].prompts_by_state
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"lifecycle of {n:,} prompts on the instant sandbox: {total:.1f}s "
          f"(import {imported:.1f}s), idle={idle}, prompts {json.dumps(status)}")
    print(f"peak memory of the whole process (engine and the sandbox in it): {peak:,.0f} MB "
          "(target < 400 MB)")
    store.db.close()


def main() -> int:
    args = sys.argv[1:]
    anthropic = "--anthropic" in args
    numbers = [int(a) for a in args if a != "--anthropic"]
    work = Path(tempfile.mkdtemp(prefix="batcher-bench-results-"))
    try:
        if anthropic:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from claude_results import bench_claude_apply

            bench_claude_apply(work, numbers[0] if numbers else 100_000)
            return 0
        n_apply = numbers[0] if numbers else 50_000
        n_life = numbers[1] if len(numbers) > 1 else 100_000
        bench_apply(work, n_apply)
        asyncio.run(bench_lifecycle(work, n_life))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
