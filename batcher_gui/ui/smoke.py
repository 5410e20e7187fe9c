"""``batcher-gui --smoke-test``: does this installation (a packaged build above all) work?

Opens the main window on a temporary workspace (its schema made by the migrations), imports
the shipped sample (34 chat prompts) on the built-in sandbox through the import's reader
process, submits it, waits until every prompt is answered by the sandbox (a process of its
own), checks the window shows the run, exports the answers as JSONL and CSV and checks them,
prints a short report and exits 0 — or prints the reason on stderr and exits 1 (2 on timeout).

Both child processes (the reader and the sandbox) are ``spawn`` processes, which a frozen
build can only start when its entry point calls ``multiprocessing.freeze_support()`` first:
this test is what proves it. The temporary workspace is removed, unless the test failed
(its log then says more).
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

import batcher_gui
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.wording import plural
from batcher_gui.paths import WorkspacePaths, resource
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.ui.base.loop import AppEventLoop
from batcher_gui.ui.models.runs import COL_ESTIMATE
from batcher_gui.ui.window.main_window import MainWindow

SAMPLE = ("sample", "sample-prompts.jsonl")
SAMPLE_PROMPTS = 34
TIMEOUT_SECONDS = 120.0
#: Exit codes: the check failed; it did not finish in time.
FAILED, TIMED_OUT = 1, 2


class SmokeFailure(Exception):
    """A check of the smoke test failed (the message says which and why)."""


class _Errors(logging.Handler):
    """Errors logged anywhere during the test (a failed background task...): they fail it."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.messages.append(text)


