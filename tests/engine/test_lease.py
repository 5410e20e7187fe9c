"""One engine drives a workspace at a time: the claim (an OS lock plus the lease row)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from batcher_gui.domain.events import EngineState, EngineStateChanged, Event
from batcher_gui.domain.remote import Provider, RemoteBatch
from batcher_gui.engine.claim import DriverClaim
from batcher_gui.engine.engine import Engine
from batcher_gui.storage.lease import LeaseBook
from tests.engine.conftest import FAST, Workspace, assert_all_settled, chat


def test_second_engine_waits_while_the_first_holds_the_claim(ws: Workspace) -> None:
    ws.import_lines([chat(i) for i in range(3)])
    first = ws.engine()
    events: list[Event] = []
    second = ws.engine(listener=events.append)
    assert first.claim.acquire()

    assert ws.run(second, timeout=0.3) is False

    assert ws.batch_states() == {"draft": 1}  # not even sealed
    assert ws.sandbox.stats()["requests"] == {}
    waiting = [e for e in events if isinstance(e, EngineStateChanged)
               and e.state is EngineState.WAITING_FOR_DRIVER]
    assert waiting and waiting[0].holder == first.claim.holder
    assert f"process {os.getpid()}" in waiting[0].reason
    current = second.claim.current_driver()
    assert current is not None and current.holder == first.claim.holder  # it took nothing
    first.claim.release()
    assert ws.run(second) is True
    assert ws.prompt_states() == {"processed": 3}
    assert_all_settled(ws)


def test_two_engines_running_at_once_do_the_work_once(ws: Workspace) -> None:
    ws.add_profile("small", max_requests=2)
    ws.import_lines([chat(i) for i in range(6)], profile="small")
    seen: dict[str, list[Event]] = {"a": [], "b": []}
    a = ws.engine(listener=seen["a"].append)
    b = ws.engine(listener=seen["b"].append)

    async def both() -> list[bool]:
        try:
            a_task = asyncio.create_task(a.run(until_idle=True, timeout=30))
            while not a.claim.active:  # a takes the claim first
                await asyncio.sleep(0.005)
            return list(await asyncio.gather(a_task, b.run(until_idle=True, timeout=30)))
        finally:
            await a.close()
            await b.close()

    assert asyncio.run(both()) == [True, True]

    b_states = [e.state for e in seen["b"] if isinstance(e, EngineStateChanged)]
    assert b_states[0] is EngineState.WAITING_FOR_DRIVER
    assert ws.sandbox.stats()["batches_created"] == 3
    assert ws.prompt_states() == {"processed": 6}
    assert_all_settled(ws)


class StallingCreate:
    """A provider whose batch creation hangs until released (a very slow create call)."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def create_batch(self, input_file_id: str, endpoint: str,
                           metadata: dict[str, str]) -> RemoteBatch:
        self.entered.set()
        await self.release.wait()
        return await self.inner.create_batch(input_file_id, endpoint, metadata)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_driver_stalled_in_create_past_the_ttl_keeps_the_claim(ws: Workspace) -> None:
    """The acceptance test for 'one driver': exactly one provider batch, whatever the stall."""
    ws.import_lines([chat(i) for i in range(4)])
    settings = replace(FAST, lease_ttl=0.3)
    stalling: list[StallingCreate] = []

    def slow_provider(profile: object) -> Provider:
        provider = StallingCreate(ws.provider_for(profile))
        stalling.append(provider)
        return provider  # type: ignore[return-value]

    first = Engine(ws.store, slow_provider, ws.batches_dir, ws.results_dir, settings)
    second = ws.engine(replace(settings))

    async def scenario() -> tuple[bool, bool]:
        try:
            a = asyncio.create_task(first.run(until_idle=True, timeout=30))
            while not stalling or not stalling[0].entered.is_set():
                await asyncio.sleep(0.01)
            # The first driver now sits inside create for 5 TTLs; a second one starts.
            b_result = await second.run(until_idle=True, timeout=1.5)
            stalling[0].release.set()
            a_result = await a
            return a_result, b_result
        finally:
            await first.close()
            await second.close()

    a_idle, b_idle = asyncio.run(scenario())

    assert (a_idle, b_idle) == (True, False)  # the second never drove
    assert ws.sandbox.stats()["batches_created"] == 1
    assert ws.prompt_states() == {"processed": 4}
    assert_all_settled(ws)


