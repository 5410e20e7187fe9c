"""The window's reads on a PostgreSQL workspace of many prompts (the views' queries, no window).

Usage: python bench/pg_views.py [N] [--database URL]      (N prompts, default 1,000,000)

Without --database a throwaway server is started (tests/pg_cluster.py: Debian's postgresql,
fsync off) and removed at the end. The run is made with the real import of 1,000 prompts,
then multiplied in SQL to N (each prompt a chat request with an answer of a few hundred bytes;
a tenth failed, 2 % labelled), then ANALYZEd. Prints, each the best of 3, in milliseconds:
the count, the first page (200 rows) in import order and in each sort both ways, with a state
filter, a rare and a common word searched (a scan: no search index on PostgreSQL), the id
snapshot, facet counts, the runs overview, and the data_version poll the window makes every
second. Then again with the indexes that could still be added (``PROPOSED``), and how long
they took to build. The
same queries on SQLite are in bench/ui.py (README: "A million prompts").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import generate  # noqa: E402

from batcher_gui.domain.models import ImportOptions  # noqa: E402
from batcher_gui.domain.states import PromptState  # noqa: E402
from batcher_gui.domain.views import PromptQuery, PromptSort  # noqa: E402
from batcher_gui.engine.run_import import import_file  # noqa: E402
from batcher_gui.storage import open_store  # noqa: E402
from batcher_gui.storage.views import ViewQueries  # noqa: E402

_ANSWER = ('{"choices": [{"index": 0, "message": {"role": "assistant", "content": '
           '"The verdict for item '"' || g || '"' is positive: the text reads as a calm, '
           'well-argued review with a clear recommendation and no sarcasm."}, '
           '"finish_reason": "stop"}], "usage": {"prompt_tokens": 31, "completion_tokens": 24}}')


#: Indexes that could still be added to a PostgreSQL workspace. SQLite's indexes end in the
#: rowid (``id``) by themselves, so (run_id, model) walks a model's prompts in id order;
#: PostgreSQL's must say so, or a sort with ``id`` as its tie-breaker sorts every prompt of a
#: long tie. Migration 0012 made the state, model and token sort indexes end in id; these two
#: (import order, and a sort by update time, which the window does not offer) are not made.
PROPOSED = {"ix_prompts_run_id": "run_id, id",
            "ix_prompts_run_updated_at_id": "run_id, updated_at, id"}


def add_proposed(url: str) -> None:
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for name, columns in PROPOSED.items():
            conn.execute(f"CREATE INDEX {name} ON prompts ({columns})")  # type: ignore[arg-type]
        conn.execute("ANALYZE prompts")
    print(f"\nproposed indexes: built in {time.perf_counter() - start:.1f} s; again:")


def build(url: str, n: int, work: Path) -> int:
    store = open_store(work / "local.sqlite3", url)
    data = work / "seed.jsonl"
    generate(data, 1000)
    start = time.perf_counter()
    run = import_file(store, data, ImportOptions(), profile_name="sandbox", run_name="big").run
    with store.db.write() as conn:
        columns = [c for (c,) in conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = 'prompts' ORDER BY ordinal_position")]
        made = {"id": "(SELECT max(id) FROM prompts) + g", "user_custom_id": "'item-' || g",
                "line_no": "g", "updated_at": "p.updated_at + g",
                "response": f"convert_to('{_ANSWER}', 'UTF8')",
                "state": "CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'processed' END",
                "error": "CASE WHEN g % 10 = 0 THEN 'boom' END",
                "label": "CASE WHEN g % 50 = 0 THEN 1 END",
                "input_tokens": "31", "output_tokens": "g % 97"}
        select = ", ".join(f"{made[c]}" if c in made else f"p.{c}" for c in columns)
        first = conn.exec_driver_sql("SELECT min(id) FROM prompts WHERE run_id = ?",
                                     (run.id,)).scalar()
        conn.exec_driver_sql(
            f"INSERT INTO prompts ({', '.join(columns)}) SELECT {select} FROM prompts p, "
            f"generate_series(1, {n - 1000}) AS g WHERE p.id = {first}")
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('prompts', 'id'), "
                             "(SELECT max(id) FROM prompts))")
        conn.exec_driver_sql("UPDATE runs SET prompt_count = (SELECT count(*) FROM prompts "
                             "WHERE run_id = ?) WHERE id = ?", (run.id, run.id))
    with store.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    store.db.close()
    print(f"workspace     : {n:,} prompts made in {time.perf_counter() - start:.1f} s")
    return run.id


def best(fn: Callable[[], Any], times: int = 3) -> tuple[float, Any]:
    out, result = [], None
    for _ in range(times):
        start = time.perf_counter()
        result = fn()
        out.append((time.perf_counter() - start) * 1000)
    return min(out), result


def measure(url: str, run_id: int) -> None:
    views = ViewQueries(url)
    try:
        q = PromptQuery(run_id=run_id)
        ms, n = best(lambda: views.count(q))
        print(f"count         : {ms:8.1f} ms  ({n:,} prompts)")
        ms, _ = best(lambda: views.page(q, 0, 200))
        print(f"first page    : {ms:8.1f} ms  (import order)")
        ms, ids = best(lambda: views.ids(q))
        print(f"id snapshot   : {ms:8.1f} ms  ({len(ids):,} ids)")
        ms, _ = best(lambda: views.rows(list(ids[len(ids) // 2:len(ids) // 2 + 200])))
        print(f"a page by ids : {ms:8.1f} ms  (200 rows mid-run)")
        for sort in PromptSort:
            for desc in (False, True):
                s = PromptQuery(run_id=run_id, sort=sort, descending=desc)
                ms, _ = best(lambda s=s: views.page(s, 0, 200))
                print(f"sort {sort.value + (' desc' if desc else ''):15s}: {ms:8.1f} ms")
        failed = PromptQuery(run_id=run_id, states=(PromptState.FAILED,))
        ms, _ = best(lambda: views.page(failed, 0, 200))
        cms, n = best(lambda: views.count(failed))
        print(f"state filter  : {ms:8.1f} ms first page, {cms:.1f} ms count ({n:,})")
        for word in ("item-777777", "calm"):
            s = PromptQuery(run_id=run_id, text=word)
            ms, _ = best(lambda s=s: views.page(s, 0, 200), times=1)
            cms, n = best(lambda s=s: views.count(s), times=1)
            print(f"search {word:12s}: {ms:8.1f} ms first page, {cms:.1f} ms count ({n:,}; "
                  "a scan)")
        ms, _ = best(lambda: views.facet_counts(q))
        print(f"facet counts  : {ms:8.1f} ms")
        ms, _ = best(lambda: views.run_overviews())
        print(f"runs overview : {ms:8.1f} ms")
        views.data_version()
        ms, _ = best(views.data_version, times=10)
        print(f"data_version  : {ms:8.1f} ms  (the window's poll, every second)")
    finally:
        views.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--database", help="an empty PostgreSQL database (else a throwaway "
                                           "server)")
    args = parser.parse_args()
    cluster = None
    with tempfile.TemporaryDirectory(prefix="batcher-pgviews-") as tmp:
        if args.database:
            url = args.database
        else:
            from tests.pg_cluster import PgCluster

            cluster = PgCluster()
            url = cluster.new_database()
        try:
            run_id = build(url, args.n, Path(tmp))
            measure(url, run_id)
            add_proposed(url)
            measure(url, run_id)
        finally:
            if cluster is not None:
                cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
