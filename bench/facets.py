"""Facets and labels on a million-prompt run: what the facets panel and the number keys cost.

Usage: python bench/facets.py [N] [--keep DIR]      (N prompts, default 1,000,000)

Builds a run of N prompts with the real import, then gives it what a reviewed run has: every
prompt answered (a response body of a few hundred bytes, finish reason stop/length), a third
failed with an error kind, checks on half of them, 2% labelled and 0.2% noted. Then prints:
  (1) facet counts (every facet, each under every filter but its own) with no filter, with a
      label chosen, with a state chosen, with "no label" chosen, and with a search (one
      grouped scan) — target ~1 s at 1,000,000;
  (2) labelling one prompt, and 10,000 selected at once, and undoing those (the writes the
      number keys and Ctrl+Z make) — a label must feel instant.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import generate  # noqa: E402

from batcher_gui.domain.models import ImportOptions  # noqa: E402
from batcher_gui.domain.states import PromptState  # noqa: E402
from batcher_gui.domain.views import CheckState, PromptQuery  # noqa: E402
from batcher_gui.engine.run_import import import_file  # noqa: E402
from batcher_gui.storage import open_store  # noqa: E402
from batcher_gui.storage.facets import FACETS_INDEX, FACETS_INDEX_SQL  # noqa: E402
from batcher_gui.storage.review import Review  # noqa: E402
from batcher_gui.storage.views import ViewQueries  # noqa: E402


def build(work: Path, n: int) -> Path:
    db_path = work / "ws" / "batcher.sqlite3"
    if db_path.exists():
        print(f"workspace : reusing {db_path}")
        return db_path
    data = work / "prompts.jsonl"
    generate(data, n)
    store = open_store(db_path)
    start = time.perf_counter()
    import_file(store, data, ImportOptions(), run_name="million")
    print(f"workspace : {n:,} prompts imported in {time.perf_counter() - start:.1f} s")
    store.db.close()
    start = time.perf_counter()
    conn = sqlite3.connect(db_path)
    rnd = random.Random(18)
    conn.create_function("r", 0, rnd.random)
    answer = ('{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant",'
              '"content":"positive, with a short reason why it is so"}}],"usage":'
              '{"prompt_tokens":40,"completion_tokens":9}}')
    conn.execute("UPDATE prompts SET state = CASE WHEN id % 3 = 0 THEN 'failed' ELSE "
                 "'processed' END, response = CASE WHEN id % 3 = 0 THEN NULL ELSE ? END, "
                 "finish_reason = CASE WHEN id % 3 = 0 THEN NULL WHEN id % 50 = 1 THEN 'length' "
                 "ELSE 'stop' END, error_kind = CASE WHEN id % 3 = 0 THEN CASE WHEN id % 7 = 0 "
                 "THEN 'expired' ELSE 'invalid_request_error' END END, "
                 "check_state = CASE WHEN id % 3 != 0 AND id % 2 = 0 THEN (id % 5 != 0) END, "
                 "label = CASE WHEN r() < 0.02 THEN 1 + abs(random()) % 3 END, "
                 "note = CASE WHEN r() < 0.002 THEN 'look again' END", (answer.encode(),))
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(f"reviewed  : answers, checks, labels and notes set in "
          f"{time.perf_counter() - start:.1f} s")
    return db_path


def timed(label: str, fn: object, *args: object, target: float | None = None) -> object:
    start = time.perf_counter()
    result = fn(*args)  # type: ignore[operator]
    took = time.perf_counter() - start
    goal = f"  (target < {target * 1000:.0f} ms)" if target else ""
    print(f"{label:<52} {took * 1000:8.1f} ms{goal}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the workspace here")
    parser.add_argument("--covering", action="store_true",
                        help="also measure with the proposed covering index of the facet "
                             "columns (storage.facets.FACETS_INDEX_SQL; not in the schema yet)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="batcher-bench-facets-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        db_path = build(work, args.n)
        measure(db_path, args.n)
        if args.covering:
            conn = sqlite3.connect(db_path)
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?",
                                (FACETS_INDEX,)).fetchone():
                start = time.perf_counter()
                before = db_path.stat().st_size
                conn.execute(FACETS_INDEX_SQL)
                conn.commit()
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                print(f"covering index of the facet columns: built in "
                      f"{time.perf_counter() - start:.1f} s, "
                      f"{(db_path.stat().st_size - before) / 1e6:,.0f} MB")
            conn.close()
            measure(db_path, args.n)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def measure(db_path: Path, n: int) -> None:
    views = ViewQueries(db_path)
    run_id = views.run_overviews()[0].run.id
    q = PromptQuery(run_id=run_id)
    print(f"facets on {n:,} prompts (each facet under every filter but its own):")
    for label, query in (
            ("no filter", q),
            ("label 'good' chosen", PromptQuery(run_id=run_id, labels=(1,))),
            ("state 'failed' chosen", PromptQuery(run_id=run_id,
                                                  states=(PromptState.FAILED,))),
            ("check 'failed' + finish 'length'",
             PromptQuery(run_id=run_id, checks=(CheckState.FAILED,),
                         finish_reasons=("length",))),
            ("'no label' chosen", PromptQuery(run_id=run_id, labels=(0,))),
            ("search 'omega' (one grouped scan)", PromptQuery(run_id=run_id, text="omega")),
    ):
        timed(f"  {label}", views.facet_counts, query, target=1.0)
    got = views.facet_counts(q)
    print(f"  counts: labels {dict(sorted(got.labels.items()))}, checks "
          f"{ {k.value: v for k, v in got.checks.items()} }, notes {got.notes}")
    views.close()
    store = open_store(db_path)
    review = Review(store.db)
    with store.db.read() as conn:
        ids = [i for (i,) in conn.exec_driver_sql(
            "SELECT id FROM prompts WHERE run_id = ? LIMIT 10000", (run_id,))]
    print("labels (the writes behind the number keys and Ctrl+Z):")
    timed("  label one prompt", review.set_label, ids[:1], 2, target=0.05)
    before = timed("  label 10,000 selected prompts", review.set_label, ids, 3)
    timed("  undo that (10,000 put back)", review.restore, before)
    store.db.close()
    size = db_path.stat().st_size
    print(f"workspace : {size / 1e6:,.0f} MB on disk ({size / n:,.0f} bytes/prompt)")


if __name__ == "__main__":
    sys.exit(main())
