"""The Compare tab: two runs from the runs list, counts, filters, both answers diffed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from batcher_gui.domain.compare import CompareFilter, DiffOp, word_diff
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import PromptState
from batcher_gui.ui.dialogs.rerun_dialog import RerunDialog
from batcher_gui.ui.models.compare import COL_A, COL_B, COL_KEY, COL_SAME
from batcher_gui.ui.views.compare_view import CompareView, diff_html
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import write_chat
from tests.ui.conftest import WAIT, await_task

DONE = (PromptState.PROCESSED, PromptState.DELIVERED)


def _two_finished_runs(window: MainWindow, qtbot: QtBot, tmp_path: Path) -> None:
    service = window.service
    assert service is not None
    # The same custom_ids; run two asks something else on c1 and c3 (the sandbox echoes it).
    first = write_chat(tmp_path / "one.jsonl", 5)
    second = write_chat(tmp_path / "two.jsonl", 5, "gpt-4o",
                        text=lambda i: f"q {i}" if i % 2 == 0 else f"other question {i}")
    for path in (first, second):
        run = await_task(qtbot, service.import_file(path, ImportOptions(), profile="sandbox")).run
        await_task(qtbot, service.submit(run.id))
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 2 and all(
        r.count(*DONE) == 5 for r in window.runs_model.items()), timeout=WAIT)


def _select_both_runs(window: MainWindow) -> None:
    selection = window.runs.selectionModel()
    for row in range(window.runs_model.rowCount()):
        selection.select(window.runs_model.index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)


def test_two_selected_runs_compare_in_a_tab(make_window: Callable[..., MainWindow], qtbot: QtBot,
                                            tmp_path: Path, qtmodeltester: Any) -> None:
    window = make_window()
    _two_finished_runs(window, qtbot, tmp_path)
    _select_both_runs(window)
    assert window.menu["compare"].isEnabled()
    window.menu["compare"].trigger()
    view = window.tabs.currentWidget()
    assert isinstance(view, CompareView)
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Compare #1 ↔ #2"
    qtbot.waitUntil(lambda: view.buttons[CompareFilter.DIFFERENT].isEnabled(), timeout=WAIT)
    model = view.model
    qtbot.waitUntil(lambda: model.rowCount() == 5, timeout=WAIT)
    qtmodeltester.check(model)
    assert view.buttons[CompareFilter.DIFFERENT].text() == "Different (2)"
    assert view.buttons[CompareFilter.SAME].text() == "Same (3)"
    assert "exact <b>60.0%</b> (3)" in view.agreement.text()
    assert "run #2" in view.sides.text() and "gpt-4o" in view.sides.text()
    assert [model.index(r, COL_KEY).data() for r in range(5)] == [f"c{i}" for i in range(5)]

    view.buttons[CompareFilter.DIFFERENT].click()
    qtbot.waitUntil(lambda: model.rowCount() == 2 and model.index(0, COL_KEY).data() == "c1",
                    timeout=WAIT)
    qtmodeltester.check(model)
    assert model.index(1, COL_KEY).data() == "c3"
    assert model.index(0, COL_SAME).data() == "different"
    assert "q 1" in model.index(0, COL_A).data()
    assert "other question 1" in model.index(0, COL_B).data()

    view.table.selectRow(0)
    qtbot.waitUntil(lambda: "other question 1" in view.answer_b.toPlainText(), timeout=WAIT)
    assert "q 1" in view.answer_a.toPlainText()
    assert "c1 — different" in view.pair_title.text()

    # "Re-run the Different Ones…": the Re-run dialog on run A's two different prompts.
    view.rerun_button.click()
    qtbot.waitUntil(lambda: window.findChild(RerunDialog, "rerun-dialog") is not None,
                    timeout=WAIT)
    dialog = window.findChild(RerunDialog, "rerun-dialog")
    qtbot.waitUntil(lambda: dialog.which.text() == "2 different of run #1 'one'", timeout=WAIT)
    dialog.reject()

    # Opening the same compare again goes back to its tab; "Compare Again" reads it afresh
    # in its place; closing it removes it.
    assert window.open_compare(1, 2) is view
    view.again_button.click()
    fresh = window.tabs.currentWidget()
    assert isinstance(fresh, CompareView) and fresh is not view
    assert window.tabs.indexOf(fresh) == 3
    qtbot.waitUntil(lambda: fresh.buttons[CompareFilter.SAME].text() == "Same (3)",
                    timeout=WAIT)
    fresh.close_button.click()
    assert window.tabs.indexOf(fresh) == -1
    assert window.tabs.count() == 3


def test_compare_with_asks_for_the_other_run(make_window: Callable[..., MainWindow],
                                             qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    _two_finished_runs(window, qtbot, tmp_path)
    window.runs.selectRow(window.runs_model.row_of(2))
    window.menu["compare"].trigger()
    qtbot.waitUntil(lambda: window.findChild(QInputDialog, "compare-with") is not None,
                    timeout=WAIT)
    dialog = window.findChild(QInputDialog, "compare-with")
    assert "#2" in dialog.labelText()
    dialog.setTextValue(dialog.comboBoxItems()[0])
    dialog.accept()
    qtbot.waitUntil(lambda: isinstance(window.tabs.currentWidget(), CompareView), timeout=WAIT)
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Compare #2 ↔ #1"
    view = window.tabs.currentWidget()
    assert isinstance(view, CompareView)
    qtbot.waitUntil(lambda: view.buttons[CompareFilter.ONLY_A].text() == "Only in A (0)",
                    timeout=WAIT)


def test_a_run_is_not_compared_with_itself_nor_with_a_missing_one(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    assert window.open_compare(1, 1) is None
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "message-box") is not None,
                    timeout=WAIT)
    assert "itself" in window.findChild(QMessageBox, "message-box").text()
    view = window.open_compare(1, 2)  # neither exists (a run deleted meanwhile)
    assert view is not None
    qtbot.waitUntil(lambda: "Cannot compare: run 1 is gone" in view.agreement.text(),
                    timeout=WAIT)


def test_the_diff_marks_words_each_side_lacks_in_light_and_dark() -> None:
    ops = word_diff("The cat sat on the mat.", "The dog sat on the mat!")
    assert ops[0] == (DiffOp.SAME, "The ")
    assert (DiffOp.DELETED, "cat") in ops and (DiffOp.INSERTED, "dog") in ops
    assert "".join(t for op, t in ops if op is not DiffOp.INSERTED) == "The cat sat on the mat."
    assert "".join(t for op, t in ops if op is not DiffOp.DELETED) == "The dog sat on the mat!"
    light = diff_html(ops, DiffOp.DELETED, dark=False)
    dark = diff_html(ops, DiffOp.INSERTED, dark=True)
    assert "line-through" in light and ">cat</span>" in light and "dog" not in light
    assert "#14532d" in dark and ">dog</span>" in dark and "cat" not in dark
