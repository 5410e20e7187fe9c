"""The intake API under load, with the engine running on the sandbox profile: sustained
accepted requests per second and p50/p99 latency, for single requests and for bulk calls.

The server is a child process (this script with ``--child``: the service, its engine sending
drafts to the built-in sandbox every ``--quiet`` seconds, the intake API without a rate limit);
the clients are this process. Both share the machine, as they would on a small server.

Usage: python bench/intake.py [--database postgresql://...] [--seconds 10] [--clients 16]
                              [--bulk-lines 1000] [--bulk-clients 2] [--big 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson


def _line(custom_id: str) -> bytes:
    return orjson.dumps({
        "custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini",
                 "messages": [{"role": "user", "content": f"Classify the sentiment: {custom_id}"}]},
    })


async def _child(root: Path, database: str | None, quiet: float, engine: bool) -> None:
    from batcher_gui.app import Service
    from batcher_gui.app.intake import Intake
    from batcher_gui.paths import WorkspacePaths
    from batcher_gui.server.intake import start_intake

    paths = WorkspacePaths(root, root / "batcher.sqlite3", database_url=database)
    service = await Service.open(paths, engine_overrides={"quiet_seconds": quiet})
    _, token = await Intake(service).create_token(f"bench {time.time()}")
    handle = await start_intake(service, "127.0.0.1", 0, rate=1e9, burst=10**9,
                                max_pending=1024)
    if engine:
        await service.start_engine()
    print(orjson.dumps({"url": handle.url, "token": token}).decode(), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await handle.stop()
    print(orjson.dumps({"counts": handle.figures()}).decode(), flush=True)
    await service.close()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _phase(url: str, token: str, seconds: float, clients: int, bulk_lines: int,
                 tag: str) -> None:
    headers = {"Authorization": f"Bearer {token}", "X-Batcher-Profile": "sandbox"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    accepted = [0]
    deadline = time.monotonic() + seconds

    async def worker(client: aiohttp.ClientSession, w: int) -> None:
        k = 0
        while time.monotonic() < deadline:
            k += 1
            if bulk_lines:
                ids = [f"{tag}{w}-{k}-{i}" for i in range(bulk_lines)]
                data = io.BytesIO(b"\n".join(_line(c) for c in ids))
                path, extra = "/api/requests/bulk", {"Content-Type": "application/x-ndjson"}
            else:
                data, path, extra = io.BytesIO(_line(f"{tag}{w}-{k}")), "/api/requests", {}
            start = time.perf_counter()
            async with client.post(path, data=data, headers=extra) as r:
                await r.read()
            took = time.perf_counter() - start
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status == 202:
                latencies.append(took)
                accepted[0] += bulk_lines or 1

    began = time.monotonic()
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base_url=url, headers=headers, connector=connector) as c:
        await asyncio.gather(*(worker(c, w) for w in range(clients)))
    took = time.monotonic() - began
    kind = f"bulk of {bulk_lines:,}" if bulk_lines else "single"
    print(f"{kind:>14}: {accepted[0] / took:>9,.0f} accepted requests/s over {took:.1f} s "
          f"({clients} clients; {len(latencies):,} calls); call latency p50 "
          f"{_pct(latencies, 0.5):.1f} ms, p99 {_pct(latencies, 0.99):.1f} ms; "
          f"statuses {dict(sorted(statuses.items()))}")


async def _one_big(url: str, token: str, lines: int) -> None:
    """One bulk call of ``lines`` requests: how long until they are all stored (202)."""
    headers = {"Authorization": f"Bearer {token}", "X-Batcher-Profile": "sandbox",
               "Content-Type": "application/x-ndjson"}
    data = b"\n".join(_line(f"big-{i}") for i in range(lines))
    async with aiohttp.ClientSession(base_url=url, headers=headers) as client:
        start = time.perf_counter()
        async with client.post("/api/requests/bulk", data=io.BytesIO(data)) as r:
            await r.read()
        took = time.perf_counter() - start
    print(f"{'one bulk':>14}: {lines:,} lines ({len(data) / 1e6:.1f} MB) answered {r.status} "
          f"in {took:.2f} s ({lines / took:,.0f} requests/s)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", help="a PostgreSQL workspace URL, or pg: a throwaway "
                                           "server's (default: SQLite)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--bulk-lines", type=int, default=1000)
    parser.add_argument("--bulk-clients", type=int, default=2)
    parser.add_argument("--big", type=int, default=100_000,
                        help="lines of the one big bulk call at the end (0: none)")
    parser.add_argument("--quiet", type=float, default=2.0,
                        help="the engine sends a draft after this many quiet seconds")
    parser.add_argument("--no-engine", action="store_true",
                        help="the intake API alone (to see what the engine costs it)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(_child(args.child, args.database, args.quiet, not args.no_engine))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        command = [sys.executable, __file__, "--child", str(Path(tmp) / "ws"),
                   "--quiet", str(args.quiet), *(["--no-engine"] if args.no_engine else [])]
        if args.database:
            command += ["--database", args.database]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert child.stdout is not None
        ready = orjson.loads(child.stdout.readline())
        print(f"intake API on {ready['url']} ({'PostgreSQL' if args.database else 'SQLite'}), "
              f"engine {'off' if args.no_engine else 'running on the sandbox profile'}; "
              f"{os.cpu_count()} CPUs")
        try:
            asyncio.run(_phase(ready["url"], ready["token"], args.seconds, args.clients, 0,
                               "s"))
            asyncio.run(_phase(ready["url"], ready["token"], args.seconds, args.bulk_clients,
                               args.bulk_lines, "b"))
            if args.big:
                asyncio.run(_one_big(ready["url"], ready["token"], args.big))
        finally:
            child.send_signal(signal.SIGTERM)
            tail = child.stdout.read()
            child.wait(timeout=120)
        for text in tail.splitlines():
            if text.startswith("{"):
                print("server counters:", orjson.loads(text)["counts"])
    return 0


def main_with_database() -> int:
    if "--child" in sys.argv or "pg" not in sys.argv:
        return main()
    from team_db import database_url

    at = sys.argv.index("pg")
    with database_url("pg") as url:
        assert url is not None
        sys.argv[at] = url
        return main()


if __name__ == "__main__":
    sys.exit(main_with_database())
