"""Issue 16, items 7 and 8: a webhook's redirect is a failed delivery (never followed to another
origin); an endpoint that never answers holds no other endpoint back; idempotency keys are
unique per workspace and the same when a result is delivered again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from batcher_gui.domain.events import Event, Notice
from batcher_gui.engine.delivery import Deliverer
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage import Store, open_store
from batcher_gui.storage.delivery import DeliveryStore
from tests.delivery.helpers import Loopback, finish, import_prompts

FAST = EngineSettings(delivery_attempts=1, delivery_retry_base=0.01, webhook_timeout=10)
#: Generous: the endpoints answer at once; only a delivery held back waits this long.
BOUND = 30.0


def _states(store: Store, run_id: int) -> dict[str, int]:
    with store.db.read() as conn:
        return dict(conn.exec_driver_sql(  # type: ignore[arg-type]
            "SELECT state, count(*) FROM prompts WHERE run_id = ? GROUP BY state",
            (run_id,)).all())


def _settled(store: Store, run_id: int) -> bool:
    """Every result of the run delivered or its delivery failed."""
    return set(_states(store, run_id)) <= {"delivered", "failed"}


async def _deliver_until(store: Store, settings: EngineSettings, done: Callable[[], bool],
                         said: list[Notice] | None = None,
                         between: Callable[[], Awaitable[None]] | None = None) -> None:
    """Delivery passes (as the engine makes them) until ``done()``; fails after BOUND s."""
    workers = DbWorkers()

    def listen(event: Event) -> None:
        if isinstance(event, Notice) and said is not None:
            said.append(event)

    deliverer = Deliverer(store.db, settings, listen, workers)
    deadline = time.monotonic() + BOUND
    try:
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"not done after {BOUND:g} s")
            try:
                await asyncio.wait_for(deliverer.run_pass(), left)
            except TimeoutError:
                pytest.fail(f"a delivery pass took more than {BOUND:g} s")
            if between is not None:
                await between()
            await asyncio.sleep(0.02)
    finally:
        await deliverer.close()
        workers.close()


@pytest.mark.expect_log
@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_redirect_is_a_failed_delivery_with_its_location(store: Store, tmp_path: Path,
                                                          status: int) -> None:
    run_id = import_prompts(store, tmp_path / "r.jsonl", ["u1", "u2"])
    finish(store, run_id)
    elsewhere = Loopback()
    said: list[Notice] = []

    async def main() -> None:
        await elsewhere.start()

        async def redirect(request: web.Request) -> web.Response:
            return web.Response(status=status,
                                headers={"Location": f"{elsewhere.url}/collect?from=hook"})

        hook = await Loopback(redirect).start()
        try:
            DeliveryStore(store.db).set_target(run_id, "webhook", f"{hook.url}/hook")
            await _deliver_until(store, FAST, lambda: _settled(store, run_id),
                                 said)
            assert [m for m, *_ in hook.seen] == ["POST", "POST"]
        finally:
            await hook.stop()
            await elsewhere.stop()

    asyncio.run(main())
    assert _states(store, run_id) == {"failed": 2}
    assert elsewhere.seen == []  # nothing went to the other origin, not even a GET
    with store.db.read() as conn:
        errors = {r[0] for r in conn.exec_driver_sql("SELECT delivery_error FROM prompts")}
    location = f"{elsewhere.url}/collect?from=hook"
    assert len(errors) == 1 and f"HTTP {status}" in errors.pop() and location in (
        said[0].message)
    assert all(location in n.message for n in said)


def test_an_endpoint_that_never_answers_holds_no_other_back(store: Store,
                                                            tmp_path: Path) -> None:
    slow_run = import_prompts(store, tmp_path / "slow.jsonl", ["s1", "s2"])
    quick_run = import_prompts(store, tmp_path / "quick.jsonl", ["q1", "q2", "q3", "q4"])
    finish(store, slow_run)
    finish(store, quick_run, limit=2)
    settings = EngineSettings(delivery_attempts=3, delivery_retry_base=0.01,
                              webhook_timeout=120)  # longer than the test waits

    async def main() -> None:
        release = asyncio.Event()

        async def hang(request: web.Request) -> web.Response:
            await release.wait()
            return web.Response(status=200)

        slow = await Loopback(hang).start()
        quick = await Loopback().start()
        ds = DeliveryStore(store.db)
        ds.set_target(slow_run, "webhook", f"{slow.url}/hook")  # the first run: first in turn
        ds.set_target(quick_run, "webhook", f"{quick.url}/hook")
        try:
            await _deliver_until(store, settings, lambda: len(quick.seen) == 2)
            finish(store, quick_run)  # more results while the slow endpoint still hangs
            await _deliver_until(store, settings, lambda: len(quick.seen) == 4)
            assert _states(store, quick_run) == {"delivered": 4}
            assert _states(store, slow_run) == {"delivering": 2}
            release.set()
            await _deliver_until(store, settings,
                                 lambda: _states(store, slow_run) == {"delivered": 2})
        finally:
            release.set()
            await slow.stop()
            await quick.stop()

    asyncio.run(main())


def test_idempotency_keys_differ_between_workspaces_and_repeat_on_redelivery(
        tmp_path: Path) -> None:
    stores = [open_store(tmp_path / name / "batcher.sqlite3") for name in ("ws1", "ws2")]
    receiver = Loopback()

    async def deliver_all(store: Store, run_id: int) -> None:
        await _deliver_until(store, FAST, lambda: _states(store, run_id) == {"delivered": 3})

    async def main() -> list[list[str]]:
        await receiver.start()
        keys = []
        try:
            for store in stores:  # the same prompts, the same prompt ids, in each workspace
                run_id = import_prompts(store, tmp_path / "p.jsonl", ["a", "b", "c"])
                finish(store, run_id)
                DeliveryStore(store.db).set_target(run_id, "webhook", f"{receiver.url}/hook")
                receiver.seen.clear()
                await deliver_all(store, run_id)
                keys.append(receiver.keys())
            # Delivered again (the receiver lost them), by a later process: the same keys.
            stores[0].db.close()
            stores[0] = open_store(tmp_path / "ws1" / "batcher.sqlite3")
            assert DeliveryStore(stores[0].db).redeliver(1, failed_only=False) == 3
            receiver.seen.clear()
            await deliver_all(stores[0], 1)
            keys.append(receiver.keys())
        finally:
            await receiver.stop()
        return keys

    try:
        first, second, again = asyncio.run(main())
    finally:
        for store in stores:
            store.db.close()
    assert len(set(first)) == len(set(second)) == 3
    assert not set(first) & set(second)
    assert sorted(again) == sorted(first)
