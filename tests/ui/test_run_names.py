"""Run names in the import dialog: a clean suggestion from any file name, a clear refusal of a
name that is too long or holds control characters (nothing imported), then a fixed name."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from batcher_gui.ui.window.main_window import MainWindow
from tests.ui.conftest import WAIT


def test_the_import_dialog_refuses_a_5000_character_name(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    prompts = tmp_path / "news\x1b[31m\u202eq.jsonl"
    prompts.write_text(json.dumps({
        "custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    }) + "\n")
    window.intake.import_paths([str(prompts)])
    qtbot.waitUntil(lambda: window.intake._import_dialog is not None, timeout=WAIT)
    dialog = window.intake._import_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=WAIT)
    assert dialog.form.name.text() == "news[31mq"  # the file's name, cleaned

    for bad, says in (("x" * 5000, "at most 200 characters; this one has 5,000"),
                      ("a\x1b[2Jb", "control or invisible formatting characters")):
        dialog.form.name.setText(bad)
        dialog.import_button.click()
        qtbot.waitUntil(lambda: "nothing was imported" in dialog.summary.text(), timeout=WAIT)
        assert says in dialog.summary.text()
        assert window.runs_model.rowCount() == 0
        dialog.summary.setText("")

    dialog.form.name.setText("  news digest  ")
    dialog.import_button.click()
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    assert [item.run.name for item in window.runs_model.items()] == ["news digest"]


def test_markup_in_a_files_text_is_shown_as_text_never_rendered(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    """A custom_id or run name that looks like HTML is what the detail titles and forms show,
    letter for letter: Qt would otherwise render it (a link, a heading) in rich-text labels."""
    from PySide6.QtGui import QTextDocument
    from PySide6.QtWidgets import QLabel

    from batcher_gui.domain.models import ImportOptions
    from tests.ui.conftest import await_task

    custom_id = '<a href="https://evil.example">PAID</a>'
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({
        "custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    }) + "\n")
    window = make_window()
    assert window.service is not None
    name = "<h1>all done</h1>"
    summary = await_task(qtbot, window.service.import_file(prompts, ImportOptions(),
                                                           profile="sandbox", name=name))
    qtbot.waitUntil(lambda: window.runs_model.row_of(summary.run.id) >= 0, timeout=WAIT)

    def shown(label: QLabel) -> str:
        """What a person reads in the label."""
        if label.textFormat() == Qt.TextFormat.PlainText:
            return label.text()
        document = QTextDocument()
        document.setHtml(label.text())
        return document.toPlainText()

    window.runs.selectRow(window.runs_model.row_of(summary.run.id))
    qtbot.waitUntil(lambda: window.detail.shown() == ("run", summary.run.id), timeout=WAIT)
    assert name in shown(window.detail.run.title)
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 1, timeout=WAIT)
    window.prompts.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.currentWidget() is window.detail.prompt
                    and window.detail.prompt.detail is not None, timeout=WAIT)
    assert shown(window.detail.prompt.title).startswith(custom_id)
