"""The window on a real engine, a real SQLite workspace and the sandbox (offscreen Qt)."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from batcher_gui.app import Service
from batcher_gui.config.secrets import SecretStore
from batcher_gui.domain.events import EngineState
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.engine.run_import import import_file
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.sandbox.host import SandboxThread
from batcher_gui.storage import open_store
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.models.runs import COL_ESTIMATE
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import FAST, write_chat
from tests.fakes import MemoryKeyring
from tests.ui.conftest import WAIT, message_box, ws_paths


def _import(window: MainWindow, qtbot: QtBot, path: Path) -> None:
    assert window.service is not None
    task = spawn(window.service.import_file(path, ImportOptions(), profile="sandbox"))
    qtbot.waitUntil(task.done, timeout=WAIT)
    assert task.exception() is None


def _import_and_select(window: MainWindow, qtbot: QtBot, path: Path) -> None:
    """Import ``path`` (the only run) and select it in the runs list."""
    _import(window, qtbot, path)
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    window.runs.selectRow(0)


def _run_done(window: MainWindow) -> bool:
    run = window.runs_model.item(0)
    return run is not None and run.count(PromptState.PROCESSED) == run.total > 0


def test_import_submit_from_the_runs_view_and_read_the_answer(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    assert window.runs.model().rowCount() == 0  # the empty state...
    assert "Import" in window.runs.empty_message  # ...says what to do
    _import_and_select(window, qtbot, write_chat(tmp_path / "questions.jsonl", 12))
    assert window.menu["submit"].isEnabled()
    window.menu["submit"].trigger()
    qtbot.waitUntil(lambda: _run_done(window), timeout=WAIT)
    # Its tokens were counted in the background and priced: the Estimate column.
    qtbot.waitUntil(lambda: (r := window.runs_model.item(0)) is not None and r.counted == 12,
                    timeout=WAIT)
    estimate = window.runs_model.data(window.runs_model.index(0, COL_ESTIMATE))
    assert estimate.startswith("$") and " – $" in estimate, estimate
    assert "12 of 12 prompts counted" in window.runs_model.data(
        window.runs_model.index(0, COL_ESTIMATE), Qt.ItemDataRole.ToolTipRole)
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 12, timeout=WAIT)
    window.prompts.table.selectRow(3)
    qtbot.waitUntil(lambda: window.detail.currentWidget() is window.detail.prompt
                    and window.detail.prompt.detail is not None, timeout=WAIT)
    pane = window.detail.prompt
    assert pane.detail is not None and pane.detail.row.custom_id == "c3"
    assert "Sandbox reply" in pane.conversation.toPlainText()
    assert "q 3" in pane.conversation.toPlainText()
    assert "in /" in pane.usage.text()
    assert "processed" in pane.history.toPlainText()
    window.tabs.setCurrentWidget(window.batches)
    # Spend: the run's estimate against what the provider reported, and today's bar.
    window.menu["show_spend"].trigger()
    qtbot.waitUntil(lambda: window.spend.runs.rowCount() == 1
                    and window.spend.runs.item(0, 2) is not None
                    and window.spend.runs.item(0, 2).text().startswith("$"), timeout=WAIT)
    assert window.spend.runs.item(0, 3).text() == "12 / 12"
    assert window.spend.chart.days[-1][1] > 0 and len(window.spend.chart.days) == 30
    assert window.spend.models.item(0, 0).text() == "gpt-4o-mini"
    # The prompts are answered before the batch's last step (downloading -> completed) ends.
    qtbot.waitUntil(lambda: window.batches_model.rowCount() == 1
                    and (b := window.batches_model.item(0)) is not None
                    and b.state is BatchState.COMPLETED, timeout=WAIT)


def test_every_model_passes_the_model_tester(make_window: Callable[..., MainWindow],
                                             qtbot: QtBot, qtmodeltester: Any,
                                             tmp_path: Path) -> None:
    window = make_window()
    for i in range(3):
        _import(window, qtbot, write_chat(tmp_path / f"f{i}.jsonl", 5 + i))
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 3
                    and window.batches_model.rowCount() == 3, timeout=WAIT)
    qtmodeltester.check(window.runs_model)
    qtmodeltester.check(window.batches_model)
    assert window.runs_model.data(window.runs_model.index(0, 0)) == "#3 f2"  # newest first


HOLD = ("import sys, time; from pathlib import Path; from batcher_gui.storage import open_store;"
        " from batcher_gui.engine.claim import DriverClaim; "
        "c = DriverClaim(open_store(Path(sys.argv[1])).db, 5); assert c.acquire(); "
        "print('holding', flush=True); time.sleep(600)")


def test_another_driver_is_shown_and_followed_then_taken_over(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    paths = ws_paths(tmp_path / "ws")  # made before the other process holds it
    paths.create()
    open_store(paths.database).db.close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(paths.database)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().startswith("holding")
        window = make_window()
        qtbot.waitUntil(lambda: window.engine_status.state is EngineState.WAITING_FOR_DRIVER,
                        timeout=WAIT)
        assert f"process {holder.pid}" in window.engine_status.text.text()
        # Another process changes the workspace: the window shows it without being told.
        other = open_store(paths.database)
        import_file(other, write_chat(tmp_path / "theirs.jsonl", 4), ImportOptions(),
                    profile_name="sandbox")
        other.db.close()
        qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
        window.runs.selectRow(0)
        window.menu["submit"].trigger()  # waits for a driver: nothing is sent meanwhile
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        qtbot.waitUntil(lambda: window.engine_status.state is EngineState.DRIVING,
                        timeout=WAIT)
        qtbot.waitUntil(lambda: _run_done(window), timeout=WAIT)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_ctrl_q_with_batches_in_flight_loses_nothing(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    slow = SandboxConfig(steps_per_poll=1, progress_steps=200)
    window = make_window(slow, poll_interval=0.05, sandbox_poll_interval=0.05)
    _import_and_select(window, qtbot, write_chat(tmp_path / "q.jsonl", 30))
    window.menu["submit"].trigger()
    qtbot.waitUntil(lambda: any(b.state is BatchState.IN_PROGRESS
                                for b in window.batches_model.items()), timeout=WAIT)
    sandbox_dir = window.paths.sandbox_dir if window.paths else None
    started = time.monotonic()
    quit_action = window.menu["quit"]
    assert quit_action.shortcut().matches(QKeySequence("Ctrl+Q")) is (
        QKeySequence.SequenceMatch.ExactMatch)
    quit_action.trigger()  # what Ctrl+Q does (offscreen windows get no real key events)
    qtbot.waitUntil(window.closed.done, timeout=WAIT)
    print(f"closed {time.monotonic() - started:.2f} s after Ctrl+Q with a batch in flight")

    async def finish() -> dict[PromptState, int]:  # Batcher again: it picks up where it was
        service = await Service.open(
            ws_paths(tmp_path / "ws"), secrets=SecretStore(backend=MemoryKeyring()),
            engine_overrides=FAST, sandbox_config=SandboxConfig(instant=True),
            sandbox_host=SandboxThread)
        try:
            assert await service.sync(timeout=60)
            return await service.run_counts(1)
        finally:
            await service.close()

    task = spawn(finish())
    qtbot.waitUntil(task.done, timeout=60_000)
    assert task.result() == {PromptState.PROCESSED: 30}
    # Picked up where it was: the one batch at the provider, never created twice.
    assert sandbox_dir is not None
    assert len(list((sandbox_dir / "batches").glob("*.json"))) == 1


@pytest.mark.expect_log
def test_an_unexpected_error_is_logged_and_shown_with_the_log_path(
        qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from batcher_gui.ui.base import crash

    monkeypatch.setattr(crash, "log_folder", lambda: tmp_path / "logs")
    path = crash.start_app_log()
    try:
        crash.install_handlers(qloop)

        async def boom() -> None:
            raise RuntimeError("something nobody expected")

        spawn(boom(), name="boom")
        qtbot.waitUntil(lambda: _crash_dialog() is not None, timeout=WAIT)
        dialog = _crash_dialog()
        assert dialog is not None and str(path) in dialog.text()
        assert "something nobody expected" in dialog.text()
        dialog.done(0)
        assert "RuntimeError: something nobody expected" in path.read_text()
        assert "Traceback" in path.read_text()
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "baseFilename", "") == str(path):
                logging.getLogger().removeHandler(handler)
                handler.close()
        for name in ("batcher_gui.ui.base.tasks",):
            logging.getLogger(name).handlers.clear()
        sys.excepthook = sys.__excepthook__


def _crash_dialog() -> QMessageBox | None:
    return message_box("crash-dialog")


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from 3.12 on")
def test_repainting_and_filtering_never_lose_references_to_none(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    """PySide6 6.12 takes a reference from None for each empty value it hands back; a window
    that asked it that way died after a few thousand repaints (see ui/qtfix.py)."""
    window = make_window()
    _import(window, qtbot, write_chat(tmp_path / "q.jsonl", 30))
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1
                    and window.batches_model.rowCount() == 1, timeout=WAIT)
    window.runs.selectRow(0)
    window.tabs.setCurrentWidget(window.batches)
    QApplication.processEvents()
    before = sys.getrefcount(None)
    for _ in range(300):
        window.runs.viewport().repaint()
        window.batches.viewport().repaint()
        window.prompts.build_query()
        window.prompts.current()
        window.live.selected_run()
    after = sys.getrefcount(None)
    # The bug loses one per empty cell per repaint (tens of thousands here); the engine's own
    # threads, working meanwhile, move the count by a few hundred either way.
    assert after - before > -2000, f"None lost {before - after} references"


def test_switching_workspaces_closes_the_first_and_opens_the_second(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    _import_and_select(window, qtbot, write_chat(tmp_path / "first.jsonl", 3))
    qtbot.waitUntil(lambda: window.detail.currentWidget() is window.detail.run, timeout=WAIT)
    first = window.service
    second = ws_paths(tmp_path / "second").create()
    task = spawn(window.open_workspace(second))
    qtbot.waitUntil(task.done, timeout=WAIT)
    assert task.exception() is None
    assert window.service is not None and window.service is not first
    assert window.paths == second and str(second.root) in window.windowTitle()
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 0, timeout=WAIT)
    assert window.prompts.model.rowCount() == 0
    assert window.detail.currentWidget() is window.detail.hint  # nothing of the first left


@pytest.mark.parametrize("existing", [False, True])
def test_closing_while_the_workspace_opens_ends_cleanly(qloop: qasync.QEventLoop, qtbot: QtBot,
                                                        tmp_path: Path, existing: bool) -> None:
    paths = ws_paths(tmp_path / "ws").create()
    if existing:  # rows are read early from an existing file: close during that
        store = open_store(paths.database)
        import_file(store, write_chat(tmp_path / "q.jsonl", 50), ImportOptions(),
                    profile_name="sandbox")
        store.db.close()
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, {"secrets": SecretStore(backend=MemoryKeyring()),
                                   "sandbox_config": SandboxConfig(instant=True),
                                   "sandbox_host": SandboxThread})
    window.show()
    opening = spawn(window.open_workspace(paths))
    window.close()  # Ctrl+Q before the workspace is open
    qtbot.waitUntil(lambda: window.closed.done() and opening.done(), timeout=WAIT)
    assert opening.cancelled() or opening.exception() is None
    assert window.service is None and window.reader is None
    window.deleteLater()


def test_a_row_chosen_before_it_has_loaded_shows_once_it_arrives(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    _import_and_select(window, qtbot, write_chat(tmp_path / "many.jsonl", 3_000))
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 3_000, timeout=WAIT)
    far = 2_500
    assert window.prompts.model.row_at(far) is None  # a placeholder: not read yet
    # A click right after dragging the scroll bar there: the row is still "loading…".
    window.prompts.table.scrollTo(window.prompts.model.index(far, 0))
    window.prompts.table.selectRow(far)
    qtbot.waitUntil(lambda: window.detail.currentWidget() is window.detail.prompt
                    and window.detail.prompt.detail is not None, timeout=WAIT)
    assert window.detail.prompt.detail.row.custom_id == f"c{far}"  # type: ignore[union-attr]
