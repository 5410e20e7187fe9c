"""One driver, many machines, on a PostgreSQL workspace: real processes throughout.

Two ``batcher sync --wait`` processes with local folders of their own (two "machines") share
one PostgreSQL workspace and one sandbox server process. Exactly one drives (the advisory
lock); the other says who does; kill -9 the driver and the other takes over within seconds and
finishes, and the sandbox holds exactly one provider batch per local batch.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.team import IN_FLIGHT, SandboxProcess, Team

#: The longest a takeover may take here (the waiting engine retries every second; a loaded
#: machine running five test suites at once needs the margin).
TAKEOVER_LIMIT = 10.0


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[SandboxProcess]:
    sandbox = SandboxProcess(tmp_path / "sandbox", progress_steps=40)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def team(pg_url: str, tmp_path: Path, sandbox_process: SandboxProcess) -> Iterator[Team]:
    t = Team(pg_url, tmp_path, sandbox_process.base_url)
    yield t
    t.close()


def _in_flight(team: Team) -> int:
    return int(team.query("SELECT count(*) FROM batches WHERE state = ANY(%s)",
                          list(IN_FLIGHT))[0][0])


def test_one_drives_and_the_other_takes_over_after_kill_9(
        team: Team, sandbox_process: SandboxProcess) -> None:
    team.set_up(max_requests=10)
    team.import_prompts("a", 60)  # six batches
    procs = {"a": team.sync("a"), "b": team.sync("b")}  # two machines start at once
    try:
        team.wait_for("one to drive", lambda: team.driver_pid() is not None)
        first = next(m for m, p in procs.items() if p.pid == team.driver_pid())
        other = "b" if first == "a" else "a"
        driver, waiting = procs[first], procs[other]
        # The other waits, and says who drives (host and pid from the lease row).
        team.wait_for("the other to say who drives",
                      lambda: f"process {driver.pid} on" in team.log_of(other))
        team.wait_for("a batch in flight at the provider", lambda: _in_flight(team) > 0)
        assert team.driver_pid() == driver.pid  # still exactly one driver
        assert "drives this workspace" not in team.log_of(first)

        driver.send_signal(signal.SIGKILL)
        driver.wait()
        took = team.wait_for("the other to take over",
                             lambda: team.driver_pid() == waiting.pid, timeout=60)
        assert took < TAKEOVER_LIMIT, f"takeover took {took:.1f} s"
        assert waiting.wait(120) == 0, team.log_of(other)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    assert team.query("SELECT state, count(*), count(response) FROM prompts GROUP BY state") \
        == [("processed", 60, 60)]
    assert team.query("SELECT count(DISTINCT prompt_id), count(*) FROM prompt_transitions "
                      "WHERE to_state = 'processed'") == [(60, 60)]
    local = [pid for (pid,) in team.query(
        "SELECT provider_batch_id FROM batches WHERE state = 'completed'")]
    assert len(local) == 6 and None not in local
    remote = [b["id"] for b in sandbox_process.provider_batches()]
    # Exactly one provider batch per local batch: the takeover created none twice.
    assert sorted(remote) == sorted(local)
    assert team.driver_pid() is None  # b ended and cleared the lease
