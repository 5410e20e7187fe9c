"""Event-loop stalls: does the loop the window shares with the engine stay free?

Usage: python bench/stall.py [N_IMPORT] [N_LIFECYCLE]

In one process, on one event loop, a heartbeat task wakes every 5 ms and records the longest
gap between two wake-ups while, through the service API:
  (a) a N_IMPORT-line file is imported (default 1,000,000);
  (b) N_LIFECYCLE prompts (default 50,000) go through their whole lifecycle on the instant
      built-in sandbox: seal, write, upload, create, poll, download, apply (one batch);
  (c) the N_IMPORT-prompt run of (a) is exported as JSONL.
Target: the longest stall stays under 50 ms in each. A bare loop doing nothing is measured
first, as the baseline of what this machine's scheduler alone costs.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import generate  # noqa: E402

from batcher_gui.app import Service  # noqa: E402
from batcher_gui.domain.models import ImportOptions  # noqa: E402
from batcher_gui.paths import WorkspacePaths  # noqa: E402
from batcher_gui.sandbox import SandboxConfig  # noqa: E402

T = TypeVar("T")
BEAT = 0.005


class Heartbeat:
    """Records the longest gap between wake-ups of a task that sleeps BEAT seconds."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.beats = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(BEAT)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - BEAT)
            self.beats += 1
            last = now

    async def measure(self, work: Awaitable[T]) -> tuple[T, float, float]:
        """(work's result, seconds it took, longest stall in ms)."""
        self.longest, self.beats = 0.0, 0
        self._task = asyncio.create_task(self._run())
        start = time.perf_counter()
        try:
            result = await work
        finally:
            self._task.cancel()
        return result, time.perf_counter() - start, self.longest * 1000


async def main(n_import: int, n_life: int, work: Path) -> None:
    beat = Heartbeat()
    _, _, idle = await beat.measure(asyncio.sleep(2))
    print(f"baseline : idle loop for 2 s, longest stall {idle:6.1f} ms")

    data = work / "prompts.jsonl"
    generate(data, n_import)
    paths = WorkspacePaths(work / "ws", work / "ws" / "batcher.sqlite3")
    service = await Service.open(paths, sandbox_config=SandboxConfig(instant=True),
                                 engine_overrides={"poll_interval": 0, "sandbox_poll_interval": 0,
                                                   "quiet_seconds": 0, "tick": 0.05})
    try:
        await service.warm_up()  # start-up work (importing the SDK), not the lifecycle's
        summary, seconds, stall = await beat.measure(
            service.import_file(data, ImportOptions(), profile="sandbox", name="big"))
        print(f"(a) import {summary.prompts:,} lines: {seconds:6.1f} s, "
              f"longest stall {stall:6.1f} ms (target < 50)")

        small = work / "small.jsonl"
        generate(small, n_life)
        run = (await service.import_file(small, ImportOptions(), profile="sandbox",
                                         name="life")).run
        # Only the small run's batch should go: cancel the big run's drafts first.
        await service.cancel_run("big")
        await service.submit(run.id)
        idle_end, seconds, stall = await beat.measure(service.sync(timeout=600))
        counts = await service.run_counts(run.id)
        print(f"(b) lifecycle of {n_life:,} prompts: {seconds:6.1f} s, longest stall "
              f"{stall:6.1f} ms (target < 50), idle={idle_end}, "
              f"{ {k.value: v for k, v in counts.items()} }")

        out = work / "export.jsonl"
        exported, seconds, stall = await beat.measure(service.export_run("big", out))
        print(f"(c) export {exported:,} prompts: {seconds:6.1f} s, longest stall "
              f"{stall:6.1f} ms (target < 50)")
    finally:
        await service.close()


if __name__ == "__main__":
    n_import = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_life = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    folder = Path(tempfile.mkdtemp(prefix="batcher-bench-stall-"))
    try:
        asyncio.run(main(n_import, n_life, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
