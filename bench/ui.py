"""The window on a million-prompt workspace: start-up, filters, memory, stalls.

Usage: python bench/ui.py [N] [--keep DIR] [--skip-stall]   (N prompts, default 1,000,000)

Builds the workspace with the real import (``batcher import``) and gives every prompt an answer
(bench/answers.py), then measures, in one run:
  (1) process start -> main window showing the prompts view with rows (a fresh process of
      ``batcher-gui``; target < 2 s, < 1 s at 10,000,000), best of 3;
  (2) in a window (offscreen): each sortable column both ways, a state filter with each sort, a
      rare-word and a common-word search — time until the first page shows, and until the
      count is known (target < 200 ms; counts < 1 s) — first without the sort indexes and with
      the search index off (as before migration 0010), then after building them (their build
      time and size per million prompts; see bench/ui_search.py);
  (3) the longest event-loop stall (a 5 ms heartbeat) in that window while a 1,000,000-line
      import and the apply of a 50,000-result batch run (target < 50 ms);
  (4) the peak memory of that window process (target < 400 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import ui_search  # noqa: E402
from answers import answer  # noqa: E402
from ingest import generate  # noqa: E402
from stall import Heartbeat  # noqa: E402

BATCHER = str(Path(sys.executable).with_name("batcher"))
GUI = str(Path(sys.executable).with_name("batcher-gui"))


def build(work: Path, n: int) -> Path:
    ws = work / "ws"
    if (ws / "batcher.sqlite3").exists():
        print(f"workspace   : reusing {ws}")
        return ws
    data = work / "prompts.jsonl"
    generate(data, n)
    start = time.perf_counter()
    subprocess.run([BATCHER, "--data-dir", str(ws), "import", str(data), "--profile",
                    "sandbox", "--name", "million"], check=True, stdout=subprocess.DEVNULL)
    print(f"workspace   : {n:,} prompts imported in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    answer(ws / "batcher.sqlite3")
    print(f"workspace   : answered in {time.perf_counter() - start:.1f} s")
    data.unlink()
    return ws


def disk(ws: Path) -> str:
    total = sum(f.stat().st_size for f in ws.rglob("*") if f.is_file())
    return f"{total / 1e9:.2f} GB"


def startup(ws: Path, home: Path) -> float:
    env = {**os.environ, "BATCHER_REPORT_READY": "1", "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / "config"), "XDG_STATE_HOME": str(home / "state")}
    started = time.time()
    done = subprocess.run([GUI, "--data-dir", str(ws)], env=env, capture_output=True,
                          text=True, timeout=120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("ready at ")), None)
    if line is None:
        raise SystemExit(f"the window did not report ready:\n{done.stdout}\n{done.stderr}")
    return float(line.split()[-1]) - started


async def before_and_after(window: Any, ws: Path, n: int, states: tuple[Any, ...]) -> None:
    print("before (no sort indexes, search index off):", flush=True)
    await ui_search.measure(window, states)
    print("building the indexes:", flush=True)
    ui_search.build_sort_indexes(ws / "batcher.sqlite3", n)
    await ui_search.build_search_index(window, n)
    print("after:", flush=True)
    await ui_search.measure(window, states)


async def in_window(ws: Path, work: Path, n_import: int, n_apply: int,
                    skip_stall: bool = False, sorts_only: bool = False) -> None:
    from PySide6.QtCore import QSettings

    from batcher_gui.domain.models import ImportOptions
    from batcher_gui.domain.states import PromptState
    from batcher_gui.paths import WorkspacePaths
    from batcher_gui.sandbox import SandboxConfig
    from batcher_gui.ui.window.main_window import MainWindow

    settings = QSettings(str(work / "bench.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, {
        "sandbox_config": SandboxConfig(instant=True),
        "engine_overrides": {"sandbox_poll_interval": 0.2, "quiet_seconds": 3600}})
    window.resize(1500, 900)
    window.show()
    await window.open_workspace(WorkspacePaths(ws, ws / "batcher.sqlite3"))
    model = window.prompts.model
    assert window.service is not None
    # Its full drafts would be sent at once (full drafts do not wait): not part of this bench.
    await window.service.cancel_run("million")

    while model.row_at(0) is None:
        await asyncio.sleep(0.01)
    await asyncio.sleep(1)
    n = model.rowCount()
    states = (PromptState.FAILED, PromptState.PROCESSED)
    if sorts_only:
        print("sorts and state filters (sort indexes built, search index off):", flush=True)
        await ui_search.measure(window, states, searches=False)
    else:
        await before_and_after(window, ws, n, states)
    print(f"workspace on disk: {disk(ws)}", flush=True)
    if skip_stall:
        window.close()
        await window.closed
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of the window process: {peak:,.0f} MB (target < 400)")
        return

    service = window.service
    assert service is not None
    await service.warm_up()
    big, small = work / "more.jsonl", work / "apply.jsonl"
    if not big.exists():
        generate(big, n_import)
    generate(small, n_apply)
    run = (await service.import_file(small, ImportOptions(), profile="sandbox",
                                     name="apply")).run
    beat = Heartbeat()

    async def both() -> None:
        await service.submit(run.id)  # the 50,000 results are applied while the import runs
        importing = asyncio.ensure_future(service.import_file(big, ImportOptions(),
                                                              profile="sandbox", name="more"))
        while (await service.run_counts(run.id)).get(PromptState.PROCESSED, 0) < n_apply:
            await asyncio.sleep(0.2)
        await importing

    _, seconds, stall = await beat.measure(both())
    print(f"import {n_import:,} + apply {n_apply:,}: {seconds:5.1f} s in the running window, "
          f"longest stall {stall:5.1f} ms (target < 50)")
    window.close()
    await window.closed
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the window process: {peak:,.0f} MB (target < 400)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--keep", help="keep (and reuse) the workspace in this folder")
    parser.add_argument("--apply", type=int, default=50_000)
    parser.add_argument("--sorts-only", action="store_true",
                        help="(2) with the sort indexes as built, without searches (10,000,000)")
    parser.add_argument("--skip-stall", action="store_true",
                        help="leave out (3), the import and apply in the running window")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="batcher-bench-ui-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        ws = build(work, args.n)
        home = work / "home"
        times = [startup(ws, home) for _ in range(3)]
        print(f"start -> window with rows: {', '.join(f'{t:.2f}' for t in times)} s "
              f"(best {min(times):.2f} s; target < 2)")
        print(f"workspace on disk: {disk(ws)}")
        ui_search.indexes_off(ws / "batcher.sqlite3", sorts=not args.sorts_only)
        from PySide6.QtWidgets import QApplication

        from batcher_gui.ui.base.loop import AppEventLoop

        app = QApplication([])
        app.setOrganizationName("BatcherBench")
        asyncio.set_event_loop(loop := AppEventLoop(app))
        with loop:
            loop.run_until_complete(in_window(ws, work, args.n, args.apply, args.skip_stall,
                                             args.sorts_only))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
