"""Reviewing in the window: keys 1-9 label the current prompt and move on, N adds a note, a
selection is labelled together, Ctrl+Z undoes; the facets count and filter; / finds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from batcher_gui.domain.models import ImportOptions
from batcher_gui.storage.review import Review
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.dialogs.labels_dialog import LabelsDialog
from batcher_gui.ui.models.facets import FacetRole, FacetsModel
from batcher_gui.ui.models.prompts import COL_LABEL
from batcher_gui.ui.views.review_keys import NoteEditor
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import write_chat
from tests.ui.conftest import WAIT


def _window_with_run(make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path,
                     n: int = 8) -> MainWindow:
    window = make_window()
    assert window.service is not None
    # Each prompt has a word of its own ("kiwi3z"): a search finds one prompt, by the search
    # index (words) as by a scan (substrings), whatever the answers' random-looking codes hold.
    task = spawn(window.service.import_file(
        write_chat(tmp_path / "q.jsonl", n, text=lambda i: f"q {i} kiwi{i}z"), ImportOptions(),
        profile="sandbox"))
    qtbot.waitUntil(task.done, timeout=WAIT)
    assert task.exception() is None
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    window.runs.selectRow(0)
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == n
                    and window.prompts.model.row_at(n - 1) is not None, timeout=WAIT)
    return window


def _marks(window: MainWindow) -> dict[str, tuple[int | None, str | None]]:
    """custom_id -> (label, note), read from the workspace itself."""
    db = window.service.store.db
    with db.read() as conn:
        return {c: (lab, note) for c, lab, note in conn.exec_driver_sql(
            "SELECT user_custom_id, label, note FROM prompts ORDER BY id")}


def _facet_line(model: FacetsModel, facet: str, value: Any) -> int:
    for row in range(model.rowCount()):
        if model.data(model.index(row), FacetRole) == (facet, value):
            return row
    return -1


def test_keyboard_labelling_moves_on_persists_and_undoes(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = _window_with_run(make_window, qtbot, tmp_path)
    table, model = window.prompts.table, window.prompts.model
    table.setFocus()
    table.selectRow(0)
    qtbot.keyClick(table, Qt.Key.Key_1)  # good, and on to the next row
    assert table.selectionModel().selectedRows()[0].row() == 1
    assert model.data(model.index(0, COL_LABEL)) == "good"  # repainted at once
    qtbot.keyClick(table, Qt.Key.Key_2)
    qtbot.keyClick(table, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: _marks(window)["c2"] == (3, None), timeout=WAIT)
    assert [_marks(window)[f"c{i}"][0] for i in range(4)] == [1, 2, 3, None]
    # The same key again takes the label off; 0 takes any off.
    table.selectRow(0)
    qtbot.keyClick(table, Qt.Key.Key_1)
    table.selectRow(1)
    qtbot.keyClick(table, Qt.Key.Key_0)
    qtbot.waitUntil(lambda: _marks(window)["c1"] == (None, None), timeout=WAIT)
    assert _marks(window)["c0"] == (None, None)
    # Ctrl+Z: the last change back (c1 was "wrong"), then the one before (c0 "good").
    window.menu["undo_label"].trigger()
    qtbot.waitUntil(lambda: _marks(window)["c1"] == (2, None), timeout=WAIT)
    assert model.data(model.index(1, COL_LABEL)) == "wrong"
    window.menu["undo_label"].trigger()
    qtbot.waitUntil(lambda: _marks(window)["c0"] == (1, None), timeout=WAIT)
    # A note: N opens the editor on the row, Enter saves; Esc cancels; empty removes.
    table.setFocus()
    table.selectRow(4)
    qtbot.keyClick(table, Qt.Key.Key_N)
    editor = table.viewport().findChild(NoteEditor)
    assert editor is not None and editor.isVisible()
    qtbot.keyClicks(editor, "tone is off")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _marks(window)["c4"] == (None, "tone is off"), timeout=WAIT)
    # Shown at once; a reload read before the write committed may show the row as it was
    # for a moment, and the reload the write itself causes shows it again.
    qtbot.waitUntil(lambda: "✎ tone is off" in model.data(model.index(4, COL_LABEL)),
                    timeout=WAIT)
    qtbot.waitUntil(lambda: table.hasFocus(), timeout=WAIT)
    qtbot.keyClick(table, Qt.Key.Key_N)
    editor = next(e for e in table.viewport().findChildren(NoteEditor) if e.isVisible())
    assert editor.text() == "tone is off"
    editor.clear()
    qtbot.keyClicks(editor, "not saved")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: table.hasFocus(), timeout=WAIT)
    qtbot.keyClick(table, Qt.Key.Key_N)
    editor = next(e for e in table.viewport().findChildren(NoteEditor) if e.isVisible())
    editor.clear()
    qtbot.keyClick(editor, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: _marks(window)["c4"] == (None, None), timeout=WAIT)


def test_a_selection_is_labelled_together_and_bad_keys_say_why(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = _window_with_run(make_window, qtbot, tmp_path)
    table, model = window.prompts.table, window.prompts.model
    table.setFocus()
    table.selectRow(2)
    flags = (QItemSelectionModel.SelectionFlag.Select
             | QItemSelectionModel.SelectionFlag.Rows)
    for row in (3, 5):
        table.selectionModel().select(model.index(row, 0), flags)
    qtbot.keyClick(table, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: [_marks(window)[f"c{i}"][0] for i in range(8)]
                    == [None, None, 2, 2, None, 2, None, None], timeout=WAIT)
    assert len(table.selectionModel().selectedRows()) == 3  # the selection stays
    # Key 7 has no name: said in the status line, nothing changes, the row shows the truth.
    table.selectRow(0)
    qtbot.keyClick(table, Qt.Key.Key_7)
    qtbot.waitUntil(lambda: "no name yet" in window.statusBar().currentMessage(),
                    timeout=WAIT)
    qtbot.waitUntil(lambda: model.data(model.index(0, COL_LABEL)) == "", timeout=WAIT)
    assert _marks(window)["c0"] == (None, None)


def test_facets_count_filter_and_follow_the_search(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path,
        qtmodeltester: Any) -> None:
    window = _window_with_run(make_window, qtbot, tmp_path, n=10)
    review = Review(window.service.store.db)
    with window.service.store.db.read() as conn:
        ids = [i for (i,) in conn.exec_driver_sql("SELECT id FROM prompts ORDER BY id")]
    review.set_label(ids[:4], 1)
    review.set_label(ids[4:6], 2)
    review.set_note(ids[:1], "see this")
    panel = window.prompts
    facets = panel.facets.model
    spawn(panel.workspace_changed())
    qtbot.waitUntil(lambda: (r := _facet_line(facets, "labels", 1)) >= 0
                    and facets.data(facets.index(r)) == "good  4", timeout=WAIT)
    qtmodeltester.check(facets)
    assert facets.data(facets.index(_facet_line(facets, "labels", 0))) == "no label  4"
    assert facets.data(facets.index(_facet_line(facets, "has_note", True))) == \
        "with a note  1"
    # Click "good": the table shows those 4; the other facets count within them.
    row = _facet_line(facets, "labels", 1)
    panel.facets.list.clicked.emit(facets.index(row))
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4, timeout=WAIT)
    qtbot.waitUntil(lambda: (r := _facet_line(facets, "has_note", False)) >= 0
                    and facets.data(facets.index(r)) == "without a note  3", timeout=WAIT)
    assert facets.data(facets.index(_facet_line(facets, "labels", 2))) == "wrong  2"
    assert facets.data(facets.index(_facet_line(facets, "labels", 1)),
                       Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    # "wrong" too: values of one facet are OR-ed.
    panel.facets.list.clicked.emit(facets.index(_facet_line(facets, "labels", 2)))
    qtbot.waitUntil(lambda: panel.model.rowCount() == 6, timeout=WAIT)
    # A search narrows the table and the counts together.
    panel.search.setText("kiwi1z")  # c1 only
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: (r := _facet_line(facets, "labels", 2)) >= 0
                    and facets.data(facets.index(r)) == "wrong  0", timeout=WAIT)
    qtmodeltester.check(facets)
    panel.search.clear()
    panel.facets.clear.click()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 10, timeout=WAIT)
    # / from the table goes to the search box; View → Facets hides them, remembered.
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Slash)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.search, timeout=WAIT)
    window.menu["toggle_facets"].trigger()
    assert not panel.facets.isVisible()
    assert window.settings.value("view/facets", True, bool) is False


def test_labels_dialog_renames_adds_and_refuses(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = _window_with_run(make_window, qtbot, tmp_path, n=3)
    window.menu["labels"].trigger()
    qtbot.waitUntil(lambda: (d := window.findChild(LabelsDialog)) is not None
                    and d.fields[1].text() == "good", timeout=WAIT)
    dialog = window.findChild(LabelsDialog)
    assert dialog is not None
    dialog.fields[2].setText("good")  # a duplicate: said, nothing saved
    dialog.save()
    assert "both called 'good'" in dialog.problem.text()
    dialog.fields[1].setText("wrong")  # a swap goes through
    dialog.fields[2].setText("good")
    dialog.fields[4].setText("off topic")
    dialog.fields[3].setText("")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        dialog.save()
    assert Review(window.service.store.db).label_names() == {1: "wrong", 2: "good",
                                                             4: "off topic"}
