"""Checks on answers at scale: the background checker's throughput, a rules change, a restart.

Usage: python bench/checks.py [N] [--keep DIR]      (N answered prompts, default 200,000)

Builds a workspace of N chat prompts (the real import), gives every prompt an answer in SQL
(every other one a JSON object {"score": n}, the rest plain text), then measures, on an event
loop with a 5 ms heartbeat (the window's loop would be this one):
  (0) the first start after the upgrade: answers of a run without rules leave the queue;
  (1) checking every answer against a JSON Schema, from the first pass to an empty queue:
      answers per second, and the loop's longest stall;
  (2) a rules change (a regex): the reset of every result and the check again;
  (3) a restart with nothing to do: the new checker's sweep (it reads the run once to be
      sure no stale result is left) — time and stall;
  (4) the counts query behind the runs list's Checks column.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import generate  # noqa: E402
from stall import Heartbeat  # noqa: E402

from batcher_gui.app.process import settle  # noqa: E402
from batcher_gui.domain.checks import CheckRules  # noqa: E402
from batcher_gui.domain.models import ImportOptions  # noqa: E402
from batcher_gui.engine.checking import BackgroundChecker  # noqa: E402
from batcher_gui.engine.run_import import import_file  # noqa: E402
from batcher_gui.engine.workers import DbWorkers  # noqa: E402
from batcher_gui.storage import open_store  # noqa: E402
from batcher_gui.storage.checks import CheckBook  # noqa: E402
from batcher_gui.storage.views import ViewQueries  # noqa: E402

SCHEMA = {"type": "object", "required": ["score"],
          "properties": {"score": {"type": "integer", "minimum": 0}}}


def build(work: Path, n: int) -> tuple[Path, int]:
    db = work / "ws" / "batcher.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(db)
    data = work / "prompts.jsonl"
    generate(data, n)
    start = time.perf_counter()
    run = import_file(store, data, ImportOptions(), profile_name="sandbox", run_name="b").run
    with store.db.write() as conn:  # answers: JSON on odd ids, plain text on even ones
        conn.exec_driver_sql(
            "UPDATE prompts SET state = 'processed', response = CAST(CASE WHEN id % 2 THEN "
            "'{\"choices\":[{\"message\":{\"content\":\"{\\\"score\\\": ' || id || '}\"},"
            "\"finish_reason\":\"stop\"}]}' ELSE "
            "'{\"choices\":[{\"message\":{\"content\":\"Positive, mostly: ' || id || '\"},"
            "\"finish_reason\":\"stop\"}]}' END AS BLOB) WHERE run_id = ?", (run.id,))
    store.db.checkpoint()
    print(f"workspace    : {n:,} answered prompts in {time.perf_counter() - start:.1f} s")
    store.db.close()
    return db, run.id


async def drain(checker: BackgroundChecker) -> int:
    done = 0
    while True:
        n = await checker.run_pass()
        done += n
        if not checker.more:
            return done


async def measure(db: Path, run_id: int, n: int) -> None:
    store = open_store(db)
    workers = DbWorkers()
    book = CheckBook(store.db)
    beat = Heartbeat()
    try:
        # A workspace opened for the first time after the upgrade: answers of runs without
        # rules leave the queue unchecked (in bulk, no answer read).
        _, _, idle = await beat.measure(asyncio.sleep(3))
        print(f"baseline     : longest stall of an idle loop over 3 s {idle:.0f} ms "
              "(what the machine's load alone costs)")
        checker = BackgroundChecker(book, workers, None)
        done, took, stall = await beat.measure(drain(checker))
        print(f"(0) no rules : {done:,} answers taken out of the queue in {took:.1f} s; "
              f"longest loop stall {stall:.0f} ms")
        await workers.write(book.set_rules, run_id, CheckRules(schema=SCHEMA).to_json())
        done, took, stall = await beat.measure(drain(checker))
        counts = await workers.read(book.counts, run_id)
        print(f"(1) schema   : {done:,} answers checked in {took:.1f} s = "
              f"{done / took:,.0f}/s; longest loop stall {stall:.0f} ms; "
              f"{counts.passed:,} passed, {counts.failed:,} failed")

        await workers.write(book.set_rules, run_id, CheckRules(regex=r"^Positive").to_json())
        done, took, stall = await beat.measure(drain(checker))
        print(f"(2) changed  : reset + {done:,} checked again in {took:.1f} s = "
              f"{done / took:,.0f}/s; longest loop stall {stall:.0f} ms")

        fresh = BackgroundChecker(book, workers, None)
        done, took, stall = await beat.measure(drain(fresh))
        print(f"(3) restart  : sweep with nothing stale in {took * 1000:.0f} ms "
              f"({done} changed); longest loop stall {stall:.0f} ms")

        views = ViewQueries(db)
        start = time.perf_counter()
        overview = next(o for o in views.run_overviews() if o.run.id == run_id)
        took = time.perf_counter() - start
        words = overview.checks.words() if overview.checks else "none"
        print(f"(4) runs list: run overviews with Checks {words} in {took * 1000:.0f} ms")
    finally:
        workers.close()
        store.db.close()
    size = db.stat().st_size
    print(f"disk         : {size / 1e6:,.0f} MB for {n:,} prompts")


def main() -> None:
    settle()  # the window's thread turns (1 ms), as in the app
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the workspace here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-checks-"))
    try:
        db, run_id = build(work, args.n)
        asyncio.run(measure(db, run_id, args.n))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
