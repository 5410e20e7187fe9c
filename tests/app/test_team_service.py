"""Keys stay per machine: a driver without a profile's key parks that profile's batches, and
every other process (another window, `batcher status`, on any machine) reads why and where."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from batcher_gui.app import Service
from batcher_gui.config.secrets import SecretStore
from batcher_gui.domain.events import WaitKind
from batcher_gui.domain.models import ImportOptions
from batcher_gui.paths import WorkspacePaths
from tests.app.conftest import FAST, OpenService, run, write_chat
from tests.fakes import MemoryKeyring


async def _until(check: object, what: str, seconds: float = 30) -> None:
    """Await ``check()`` (a coroutine function) until truthy."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not await check():  # type: ignore[operator]
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def test_a_profile_the_driver_has_no_key_for_is_said_to_every_process(
        open_service: OpenService, tmp_path: Path, backend: str | None) -> None:
    async def scenario() -> None:
        driver = await open_service()
        # Another machine: a local folder of its own, the same workspace database, and a
        # keyring of its own (it does not drive: the first one does).
        other = await Service.open(
            WorkspacePaths(tmp_path / "b", tmp_path / "ws" / "batcher.sqlite3",
                           database_url=backend),
            secrets=SecretStore(backend=MemoryKeyring()), engine_overrides=FAST)
        try:
            summary = await driver.import_file(write_chat(tmp_path / "k.jsonl", 2),
                                               ImportOptions(), profile="openai")
            await driver.submit(summary.run.id)
            await driver.start_engine()

            async def said() -> bool:
                return await other.driver_waits() is not None

            await _until(said, "the waiting profile to be said in the workspace")
            waits = await other.driver_waits()
            assert waits is not None and set(waits.profiles) == {"openai"}
            assert waits.profiles["openai"].kind is WaitKind.NO_KEY
            assert waits.holder == driver.engine.claim.holder
            report = await other.status_report()
            assert report["waiting_profiles"]["openai"]["driver_host"] == socket.gethostname()
            assert report["waiting_profiles"]["openai"]["kind"] == "no key"
            # The driver stops: the next one (with keys of its own) judges again.
            await driver.stop_engine()
            assert await other.driver_waits() is None
            assert (await other.status_report())["waiting_profiles"] == {}
        finally:
            await other.close()
            await driver.close()

    run(scenario())
