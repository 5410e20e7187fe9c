"""Import benchmark: `batcher import` vs a bare orjson + sqlite3.executemany loop on one file.

Usage: python bench/ingest.py N [--keep DIR] [--database URL|pg]

Prints both rates, the time ratio (target: Batcher <= 1.5x the baseline) and both processes' peak
memory (target: Batcher < 400 MB). Each side runs in its own fresh process and fresh database,
alternately, --rounds times; the best run of each side counts.

With ``--database``, both sides write to PostgreSQL: Batcher imports into a team workspace
(``batcher --database URL import``), the baseline is a bare ``COPY`` of the same rows into a
plain table. ``--database pg`` starts a throwaway server for the run (tests/pg_cluster.py);
with a URL, its server must let that login create databases (one per side and round, dropped
at the end).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

BASELINE = r"""
import sqlite3, sys, orjson
path, db = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=NORMAL")
conn.execute("CREATE TABLE prompts (id INTEGER PRIMARY KEY, custom_id TEXT, endpoint TEXT,"
             " model TEXT, state TEXT, body BLOB)")
conn.execute("BEGIN")
rows = []
with open(path, "rb") as f:
    for raw in f:
        obj = orjson.loads(raw)
        rows.append((obj["custom_id"], obj["url"], obj["body"]["model"], "pending",
                     orjson.dumps(obj["body"])))
        if len(rows) >= 5000:
            conn.executemany("INSERT INTO prompts (custom_id, endpoint, model, state, body)"
                             " VALUES (?, ?, ?, ?, ?)", rows)
            rows.clear()
conn.executemany("INSERT INTO prompts (custom_id, endpoint, model, state, body)"
                 " VALUES (?, ?, ?, ?, ?)", rows)
conn.execute("COMMIT")
print(conn.execute("SELECT count(*) FROM prompts").fetchone()[0])
"""

PG_BASELINE = r"""
import sys, orjson, psycopg
path, url = sys.argv[1], sys.argv[2]
with psycopg.connect(url) as conn:
    conn.execute("CREATE TABLE prompts (id serial PRIMARY KEY, custom_id text, endpoint text,"
                 " model text, state text, body bytea)")
    with conn.cursor() as cur, cur.copy("COPY prompts (custom_id, endpoint, model, state, body)"
                                        " FROM STDIN") as copy:
        with open(path, "rb") as f:
            for raw in f:
                obj = orjson.loads(raw)
                copy.write_row((obj["custom_id"], obj["url"], obj["body"]["model"], "pending",
                                orjson.dumps(obj["body"])))
    conn.commit()
    print(conn.execute("SELECT count(*) FROM prompts").fetchone()[0])
"""

WORDS = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi",
    "psi", "omega",
]


def generate(path: Path, n: int) -> None:
    rng = random.Random(42)
    with path.open("wb") as f:
        for i in range(n):
            text = " ".join(rng.choices(WORDS, k=rng.randint(8, 30)))
            line = {
                "custom_id": f"request-{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": "gpt-4o-mini",
                    "messages": [
                        {"role": "system", "content": "Classify the sentiment of the text."},
                        {"role": "user", "content": text},
                    ],
                    "max_tokens": 50,
                },
            }
            f.write(orjson.dumps(line) + b"\n")


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak RSS of that process in MB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    # wait4 gives this child's own rusage (getrusage(RUSAGE_CHILDREN) is a max over all).
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with exit code {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024, out


class PgServer:
    """Fresh databases on a PostgreSQL server: a throwaway one (``pg``) or the URL's."""

    def __init__(self, target: str) -> None:
        self.cluster = None
        if target == "pg":
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
            from tests.pg_cluster import PgCluster

            self.cluster = PgCluster()
            self.admin_url = self.cluster.url("postgres")
        else:
            self.admin_url = target
        self.made: list[str] = []

    def url(self, name: str) -> str:
        """A new empty database's URL (any old one of that name dropped first)."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")  # type: ignore[arg-type]
            conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        self.made.append(name)
        base, _, _ = self.admin_url.partition("?")
        return f"{base.rsplit('/', 1)[0]}/{name}"

    def close(self) -> None:
        import psycopg

        if self.cluster is not None:
            self.cluster.stop()
            return
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.made:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--keep", help="keep the generated files in this folder")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each side")
    parser.add_argument("--database", help="PostgreSQL: a server's URL, or pg for a throwaway one")
    args = parser.parse_args()
    server = PgServer(args.database) if args.database else None
    try:
        return _bench(args, server)
    finally:
        if server is not None:
            server.close()


def _bench(args: argparse.Namespace, server: PgServer | None) -> int:
    work = Path(args.keep or tempfile.mkdtemp(prefix="batcher-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "prompts.jsonl"
    t = time.perf_counter()
    generate(data, args.n)
    size_mb = data.stat().st_size / 1e6
    print(f"generated {args.n:,} lines ({size_mb:.0f} MB) in {time.perf_counter() - t:.1f}s")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    batcher = str(Path(sys.executable).with_name("batcher"))

    # Alternate the two, each on a fresh database, and keep each one's best run: the machines
    # here are shared, and dirty pages left by one run slow the next (hence os.sync()).
    base_runs, ours_runs = [], []
    base_mb = ours_mb = 0.0
    for round_no in range(args.rounds):
        for old in work.glob(f"baseline{round_no}.sqlite3*"):
            old.unlink()
        shutil.rmtree(work / f"ws{round_no}", ignore_errors=True)
        if server is not None:
            baseline = [sys.executable, "-c", PG_BASELINE, str(data),
                        server.url(f"bench_copy_{round_no}")]
            workspace = ["--database", server.url(f"bench_ws_{round_no}")]
        else:
            baseline = [sys.executable, "-c", BASELINE, str(data),
                        str(work / f"baseline{round_no}.sqlite3")]
            workspace = []
        os.sync()
        seconds, base_mb, out = timed(baseline, env)
        assert int(out.strip()) == args.n, out
        base_runs.append(seconds)
        os.sync()
        seconds, ours_mb, out = timed(
            [batcher, "--data-dir", str(work / f"ws{round_no}"), *workspace, "import", str(data),
             "--name", "bench"], env)
        ours_runs.append(seconds)
    print(out.strip())
    print("runs     : baseline " + ", ".join(f"{x:.2f}s" for x in base_runs)
          + " | batcher " + ", ".join(f"{x:.2f}s" for x in ours_runs))
    base_s, ours_s = min(base_runs), min(ours_runs)
    if server is not None:
        print("database : PostgreSQL (baseline: a bare COPY into a plain table)")
    print(f"baseline : {base_s:7.2f}s  {args.n / base_s:10,.0f} lines/s  peak {base_mb:6.0f} MB")
    print(f"batcher  : {ours_s:7.2f}s  {args.n / ours_s:10,.0f} lines/s  peak {ours_mb:6.0f} MB")
    ratio = ours_s / base_s
    print(f"ratio    : {ratio:.2f}x the baseline's time (target <= 1.50x)")
    print(f"memory   : {'OK' if ours_mb < 400 else 'OVER'} (target < 400 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