def _check(condition: object, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


async def _wait(what: str, condition: object, timeout: float) -> None:
    """Poll ``condition()`` (Qt events and the loop keep running) until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SmokeFailure(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


class _Steps:
    """Prints each step as it is done, with the time since the start (a hang shows where)."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        print(f"{time.monotonic() - self.started:6.1f} s  {text}", flush=True)


async def _scenario(window: MainWindow, work: Path, step: _Steps) -> None:
    ws = WorkspacePaths(work / "workspace", work / "workspace" / "batcher.sqlite3").create()
    await window.open_workspace(ws)
    service = window.service
    _check(service is not None, "the workspace did not open")
    assert service is not None
    step(f"workspace opened (schema migrated): {ws.root}")

    sample = resource(*SAMPLE)
    _check(sample.is_file(), f"the shipped sample is missing: {sample}")
    # parallel_from_bytes=0: read in the import's reader process, as a big file would be.
    summary = await service.import_file(sample, ImportOptions(), profile="sandbox",
                                        name="smoke test", parallel_from_bytes=0)
    run = summary.run
    _check(summary.prompts == SAMPLE_PROMPTS,
           f"imported {summary.prompts} prompts of the sample, expected {SAMPLE_PROMPTS}")
    step(f"imported {summary.prompts} prompts through the reader process as run {run.label}")

    sealed = (await service.submit(run.id)).sealed
    _check(bool(sealed), "submitting the run sealed no batch")
    step(f"submitted: {plural(len(sealed), 'batch', 'batches')} for the built-in sandbox")

    counts: dict[PromptState, int] = {}

    async def processed() -> bool:
        nonlocal counts
        counts = await service.run_counts(run.id)
        bad = {s: n for s, n in counts.items()
               if s in (PromptState.FAILED, PromptState.EXPIRED, PromptState.CANCELLED) and n}
        _check(not bad, f"prompts ended badly: {bad}")
        return counts.get(PromptState.PROCESSED, 0) == SAMPLE_PROMPTS

    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not await processed():
        if time.monotonic() > deadline:
            raise SmokeFailure(f"the sandbox did not answer every prompt in time: {counts}")
        await asyncio.sleep(0.2)
    step(f"all {SAMPLE_PROMPTS} prompts answered by the sandbox process")

    await window.live.refresh()
    await _wait("the run in the window's runs list", lambda: window.runs_model.rowCount() == 1,
                30)
    window.runs.selectRow(0)  # its prompts, as a click on the run shows them
    await _wait("the run's prompts in the window's prompts view",
                lambda: window.prompts.model.rowCount() == SAMPLE_PROMPTS
                and window.prompts.model.row_at(0) is not None, 30)
    step("the window shows the run and its prompts")

    async def counted() -> bool:  # the tokenizer and its shipped vocabulary work here
        await window.live.refresh()
        item = window.runs_model.item(0)
        return item is not None and item.counted == SAMPLE_PROMPTS

    deadline = time.monotonic() + 60
    while not await counted():
        if time.monotonic() > deadline:
            raise SmokeFailure("the sample's tokens were not counted in time (see the log)")
        await asyncio.sleep(0.2)
    estimate = window.runs_model.data(window.runs_model.index(0, COL_ESTIMATE))
    _check(str(estimate).startswith("$"), f"the run has no cost estimate: {estimate!r}")
    step(f"tokens counted offline; estimated cost {estimate}")

    out_jsonl, out_csv = work / "smoke.jsonl", work / "smoke.csv"
    _check(await service.export_run(run.id, out_jsonl) == SAMPLE_PROMPTS,
           "the JSONL export did not write every prompt")
    lines = [json.loads(line) for line in out_jsonl.read_text("utf-8").splitlines()]
    _check(len(lines) == SAMPLE_PROMPTS, f"the JSONL export has {len(lines)} lines")
    for line in lines:
        _check(line["state"] == "processed" and line["response"],
               f"prompt {line['custom_id']!r} has no answer in the export: {line}")
    _check(await service.export_run(run.id, out_csv) == SAMPLE_PROMPTS,
           "the CSV export did not write every prompt")
    with out_csv.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    _check(len(rows) == SAMPLE_PROMPTS and all(row["output_text"] for row in rows),
           "the CSV export lacks answers")
    step(f"exported {SAMPLE_PROMPTS} answers as JSONL and CSV; first: "
         f"{rows[0]['custom_id']} -> {rows[0]['output_text'][:50]!r}")


async def _run(work: Path, step: _Steps) -> None:
    settings = QSettings(str(work / "window.ini"), QSettings.Format.IniFormat)  # not the user's
    window = MainWindow(settings, {
        "sandbox_config": SandboxConfig(steps_per_poll=1, progress_steps=1),
        "engine_overrides": {"sandbox_poll_interval": 0.2},
    })
    window.show()
    try:
        await _scenario(window, work, step)
    finally:
        if not window.closed.done():
            window.close()
        await asyncio.wait_for(asyncio.shield(window.closed), 30)  # engine and sandbox stop
        step("window closed")


def _give_up(work: Path) -> None:
    print(f"smoke test FAILED: hung for more than {TIMEOUT_SECONDS + 40:.0f} s "
          f"(workspace and log kept in {work})", file=sys.stderr, flush=True)
    os._exit(TIMED_OUT)


def smoke_test(app: QApplication) -> int:
    """Run the smoke test on ``app`` (see the module docstring); returns the exit code."""
    work = Path(tempfile.mkdtemp(prefix="batcher-smoke-"))
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    app.setQuitOnLastWindowClosed(False)  # the window closes before the loop's work is done
    loop = AppEventLoop(app)
    asyncio.set_event_loop(loop)
    # A hang anywhere (even where the loop cannot reach: a stuck child, a C call) still ends
    # the test, with its own exit code.
    guard = threading.Timer(TIMEOUT_SECONDS + 40, _give_up, args=(work,))
    guard.daemon = True
    guard.start()
    code, problem = 0, ""
    print(f"Batcher {batcher_gui.__version__} smoke test ({sys.executable}, "
          f"{'frozen' if getattr(sys, 'frozen', False) else 'from source'}, "
          f"Qt platform {app.platformName()})", flush=True)
    step = _Steps()
    with loop:
        try:
            loop.run_until_complete(asyncio.wait_for(_run(work, step), TIMEOUT_SECONDS))
        except TimeoutError:
            code, problem = TIMED_OUT, f"did not finish within {TIMEOUT_SECONDS:.0f} s"
        except SmokeFailure as exc:
            code, problem = FAILED, str(exc)
        except Exception as exc:  # anything unexpected is a failure, with its traceback
            traceback.print_exc()
            code, problem = FAILED, f"{type(exc).__name__}: {exc}"
    guard.cancel()
    logging.getLogger().removeHandler(errors)
    if code == 0 and errors.messages:
        code, problem = FAILED, "errors were logged: " + "; ".join(errors.messages[:5])
    if code:
        print(f"smoke test FAILED: {problem}", file=sys.stderr, flush=True)
        print(f"(workspace and log kept in {work})", file=sys.stderr, flush=True)
        return code
    shutil.rmtree(work, ignore_errors=True)
    print(f"smoke test passed in {time.monotonic() - step.started:.1f} s", flush=True)
    return 0
