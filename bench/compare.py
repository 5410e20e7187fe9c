"""Compare benchmark: two runs of N prompts with answers, compared as the window does.

Usage: python bench/compare.py [N] [--keep DIR]      (N prompts per run, default 1,000,000)

Builds a workspace with the real import (``batcher import``, twice: two models), stores an
answer for every prompt (in SQL, as results would be: chat completions; run B differs from A on
one prompt in five, in case only on one in fifty, fails one in a thousand; one answer in ten is
JSON), then measures in one process:
  (1) the compare view's first page (pairs read straight from the runs; target < 200 ms);
  (2) the agreement counts: every pair built and classified (target < 2 s), and how soon the
      counts of the first 50,000 pairs are shown (while the rest is built);
  (3) the filter Different: first page (target < 200 ms) and its whole position list;
  (4) the process's peak memory (target < 400 MB);
and, as a bare baseline, a plain SQL join of the two runs by custom_id counting equal
response bodies (no answer text, no normalising, no JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

BATCHER = str(Path(sys.executable).with_name("batcher"))


def write_prompts(path: Path, n: int) -> None:
    with path.open("wb") as fh:
        for start in range(0, n, 50_000):
            fh.write(b"".join(orjson.dumps({
                "custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": "gpt-4o-mini",
                         "messages": [{"role": "user", "content": f"Classify item {i}"}]},
            }) + b"\n" for i in range(start, min(n, start + 50_000))))


_ANSWER = """CASE WHEN {i} % 10 = 9 THEN '{{"label": "' || ({i} % {m}) || '", "score": '
  || ({i} % 3) || '}}' ELSE 'The answer to item ' || {i} || ' is ' || ({i} % {m}) || '.' END"""


def store_answers(database: Path, run_id: int, *, b_side: bool) -> None:
    i = "CAST(substr(user_custom_id, 2) AS INTEGER)"
    text = _ANSWER.format(i=i, m=7)
    if b_side:  # one in five differs, one in fifty only in case, one in a thousand fails
        text = (f"CASE WHEN {i} % 5 = 0 THEN {_ANSWER.format(i=i, m=11)} "
                f"WHEN {i} % 50 = 1 THEN upper({text}) ELSE {text} END")
    response = ("CAST(json_object('id', 'chatcmpl-' || id, 'object', 'chat.completion', "
                "'choices', json_array(json_object('index', 0, 'message', json_object('role', "
                f"'assistant', 'content', {text}), 'finish_reason', 'stop')), 'usage', "
                "json_object('prompt_tokens', 12, 'completion_tokens', 9)) AS BLOB)")
    conn = sqlite3.connect(database)
    conn.execute(f"UPDATE prompts SET state = 'processed', response = {response}, "
                 "input_tokens = 12, output_tokens = 9, finish_reason = 'stop' "
                 "WHERE run_id = ?", (run_id,))
    if b_side:
        conn.execute(f"UPDATE prompts SET state = 'failed', response = NULL, error = 'boom', "
                     f"input_tokens = NULL, output_tokens = NULL WHERE run_id = ? AND {i} % 1000 "
                     "= 3", (run_id,))
    conn.commit()
    conn.close()


def build(work: Path, n: int) -> Path:
    ws = work / "ws"
    if (ws / "batcher.sqlite3").exists():
        print(f"workspace      : reusing {ws}")
        return ws
    work.mkdir(parents=True, exist_ok=True)
    data = work / "prompts.jsonl"
    write_prompts(data, n)
    start = time.perf_counter()
    for name, model in (("A", "gpt-4o-mini"), ("B", "gpt-4o")):
        subprocess.run([BATCHER, "--data-dir", str(ws), "import", str(data), "--profile",
                        "sandbox", "--model", model, "--name", name], check=True,
                       stdout=subprocess.DEVNULL)
    imported = time.perf_counter() - start
    store_answers(ws / "batcher.sqlite3", 1, b_side=False)
    store_answers(ws / "batcher.sqlite3", 2, b_side=True)
    print(f"workspace      : 2 x {n:,} prompts imported in {imported:.1f} s, answers stored in "
          f"{time.perf_counter() - start - imported:.1f} s "
          f"({(ws / 'batcher.sqlite3').stat().st_size / 1e6:,.0f} MB)")
    return ws


def baseline(database: Path) -> tuple[float, int]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    start = time.perf_counter()
    same = conn.execute("SELECT count(*) FROM prompts a JOIN prompts b ON b.run_id = 2 AND "
                        "b.user_custom_id = a.user_custom_id WHERE a.run_id = 1 AND "
                        "a.response = b.response").fetchone()[0]
    took = time.perf_counter() - start
    conn.close()
    return took, same


async def measure(database: Path) -> None:
    from batcher_gui.app.compare import Comparison
    from batcher_gui.domain.compare import CompareFilter

    start = time.perf_counter()
    comparison = await Comparison.open(database, 1, 2)
    opened = time.perf_counter() - start
    start = time.perf_counter()
    first = await comparison.preview(200)
    first_ms = (time.perf_counter() - start) * 1000
    assert first is not None and len(first) == 200
    print(f"open compare   : {opened * 1000:6.0f} ms (two read connections)")
    print(f"first page     : {first_ms:6.0f} ms (200 pairs; target < 200)")
    start = time.perf_counter()
    first_counts: list[float] = []

    def so_far(_summary: object) -> None:
        if not first_counts:
            first_counts.append(time.perf_counter() - start)

    summary = await comparison.build(partial=so_far)
    built = time.perf_counter() - start
    print(f"first counts   : {first_counts[0]:6.2f} s  (agreement of the first 50,000 pairs, "
          "shown while the rest is built)")
    print(f"agreement      : {built:6.2f} s  (every pair built and counted; target < 2)")
    for line in summary.lines()[:3]:
        print(f"                 {line}")
    start = time.perf_counter()
    different = await comparison.pair_page(CompareFilter.DIFFERENT, 0, 200)
    diff_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    positions = await comparison.positions(CompareFilter.DIFFERENT)
    snap_ms = (time.perf_counter() - start) * 1000
    print(f"filter Differ. : first page {diff_ms:6.0f} ms (target < 200); all {len(positions):,} "
          f"positions {snap_ms:6.0f} ms")
    start = time.perf_counter()
    rows = await comparison.pairs_at(positions[len(positions) // 2:len(positions) // 2 + 200])
    print(f"a middle page  : {(time.perf_counter() - start) * 1000:6.0f} ms ({len(rows)} pairs)")
    assert len(different) == 200
    await comparison.aclose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--keep", metavar="DIR", help="build (or reuse) the workspace here")
    args = parser.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="batcher-cmp-"))
    try:
        ws = build(work, args.n)
        database = ws / "batcher.sqlite3"
        took, same = baseline(database)
        print(f"baseline       : {took:6.2f} s  (plain SQL join by custom_id, equal bodies: "
              f"{same:,})")
        asyncio.run(measure(database))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory    : {peak:6.0f} MB (target < 400)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
