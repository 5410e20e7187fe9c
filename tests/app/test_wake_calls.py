"""A user's action in another process reaches the engine that drives the workspace at once:
the window's engine acts on a `batcher cancel` within a second or two, not at its next pass,
and reads settings changed by `batcher config set`."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from batcher_gui.app import Service
from batcher_gui.domain.models import ImportOptions
from batcher_gui.sandbox import SandboxConfig
from tests.app.conftest import FAST, OpenService, database_args, run, write_chat
from tests.cli.conftest import Cli

#: The engine's own rhythm: a pass and a poll a minute (a user waits for neither).
SLOW = {**FAST, "tick": 60.0, "poll_interval": 60.0, "sandbox_poll_interval": 60.0}


async def _cli(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    """``batcher`` in another process, off the loop (the engine runs on while it works)."""
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: Cli(service.paths.root).ok(*database_args(service), *args, timeout=120))


async def _until(check: object, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await check():  # type: ignore[operator]
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def test_a_cancel_from_another_process_is_acted_on_at_once(
        open_service: OpenService, tmp_path: Path) -> None:
    async def go() -> None:
        service = await open_service(engine_overrides=SLOW,
                                     sandbox_config=SandboxConfig(steps_per_poll=1))
        try:
            await service.start_engine()
            summary = await service.import_file(write_chat(tmp_path / "q.jsonl", 4),
                                                ImportOptions(), profile="sandbox")
            await service.submit(summary.run.id)

            async def at_provider() -> bool:
                (batch,) = await service.batches()
                return batch.provider_batch_id is not None

            await _until(at_provider, 30)
            await asyncio.sleep(1.5)  # the engine is asleep now, for a minute
            await _cli(service, "cancel", "--run", f"#{summary.run.id}")

            async def cancel_sent() -> bool:
                (batch,) = await service.batches()
                return batch.provider_status in ("cancelling", "cancelled")

            # Without the wake-up call, the next pass would be a minute away.
            await _until(cancel_sent, 15)
        finally:
            await service.close()

    run(go())


def test_settings_changed_by_another_process_are_read_again(
        open_service: OpenService) -> None:
    async def go() -> None:
        service = await open_service(engine_overrides=SLOW)
        try:
            await service.start_engine()
            await asyncio.sleep(1.0)
            assert service.settings.max_prompt_attempts != 7
            await _cli(service, "config", "set", "max_prompt_attempts", "7")

            async def read_again() -> bool:
                return bool(service.settings.max_prompt_attempts == 7)

            await _until(read_again, 15)
        finally:
            await service.close()

    run(go())


def test_a_change_made_here_is_not_taken_for_another_process_call(
        open_service: OpenService) -> None:
    """This process's own wake-up calls wake its engine, but are not read as calls from
    elsewhere (which would rebuild the providers and read everything again); another
    process's call still is, even right after one of ours."""
    async def go() -> None:
        service = await open_service(engine_overrides=SLOW)
        pause = service.engine.pause
        woken_from_elsewhere = pause.on_call
        foreign: list[float] = []

        def on_call() -> None:
            foreign.append(time.monotonic())
            assert woken_from_elsewhere is not None
            woken_from_elsewhere()

        pause.on_call = on_call
        try:
            await service.start_engine()
            for value in ("4", "5", "6"):
                await service.set_setting("max_prompt_attempts", value)
            await asyncio.sleep(1.5)  # three looks at the count, at least
            assert foreign == []
            await service.set_setting("max_prompt_attempts", "3")
            await _cli(service, "config", "set", "max_prompt_attempts", "7")

            async def read_again() -> bool:
                return bool(foreign) and service.settings.max_prompt_attempts == 7

            await _until(read_again, 15)
            assert len(foreign) == 1
        finally:
            await service.close()

    run(go())
