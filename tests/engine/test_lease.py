"""One engine drives a workspace at a time: the lease."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from batcher_gui.engine.events import EngineEvent
from tests.engine.conftest import Workspace, assert_all_settled, chat


def test_second_engine_waits_while_the_first_holds_the_lease(ws: Workspace) -> None:
    ws.import_lines([chat(i) for i in range(3)])
    first, second = ws.engine(), ws.engine()
    assert first.life.acquire_lease(5)

    assert ws.run(second, timeout=0.3) is False

    assert ws.batch_states() == {"draft": 1}  # not even sealed
    assert ws.sandbox.stats()["requests"] == {}
    assert second.life.lease_holder() == first.life.holder  # its own release took nothing
    first.life.release_lease()
    assert ws.run(second) is True
    assert ws.prompt_states() == {"processed": 3}
    assert_all_settled(ws)


def test_two_engines_running_at_once_do_the_work_once(ws: Workspace) -> None:
    ws.add_profile("small", max_requests=2)
    ws.import_lines([chat(i) for i in range(6)], profile="small")
    seen: dict[str, list[EngineEvent]] = {"a": [], "b": []}
    a = ws.engine(listener=seen["a"].append)
    b = ws.engine(listener=seen["b"].append)

    async def both() -> list[bool]:
        try:
            a_task = asyncio.create_task(a.run(until_idle=True, timeout=30))
            await asyncio.sleep(0)  # a takes the lease first
            return list(await asyncio.gather(a_task, b.run(until_idle=True, timeout=30)))
        finally:
            await a.close()
            await b.close()

    assert asyncio.run(both()) == [True, True]

    assert seen["a"] and not seen["b"]  # b only looked once a had finished
    assert ws.sandbox.stats()["batches_created"] == 3
    assert ws.prompt_states() == {"processed": 6}
    assert_all_settled(ws)


def test_expired_lease_is_taken_over(ws: Workspace) -> None:
    ws.import_lines([chat(0)])
    first = ws.engine()
    assert first.life.acquire_lease(0.2)
    time.sleep(0.3)  # the first engine hung and stopped renewing

    assert ws.run() is True
    assert ws.prompt_states() == {"processed": 1}


def test_lease_of_a_dead_process_is_taken_over_at_once(ws: Workspace) -> None:
    ws.import_lines([chat(0)])
    code = ("import sys; from pathlib import Path; from batcher_gui.storage import open_store; "
            "from batcher_gui.storage.lifecycle import Lifecycle; "
            "s = open_store(Path(sys.argv[1])); assert Lifecycle(s).acquire_lease(600)")
    subprocess.run([sys.executable, "-c", code, str(ws.store.db.path)], check=True,
                   timeout=60)
    holder = ws.engine().life.lease_holder()  # the process is gone; its claim is not
    assert holder is not None and holder.split(":")[1] != str(os.getpid())

    started = time.monotonic()
    assert ws.run(timeout=10) is True
    assert time.monotonic() - started < 5  # not the 600 s the dead holder claimed
    assert ws.prompt_states() == {"processed": 1}
