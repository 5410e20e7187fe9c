"""Give a benchmark workspace's prompts answers, in SQL (what a finished run looks like to the
views: a chat completion per prompt, its tokens, its finish reason), without a provider.

Usage: python bench/answers.py DATABASE [--every K]   (answer every K-th prompt; default all)
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

#: Answers come in three kinds; one prompt in 100,000 gets the rare word "zanzibar".
_ANSWER = ("'The sentiment is ' || CASE id % 3 WHEN 0 THEN 'positive' WHEN 1 THEN 'negative' "
           "ELSE 'neutral' END || ', mostly because of word' || (id % 997) || "
           "CASE WHEN id % 100000 = 7 THEN ' zanzibar' ELSE '' END || '.'")


def answer(database: Path, every: int = 1, chunk: int = 100_000) -> int:
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    high = conn.execute("SELECT coalesce(max(id), 0) FROM prompts").fetchone()[0]
    done = 0
    for low in range(0, high + 1, chunk):
        conn.execute("BEGIN")
        cur = conn.execute(
            "UPDATE prompts SET state = 'processed', finish_reason = 'stop', "
            "input_tokens = 20 + abs(random() % 400), output_tokens = 3 + abs(random() % 60), "
            "response = CAST(json_object('id', 'chatcmpl-' || id, 'object', 'chat.completion', "
            "'model', model, 'choices', json_array(json_object('index', 0, 'message', "
            f"json_object('role', 'assistant', 'content', {_ANSWER}), 'finish_reason', "
            "'stop'))) AS BLOB) WHERE id >= ? AND id < ? AND id % ? = 0",
            (low, low + chunk, every))
        done += cur.rowcount
        conn.execute("COMMIT")
    conn.close()
    return done


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", type=Path)
    parser.add_argument("--every", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    n = answer(args.database, args.every)
    print(f"answered {n:,} prompts in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
