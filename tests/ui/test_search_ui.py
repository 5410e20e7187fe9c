"""Search in the window: the index builds in the background and says its size and progress,
turning it off drops it, and the search's matches are marked in the table and the detail."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QColor, QImage, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView, QTextEdit
from pytestqt.qtbot import QtBot

from batcher_gui.domain.models import ImportOptions
from batcher_gui.storage.search import FTS_TABLE
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.views.highlight import MARK, HighlightDelegate, mark_matches
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import write_chat
from tests.ui.conftest import WAIT


def _marked_pixels(image: QImage) -> int:
    """Pixels of the marker's hue (yellow: much more red than blue, as no theme colour is)."""
    found = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = QColor(image.pixel(x, y))
            if c.red() > 180 and c.green() > 140 and c.red() - c.blue() > 90:
                found += 1
    return found


def _table(qtbot: QtBot, text: str) -> tuple[QTableView, HighlightDelegate]:
    model = QStandardItemModel(1, 1)
    model.setItem(0, 0, QStandardItem(text))
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setColumnWidth(0, 400)
    delegate = HighlightDelegate(view)
    view.setItemDelegateForColumn(0, delegate)
    view.resize(460, 120)
    view.show()
    qtbot.waitExposed(view)
    return view, delegate


def test_the_delegate_marks_matches_and_only_them(qtbot: QtBot) -> None:
    view, delegate = _table(qtbot, "The verdict: zanzibar, then classify")
    assert _marked_pixels(view.viewport().grab().toImage()) == 0  # no search: plain
    delegate.set_query("zanz")
    view.viewport().update()
    assert _marked_pixels(view.viewport().grab().toImage()) > 10
    delegate.set_query("anzib")  # words: "anzib" starts no word
    view.viewport().update()
    assert _marked_pixels(view.viewport().grab().toImage()) == 0
    delegate.set_query("anzib", words=False)  # substrings (no index): it matches
    view.viewport().update()
    assert _marked_pixels(view.viewport().grab().toImage()) > 10


def test_the_detail_text_marks_matches(qtbot: QtBot) -> None:
    edit = QTextEdit()
    qtbot.addWidget(edit)
    edit.setPlainText("Apple pie and an apple tree; pineapple")
    assert mark_matches(edit, "apple") == 2  # words: not inside "pineapple"
    assert edit.extraSelections()[0].format.background().color() == MARK
    assert mark_matches(edit, "apple", words=False) == 3
    assert mark_matches(edit, "") == 0 and edit.extraSelections() == []


def test_the_window_builds_the_index_shows_it_and_drops_it(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    assert window.service is not None
    task = spawn(window.service.import_file(
        write_chat(tmp_path / "q.jsonl", 30, text=lambda i: f"question {i} about kiwis"),
        ImportOptions(), profile="sandbox"))
    qtbot.waitUntil(task.done, timeout=WAIT)
    button = window.search_index.button
    database = window.service.paths.database

    def indexed() -> int:
        with sqlite3.connect(database) as conn:
            return int(conn.execute("SELECT coalesce(sum(indexed_to - first_id + 1), 0) "
                                    "FROM search_runs").fetchone()[0])

    qtbot.waitUntil(lambda: indexed() == 30, timeout=WAIT)
    qtbot.waitUntil(lambda: button.text().endswith("100 %"), timeout=WAIT)
    assert button.isVisible() and button.text().startswith("Search index: ")
    assert window.search_index.action.isChecked()
    # A search by the index: the word's prefix, the matches marked in the table.
    window.prompts.search.setText("kiw")
    window.prompts.apply_filters()
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 30, timeout=WAIT)
    assert window.prompts.highlight.query == "kiw" and window.prompts.highlight.words
    assert window.detail.prompt.search_query == "kiw"
    # Off: the index is dropped, searches scan substrings again.
    window.search_index.action.trigger()
    qtbot.waitUntil(lambda: button.text() == "Search index: off", timeout=WAIT)
    assert not window.search_index.action.isChecked()
    qtbot.waitUntil(lambda: not window.prompts.highlight.words, timeout=WAIT)
    with sqlite3.connect(database) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_schema")]
    assert not any(n.startswith(FTS_TABLE) for n in names)
    window.prompts.search.setText("iwis")  # a substring: found by the scan
    window.prompts.apply_filters()
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 30, timeout=WAIT)
