"""Driver takeover after kill -9 on a PostgreSQL workspace: how long the workspace goes
undriven.

Two `batcher sync --wait` processes ("machines" with local folders of their own) share one
PostgreSQL workspace and one sandbox server process. Once batches are at the provider, the
driving process is killed with SIGKILL; the figure is the time from the kill until the other
process's lease row says it drives (it holds the advisory lock by then), and until it has made
its first step on a batch. Repeated ``--rounds`` times (a fresh database each round); prints
each round and the median. Also checks that no provider batch was created twice.

    python bench/takeover.py                      # a throwaway PostgreSQL server
    python bench/takeover.py --database postgresql://user@host/empty_db   # one round

The waiting engine tries to take the claim every second (engine.CLAIM_RETRY_SECONDS), so
the expected takeover is about 0.5-1 s plus a process's reaction time.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.engine.team, tests.pg_cluster

from tests.engine.team import IN_FLIGHT, SandboxProcess, Team  # noqa: E402
from tests.pg_cluster import PgCluster  # noqa: E402


def one_round(url: str, base: Path, prompts: int) -> tuple[float, float]:
    sandbox = SandboxProcess(base / "sandbox", progress_steps=60)
    team = Team(url, base, sandbox.base_url)
    procs = {}
    try:
        team.set_up(max_requests=10)
        team.import_prompts("a", prompts)
        procs = {"a": team.sync("a", timeout=300), "b": team.sync("b", timeout=300)}
        team.wait_for("a driver", lambda: team.driver_pid() is not None, timeout=120)
        driver_pid = team.driver_pid()
        driver = next(p for p in procs.values() if p.pid == driver_pid)
        waiting = next(p for p in procs.values() if p.pid != driver_pid)
        team.wait_for("batches in flight", lambda: team.query(
            "SELECT count(*) FROM batches WHERE state = ANY(%s)", list(IN_FLIGHT))[0][0] > 0,
            timeout=120)
        steps_before = team.query("SELECT count(*) FROM batch_transitions")[0][0]
        polled_before = team.query("SELECT max(polled_at) FROM batches")[0][0] or 0
        driver.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        driver.wait()
        team.wait_for("the takeover", lambda: team.driver_pid() == waiting.pid, timeout=120,
                      step=0.01)
        took = time.monotonic() - killed
        team.wait_for("the new driver's first step", lambda: (
            team.query("SELECT count(*) FROM batch_transitions")[0][0] > steps_before
            or (team.query("SELECT max(polled_at) FROM batches")[0][0] or 0) > polled_before),
            timeout=120, step=0.01)
        first_step = time.monotonic() - killed
        code = waiting.wait(300)
        if code != 0:
            raise SystemExit(f"the new driver ended with {code}: see {base}/sync-*.log")
        local = sorted(p for (p,) in team.query("SELECT provider_batch_id FROM batches"))
        remote = sorted(b["id"] for b in sandbox.provider_batches())
        if local != remote:
            raise SystemExit(f"provider batches differ: {len(remote)} there, {len(local)} here")
        return took, first_step
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        team.close()
        sandbox.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="an empty PostgreSQL database (default: a "
                        "throwaway server, a fresh database per round)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--prompts", type=int, default=60)
    args = parser.parse_args()
    cluster = None if args.database else PgCluster()
    rounds = 1 if args.database else args.rounds
    takeovers, first_steps = [], []
    try:
        for n in range(rounds):
            url = args.database or cluster.new_database()  # type: ignore[union-attr]
            with tempfile.TemporaryDirectory(prefix="batcher-takeover-") as tmp:
                took, first = one_round(url, Path(tmp), args.prompts)
            takeovers.append(took)
            first_steps.append(first)
            print(f"round {n + 1}: lock taken over {took:.2f} s after kill -9; "
                  f"first step on a batch after {first:.2f} s", flush=True)
            if cluster is not None:
                cluster.drop_database(url)
    finally:
        if cluster is not None:
            cluster.stop()
    print(f"takeover after kill -9: median {statistics.median(takeovers):.2f} s, "
          f"max {max(takeovers):.2f} s; first step median "
          f"{statistics.median(first_steps):.2f} s ({rounds} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
