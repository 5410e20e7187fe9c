"""Counting tokens in the background: Batcher's counter against a bare ``encode_batch``.

Usage: python bench/tokens.py [N]   (default 1,000,000 chat prompts)

Imports N chat prompts (the ingest benchmark's lines) into a fresh workspace, then:
  baseline: the same texts (every message's content) through tiktoken's ``encode_batch`` in
            one call, nothing else (texts already in memory); and, stricter, a plain loop of
            ``encode_ordinary`` over them (encode_batch's thread pool costs more than it
            saves on short texts);
  Batcher:  the engine's background counter, pass after pass until every prompt is counted:
            bodies read from SQLite, parsed, counted with the chat framing, written back with
            the per-run sums — while a heartbeat on the same event loop records the longest
            stall.
Target: ratio <= 1.3x, longest stall under 50 ms.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import generate  # noqa: E402
from stall import Heartbeat  # noqa: E402

from batcher_gui.domain.models import ImportOptions  # noqa: E402
from batcher_gui.engine.run_import import import_file  # noqa: E402
from batcher_gui.engine.token_counting import BackgroundCounter  # noqa: E402
from batcher_gui.engine.workers import DbWorkers  # noqa: E402
from batcher_gui.storage import open_store  # noqa: E402
from batcher_gui.storage.token_book import TokenBook  # noqa: E402
from batcher_gui.tokens.vocab import encoding  # noqa: E402


async def count_all(counter: BackgroundCounter) -> int:
    total = 0
    while True:
        done = await counter.run_pass()
        if not done:
            return total
        total += done


def main(n: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="batcher-tokens-"))
    data = work / "prompts.jsonl"
    generate(data, n)
    store = open_store(work / "ws" / "batcher.sqlite3")
    started = time.perf_counter()
    import_file(store, data, ImportOptions())
    print(f"setup    : {n:,} prompts imported in {time.perf_counter() - started:.1f} s")

    enc = encoding("o200k_base")
    texts = [m["content"] for line in data.open("rb")
             for m in orjson.loads(line)["body"]["messages"]]
    started = time.perf_counter()
    enc.encode_batch(texts)
    bare = time.perf_counter() - started
    print(f"baseline : encode_batch of {len(texts):,} texts in {bare:.2f} s")
    started = time.perf_counter()
    for text in texts:
        enc.encode_ordinary(text)
    loop = time.perf_counter() - started
    print(f"           (a plain loop of encode_ordinary over them: {loop:.2f} s)")

    async def ours() -> tuple[int, float, float]:
        workers = DbWorkers()
        try:
            counter = BackgroundCounter(TokenBook(store.db), workers, None)
            return await Heartbeat().measure(count_all(counter))
        finally:
            workers.close()

    counted, took, stall = asyncio.run(ours())
    assert counted == n, counted
    print(f"Batcher  : {counted:,} prompts counted and stored in {took:.2f} s, longest loop "
          f"stall {stall:.0f} ms")
    print(f"ratio    : {took / bare:.2f}x the bare encode_batch (target 1.3x); "
          f"{took / loop:.2f}x the plain loop; stall target 50 ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
