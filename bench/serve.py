"""`batcher serve` figures: start-up, /healthz and /metrics latency on a large workspace, stop.

Usage: python bench/serve.py N [--database postgresql://...] [--keep DIR]

Imports N prompts with `batcher import` (they wait in draft batches: nothing is sent), starts
`batcher serve` as a process and prints: seconds to the listening line and to driving, the
median and worst of 20 GETs of /healthz and of /metrics (whose counts are SQL aggregates over
the N prompts, checked against N), and seconds from SIGTERM to exit (and its exit code).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BATCHER = str(Path(sys.executable).with_name("batcher"))
ENV = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
       "NO_PROXY": "127.0.0.1,localhost"}


def write_prompts(path: Path, n: int) -> None:
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"custom_id": f"p{i}", "method": "POST",
                                "url": "/v1/chat/completions",
                                "body": {"model": "gpt-4o-mini", "messages": [
                                    {"role": "user", "content": f"question number {i}"}]}})
                    + "\n")


def timed_gets(url: str, times: int = 20) -> tuple[float, float, bytes]:
    took = []
    body = b""
    for _ in range(times):
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=120) as resp:
            body = resp.read()
        took.append(time.perf_counter() - start)
    return statistics.median(took), max(took), body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("--database", help="a PostgreSQL workspace URL (an empty database), "
                                           "or pg: a throwaway server's")
    parser.add_argument("--keep", help="keep the workspace in this folder")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    ws = ["--data-dir", str(work / "ws")] + (["--database", args.database] if args.database
                                             else [])
    try:
        source = work / "prompts.jsonl"
        write_prompts(source, args.n)
        start = time.perf_counter()
        subprocess.run([BATCHER, *ws, "import", str(source)], check=True, env=ENV,
                       stdout=subprocess.DEVNULL)
        print(f"workspace: {args.n:,} prompts on "
              f"{'PostgreSQL' if args.database else 'SQLite'} "
              f"(imported in {time.perf_counter() - start:.1f} s)")
        start = time.perf_counter()
        proc = subprocess.Popen([BATCHER, *ws, "serve", "--listen", "127.0.0.1:0"],
                                stdout=subprocess.PIPE, text=True, env=ENV)
        assert proc.stdout is not None
        url = listening = driving = None
        for line in proc.stdout:
            record = json.loads(line)
            if record.get("event") == "listening":
                url, listening = record["url"], time.perf_counter() - start
            if record.get("event") == "engine" and record.get("state") == "driving":
                driving = time.perf_counter() - start
                break
        assert url and listening and driving, "serve did not start"
        print(f"start: listening after {listening:.2f} s, driving after {driving:.2f} s")
        median, worst, _ = timed_gets(url + "/healthz")
        print(f"/healthz: median {median * 1000:.1f} ms, worst {worst * 1000:.1f} ms")
        median, worst, body = timed_gets(url + "/metrics")
        pending = next(line for line in body.decode().splitlines()
                       if line.startswith('batcher_prompts{state="pending"}'))
        assert float(pending.split()[-1]) == args.n, pending
        print(f"/metrics: median {median * 1000:.1f} ms, worst {worst * 1000:.1f} ms "
              f"(counts over {args.n:,} prompts)")
        start = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.stdout.read()
        code = proc.wait(120)
        print(f"SIGTERM to exit: {time.perf_counter() - start:.2f} s, exit code {code}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main_with_database() -> None:
    if "pg" not in sys.argv:
        return main()
    from team_db import database_url

    at = sys.argv.index("pg")
    with database_url("pg") as url:
        assert url is not None
        sys.argv[at] = url
        main()


if __name__ == "__main__":
    main_with_database()
