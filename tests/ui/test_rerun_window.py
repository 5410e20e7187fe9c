"""Re-run from the window: the dialog's flow, the prompts table's entries, lineage in the runs
list, and Compare offered once when the re-run has ended (real engine, built-in sandbox)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import PromptState
from batcher_gui.ui.dialogs.rerun_dialog import RerunDialog
from batcher_gui.ui.models.runs import COL_SOURCE
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import write_chat
from tests.ui.conftest import WAIT, await_task


def _window_with_run(make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path,
                     n: int = 3, **engine: Any) -> MainWindow:
    window = make_window(**engine)
    service = window.service
    assert service is not None
    await_task(qtbot, service.import_file(write_chat(tmp_path / "rev.jsonl", n),
                                          ImportOptions(), profile="sandbox"))
    await_task(qtbot, service.submit())
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    window.runs.selectRow(0)
    return window


def _dialog(window: MainWindow, qtbot: QtBot) -> RerunDialog:
    qtbot.waitUntil(lambda: window.reruns.dialog is not None
                    and window.reruns.dialog.isVisible(), timeout=WAIT)
    dialog = window.reruns.dialog
    assert dialog is not None
    return dialog


def test_rerun_dialog_shows_the_change_and_makes_the_run(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = _window_with_run(make_window, qtbot, tmp_path)
    assert window.menu["rerun"] in window.runs.actions()  # the runs list's right-click menu
    window.menu["rerun"].trigger()
    dialog = _dialog(window, qtbot)
    qtbot.waitUntil(lambda: "Choose what to change" in dialog.message.text(), timeout=WAIT)
    assert dialog.which.text() == "all 3 prompts of run #1 'rev'"
    assert not dialog.rerun_button.isEnabled()
    assert not dialog.template.isEnabled()  # a JSONL run has no template
    # A change the requests cannot take is refused, with the reason, before anything is made.
    qtbot.waitUntil(lambda: dialog.profile.count() > 2, timeout=WAIT)
    dialog.profile.setCurrentIndex(dialog.profile.findData("sandbox-claude"))
    qtbot.waitUntil(lambda: "is an OpenAI model" in dialog.message.text(), timeout=WAIT)
    assert not dialog.rerun_button.isEnabled()
    dialog.profile.setCurrentIndex(0)
    dialog.model.setText("gpt-4o")
    dialog.options.setPlainText("temperature=0.2")
    qtbot.waitUntil(dialog.rerun_button.isEnabled, timeout=WAIT)
    qtbot.waitUntil(lambda: "input tokens" in dialog.estimate.text(), timeout=WAIT)
    assert dialog.message.text() == ("Re-run of #1 (model → gpt-4o, temperature → 0.2; all 3 "
                                     "prompts): a new run, sent like an import.")
    preview = dialog.preview.toPlainText()
    assert preview.startswith("custom_id: c0\n— now —\n") and '"model": "gpt-4o"' in preview
    assert "\"temperature\": 0.2" in preview
    assert dialog.name.placeholderText() == "rev → gpt-4o"
    with qtbot.waitSignal(dialog.made, timeout=WAIT) as made:
        dialog.rerun_button.click()
    assert made.args == [1, 2]
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 2, timeout=WAIT)
    rerun = window.runs_model.item(0)
    assert rerun is not None and rerun.run.name == "rev → gpt-4o"
    assert window.runs_model.data(window.runs_model.index(0, COL_SOURCE)) == (
        "re-run of #1 (model → gpt-4o, temperature → 0.2; all 3 prompts)")
    window.runs.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.currentWidget() is window.detail.run, timeout=WAIT)
    shown = window.detail.run.findChild(QLabel, "run-re-run-of")
    assert shown is not None and shown.text().startswith("#1 (model → gpt-4o")


def test_prompts_table_reruns_the_selection_or_what_is_shown(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = _window_with_run(make_window, qtbot, tmp_path, n=5)
    prompts = window.prompts
    qtbot.waitUntil(lambda: prompts.run_id == 1 and prompts.model.rowCount() == 5,
                    timeout=WAIT)
    assert window.reruns.rerun_selected in prompts.table.actions()
    window.reruns.rerun_selected.trigger()  # nothing selected: said, nothing opened
    qtbot.waitUntil(_any_box, timeout=WAIT)
    _close_boxes()
    prompts.table.selectRow(2)
    qtbot.waitUntil(lambda: prompts.current() is not None, timeout=WAIT)
    window.reruns.rerun_selected.trigger()
    dialog = _dialog(window, qtbot)
    qtbot.waitUntil(lambda: dialog.which.text() == "1 selected of run #1 'rev'", timeout=WAIT)
    dialog.reject()
    window.reruns.dialog = None
    prompts.search.setText("q 4")
    qtbot.waitUntil(lambda: prompts.model.rowCount() == 1, timeout=WAIT)
    window.reruns.rerun_shown.trigger()
    dialog = _dialog(window, qtbot)
    dialog.model.setText("gpt-4o")
    qtbot.waitUntil(dialog.rerun_button.isEnabled, timeout=WAIT)
    assert dialog.which.text() == "1 shown of run #1 'rev'"
    assert dialog.preview.toPlainText().startswith("custom_id: c4\n")


def _any_box() -> bool:
    from PySide6.QtWidgets import QApplication

    return any(isinstance(w, QMessageBox) and w.isVisible()
               for w in QApplication.topLevelWidgets())


def _close_boxes() -> None:
    from PySide6.QtWidgets import QApplication

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.isVisible():
            assert "Select the prompts to re-run first." in widget.text()
            widget.close()


def test_compare_opens_once_when_the_rerun_has_ended(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    # Drafts wait ten minutes for more prompts: the re-run goes at once all the same ("Send it
    # now", on by default), as the user asked for it.
    window = _window_with_run(make_window, qtbot, tmp_path, quiet_seconds=600)
    calls: list[tuple[int, int]] = []
    window.open_compare = lambda origin, run: calls.append((origin, run))  # type: ignore
    # The origin run ends on its own (the sandbox answers at once): it is no re-run.
    qtbot.waitUntil(lambda: (r := window.runs_model.item(0)) is not None and r.ended,
                    timeout=WAIT)
    window.menu["rerun"].trigger()
    dialog = _dialog(window, qtbot)
    dialog.model.setText("gpt-4o")
    qtbot.waitUntil(dialog.rerun_button.isEnabled, timeout=WAIT)
    dialog.rerun_button.click()
    qtbot.waitUntil(lambda: calls == [(1, 2)], timeout=WAIT)
    # The offer comes from the workspace; the runs list shows it at its next refresh.
    qtbot.waitUntil(lambda: (r := window.runs_model.item(0)) is not None
                    and r.count(PromptState.PROCESSED) == 3, timeout=WAIT)
    for _ in range(3):  # more refreshes: never offered again
        with qtbot.waitSignal(window.live.refreshed, timeout=WAIT):
            window.full_refresh()
    qtbot.waitUntil(lambda: not window.reruns._checking, timeout=WAIT)
    assert calls == [(1, 2)] and window.reruns.offered == [(1, 2)]


def test_rerun_failed_checks_and_the_different_ones(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = _window_with_run(make_window, qtbot, tmp_path, n=4)
    # Answered first: a new answer's check starts over (its old result would be stale).
    qtbot.waitUntil(lambda: (r := window.runs_model.item(0)) is not None and r.ended,
                    timeout=WAIT)
    window.menu["rerun_failed_checks"].trigger()  # no answer failed a check yet
    dialog = _dialog(window, qtbot)
    qtbot.waitUntil(lambda: "nothing to re-run" in dialog.message.text(), timeout=WAIT)
    assert dialog.which.text() == "0 failed checks of run #1 'rev'"
    assert not dialog.rerun_button.isEnabled()
    dialog.reject()
    window.reruns.dialog = None
    conn = sqlite3.connect(tmp_path / "ws" / "batcher.sqlite3")
    with conn:
        # As the checker leaves them (check_revision set: out of its queue; else, the run
        # having no rules, it may take these results off again).
        conn.execute("UPDATE prompts SET check_state = 0, check_revision = 0 "
                     "WHERE user_custom_id IN ('c1', 'c3')")
        ids = [pid for (pid,) in conn.execute(
            "SELECT id FROM prompts WHERE user_custom_id IN ('c0', 'c2') ORDER BY id")]
    conn.close()
    window.menu["rerun_failed_checks"].trigger()
    dialog = _dialog(window, qtbot)
    dialog.model.setText("gpt-4o")
    qtbot.waitUntil(dialog.rerun_button.isEnabled, timeout=WAIT)
    assert dialog.which.text() == "2 failed checks of run #1 'rev'"
    dialog.reject()
    window.reruns.dialog = None
    window.reruns.rerun_different(1, ids)  # what Compare's "Re-run the different ones" calls
    dialog = _dialog(window, qtbot)
    dialog.model.setText("gpt-4o")
    qtbot.waitUntil(dialog.rerun_button.isEnabled, timeout=WAIT)
    assert dialog.which.text() == "2 different of run #1 'rev'"
    with qtbot.waitSignal(dialog.made, timeout=WAIT):
        dialog.rerun_button.click()
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 2, timeout=WAIT)
    assert window.runs_model.data(window.runs_model.index(0, COL_SOURCE)) == (
        "re-run of #1 (model → gpt-4o; 2 different)")