@pytest.mark.expect_log
def test_a_driver_whose_claim_lapsed_makes_no_remote_call(ws: Workspace) -> None:
    if ws.url:
        pytest.skip("SQLite only: machines sharing a workspace folder cannot see each other's "
                    "OS lock; on PostgreSQL the advisory lock decides (see the next test)")
    ws.import_lines([chat(i) for i in range(2)])
    engine = ws.engine(replace(FAST, lease_ttl=0.3))
    assert engine.claim.acquire()
    # Another machine (which cannot see this one's OS lock) took the lease row over: the
    # renewals fail from now on, and after one TTL this driver must stop calling out.
    LeaseBook(ws.store.db).release(engine.claim.holder)
    with ws.store.db.write() as conn:
        conn.exec_driver_sql("INSERT INTO engine_lease (id, holder, pid, expires_at) VALUES "
                             "(1, 'elsewhere:1:abc', 1, ?)", (time.time() + 600,))
    time.sleep(0.5)
    assert not engine.claim.held()

    async def one_pass() -> None:
        engine._must_hold_claim = True  # what run() sets while it drives
        try:
            await engine.tick()
        finally:
            await engine.close()

    asyncio.run(one_pass())
    assert ws.sandbox.stats()["requests"] == {}
    engine.claim.release()


@pytest.mark.expect_log
def test_a_driver_whose_lock_connection_died_makes_no_remote_call(ws: Workspace) -> None:
    """PostgreSQL: the server ended the driver's lock session (a restart, a network cut, an
    administrator): another may drive now, so this one stops calling out at once."""
    if not ws.url:
        pytest.skip("PostgreSQL only: the lock is a session of the server's")
    ws.import_lines([chat(i) for i in range(2)])
    engine = ws.engine(replace(FAST, lease_ttl=0.3))
    assert engine.claim.acquire() and engine.claim.held()
    with ws.store.db.write() as conn:
        ended = conn.exec_driver_sql(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'batcher-driver' AND datname = current_database()) t"
        ).scalar()
    assert ended == 1
    deadline = time.monotonic() + 10
    while engine.claim.held() and time.monotonic() < deadline:
        time.sleep(0.05)  # the renew thread finds the connection gone within a third TTL
    assert not engine.claim.held()
    other = DriverClaim(ws.store.db, 5)  # the lock is free: another driver takes it at once
    assert other.acquire()
    other.release()

    async def one_pass() -> None:
        engine._must_hold_claim = True  # what run() sets while it drives
        try:
            await engine.tick()
        finally:
            await engine.close()

    asyncio.run(one_pass())
    assert ws.sandbox.stats()["requests"] == {}
    engine.claim.release()


def test_claim_of_a_dead_process_is_taken_over_at_once(ws: Workspace) -> None:
    ws.import_lines([chat(0)])
    code = ("import sys; from pathlib import Path; from batcher_gui.storage import open_store; "
            "from batcher_gui.engine.claim import DriverClaim; "
            "s = open_store(Path(sys.argv[1]), sys.argv[2] or None); "
            "assert DriverClaim(s.db, 600).acquire(); "
            "import os; os._exit(0)")  # dies holding it: no release
    subprocess.run([sys.executable, "-c", code, str(ws.store.db.path), ws.url or ""],
                   check=True, timeout=60)
    row = ws.scalar("SELECT holder FROM engine_lease")
    assert row is not None and row.split(":")[1] != str(os.getpid())  # its row is still there

    started = time.monotonic()
    assert ws.run(timeout=10) is True
    assert time.monotonic() - started < 5  # not the 600 s the dead holder claimed
    assert ws.prompt_states() == {"processed": 1}


def test_claim_is_released_for_the_next_driver(tmp_path: Path, ws: Workspace) -> None:
    claim = DriverClaim(ws.store.db, 5)
    assert claim.acquire() and claim.held()
    other = DriverClaim(ws.store.db, 5)
    assert not other.acquire()
    claim.release()
    assert other.acquire()
    other.release()
    assert ws.scalar("SELECT count(*) FROM engine_lease") == 0
