"""What the window opens for a workspace belongs to that workspace: dialogs, tasks, readers end
with it; an older workspace opens cleanly; jobs keep their own progress."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from batcher_gui.domain.events import ExportProgress
from batcher_gui.domain.models import ImportOptions
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import open_store
from batcher_gui.storage.db import upgrade_to
from batcher_gui.ui.base.tasks import owned_tasks
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import write_chat
from tests.ui.conftest import WAIT, await_task, message_box, ws_paths


def _import(window: MainWindow, qtbot: QtBot, path: Path, name: str) -> int:
    assert window.service is not None
    summary = await_task(qtbot, window.service.import_file(path, ImportOptions(),
                                                           profile="sandbox", name=name))
    qtbot.waitUntil(lambda: window.runs_model.row_of(summary.run.id) >= 0, timeout=WAIT)
    return summary.run.id


def test_an_older_workspace_opens_on_its_runs_not_on_the_crash_dialog(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    database = ws_paths(tmp_path / "ws").create().database
    upgrade_to(database, "0001")  # as Batcher's first release left it
    with sqlite3.connect(database) as raw:
        raw.execute("INSERT INTO runs (id, name, source_format, profile_id, created_at, "
                    "prompt_count) VALUES (1, 'old run', 'jsonl', 1, 1.0, 1)")
        raw.execute("INSERT INTO batches (id, uuid, profile_id, endpoint, model, state, "
                    "request_count, bytes, created_at, updated_at) VALUES (1, 'u-1', 1, "
                    "'/v1/chat/completions', 'gpt-4o-mini', 'draft', 1, 99, 1.0, 1.0)")
        raw.execute("INSERT INTO prompts (id, run_id, batch_id, line_no, user_custom_id, "
                    "endpoint, model, state, request_bytes, body) VALUES (1, 1, 1, 1, 'req-1', "
                    "'/v1/chat/completions', 'gpt-4o-mini', 'pending', 99, X'7B7D')")
    raw.close()
    window = make_window()
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    assert window.runs_model.item(0).run.name == "old run"  # type: ignore[union-attr]
    window.runs.selectRow(0)
    qtbot.waitUntil(lambda: window.prompts.model.row_at(0) is not None, timeout=WAIT)
    assert window.prompts.model.row_at(0).custom_id == "req-1"  # type: ignore[union-attr]
    assert message_box("crash-dialog") is None


def test_a_workspace_switch_closes_its_dialogs_and_ends_its_tasks(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    run_id = _import(window, qtbot, write_chat(tmp_path / "a.jsonl", 3), "a")
    window.live.select_run(run_id)
    settings = window.intake.open_settings("workspace")
    window.intake.open_delivery()
    old = window.session
    assert settings is not None and old is not None
    dialogs = old.dialogs()
    assert len(dialogs) == 2 and all(d.isVisible() for d in dialogs)
    # A task of the old workspace still running at the switch (a probe that never ends alone),
    # beside whatever its session and dialogs are doing then.
    probe = old.spawn(asyncio.sleep(3600), name="probe")
    running = [probe, *owned_tasks(old), *(t for d in dialogs for t in owned_tasks(d))]
    second = ws_paths(tmp_path / "second").create()
    await_task(qtbot, window.open_workspace(second))
    QApplication.processEvents()
    qtbot.waitUntil(lambda: not any(shiboken6.isValid(d) and d.isVisible() for d in dialogs),
                    timeout=WAIT)
    assert old.service is None and old.reader is None  # closed, not left running
    qtbot.waitUntil(lambda: all(t.done() for t in running), timeout=WAIT)
    assert probe.cancelled()
    # The second workspace's settings are the ones Preferences shows now.
    fresh = window.intake.open_settings("workspace")
    assert fresh is not None and fresh.service is window.service is not None
    assert window.session is not None and window.session.dialogs() == [fresh]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers (a provider hanging)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    listener.close()


def test_closing_preferences_while_a_connection_is_tested_is_calm(
        make_window: Callable[..., MainWindow], qtbot: QtBot, silent_server: str) -> None:
    window = make_window()
    assert window.service is not None
    from batcher_gui.config.profiles import ProfileFields
    from batcher_gui.domain.models import ProfileKind

    await_task(qtbot, window.service.add_profile(ProfileFields(
        "hanging", ProfileKind.OPENAI_COMPATIBLE, silent_server, None)))
    await_task(qtbot, window.service.set_key("hanging", "sk-test-hanging-0000"))
    dialog = window.intake.open_settings("profiles", profile="hanging")
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.keys.profile is not None
                    and dialog.keys.profile.name == "hanging"
                    and dialog.keys.test_button.isEnabled(), timeout=WAIT)
    dialog.keys.test_button.click()
    qtbot.waitUntil(lambda: dialog.keys.test_button.text() == "Testing…", timeout=WAIT)
    testing = owned_tasks(dialog)
    assert testing  # the connection test, waiting for the silent server
    dialog.reject()  # closed while the test waits for the silent server
    qtbot.waitUntil(lambda: all(t.done() for t in testing), timeout=WAIT)
    QApplication.processEvents()
    assert message_box("crash-dialog") is None  # and nothing was logged (the log check)


def test_two_exports_at_once_each_show_their_own_progress(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    big = _import(window, qtbot, write_chat(tmp_path / "big.jsonl", 3000), "big")
    small = _import(window, qtbot, write_chat(tmp_path / "small.jsonl", 5), "small")
    outputs = {big: tmp_path / "big.csv", small: tmp_path / "small.jsonl"}
    done: list[int] = []
    for run_id, path in outputs.items():
        window.commands.start_job(f"Exporting #{run_id}", str(path),
                                  lambda service, job, cancel, r=run_id, p=path: _export(
                                      service, job, cancel, r, p, done))
    jobs = dict(window.commands._progress)
    assert len(jobs) == 2 and len(set(jobs)) == 2
    first, second = sorted(jobs)
    window.commands.on_progress(ExportProgress(first, big, "x", 50, 100))
    assert jobs[first].value() == 500 and jobs[second].value() in (-1, 0)
    qtbot.waitUntil(lambda: len(done) == 2, timeout=WAIT)
    assert sorted(done) == [5, 3000]
    assert len(outputs[small].read_text().splitlines()) == 5
    assert len(outputs[big].read_text().splitlines()) == 3001  # a header and every prompt
    qtbot.waitUntil(lambda: not window.commands._progress, timeout=WAIT)


async def _export(service: object, job: int, cancel: threading.Event, run_id: int, path: Path,
                  done: list[int]) -> int:
    count: int = await service.export_run(run_id, path, cancel=cancel,  # type: ignore
                                          job_id=job)
    done.append(count)
    return count


def test_a_run_chosen_by_id_keeps_its_prompt_chosen_after_a_reload(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    run_id = _import(window, qtbot, write_chat(tmp_path / "a.jsonl", 30), "a")
    window.live.select_run(run_id)
    qtbot.waitUntil(lambda: window.prompts.model.row_at(7) is not None, timeout=WAIT)
    window.prompts.table.selectRow(7)
    chosen = window.prompts.current()
    assert chosen is not None
    window.full_refresh()  # F5: the table is read again from its start
    qtbot.waitUntil(lambda: (c := window.prompts.current()) is not None and c.id == chosen.id,
                    timeout=WAIT)


def test_an_existing_workspace_opens_on_its_prompts(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    paths = ws_paths(tmp_path / "ws").create()
    store = open_store(paths.database)
    import_file(store, write_chat(tmp_path / "q.jsonl", 500), ImportOptions(),
                profile_name="sandbox")
    store.db.close()
    window = make_window()
    # No click: every prompt of the workspace, read as soon as the window opens.
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 500
                    and window.prompts.model.row_at(0) is not None, timeout=WAIT)
    assert window.prompts.model.row_at(0).custom_id == "c0"  # type: ignore[union-attr]
    assert not window.prompts.new_rows.isVisible()
