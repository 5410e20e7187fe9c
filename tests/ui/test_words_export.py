"""Run → Export Run… with a filtered prompts table asks, in plain words, whether to export the
prompts the filters show or the whole run, and writes exactly what was chosen (real window,
engine and sandbox, offscreen)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import PromptState
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import write_chat
from tests.ui.conftest import WAIT, await_task, message_box


def _questions(path: Path, n: int) -> Path:
    return write_chat(path, n, prefix="k",
                      text=lambda i: f"question {i}" + (" about kettles" if i % 4 == 1 else ""))


def _save_as(qtbot: QtBot, path: Path) -> None:
    """Answer the export's file dialog with ``path``."""
    def shown() -> QFileDialog | None:
        for widget in QApplication.topLevelWidgets():
            if (isinstance(widget, QFileDialog) and widget.objectName() == "file-dialog"
                    and widget.isVisible()):
                return widget
        return None

    qtbot.waitUntil(lambda: shown() is not None, timeout=WAIT)
    dialog = shown()
    assert dialog is not None
    name = dialog.findChild(QLineEdit, "fileNameEdit")  # where the user types the name
    assert name is not None
    name.setText(str(path))
    dialog.accept()


def _ids(path: Path, qtbot: QtBot) -> list[str]:
    qtbot.waitUntil(path.exists, timeout=WAIT)
    return [orjson.loads(line)["custom_id"] for line in path.read_bytes().splitlines()]


def test_export_offers_the_shown_prompts_or_the_whole_run(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    service = window.service
    assert service is not None
    summary = await_task(qtbot, service.import_file(_questions(tmp_path / "k.jsonl", 12),
                                                    ImportOptions(), profile="sandbox"))
    await_task(qtbot, service.submit(summary.run.id))
    qtbot.waitUntil(lambda: (r := window.runs_model.item(0)) is not None
                    and r.count(PromptState.PROCESSED) == 12, timeout=WAIT)
    window.runs.selectRow(0)
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 12, timeout=WAIT)

    # No filter: no question, the whole run.
    window.commands.export()
    _save_as(qtbot, tmp_path / "all.jsonl")
    assert len(_ids(tmp_path / "all.jsonl", qtbot)) == 12

    window.prompts.search.setText("KETTLES")
    window.prompts.apply_filters()
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 3, timeout=WAIT)
    for choice, out, expected in (("Only the 3 Shown Prompts", "shown.jsonl", ["k1", "k5", "k9"]),
                                  ("The Whole Run", "whole.jsonl", [f"k{i}" for i in range(12)])):
        window.commands.export()
        qtbot.waitUntil(lambda: message_box("export-choice") is not None, timeout=WAIT)
        box = message_box("export-choice")
        assert box is not None
        assert box.text() == (f"The prompts table is filtered: it shows 3 prompts of run "
                              f"{summary.run.label}. Export only those, or all 12 prompts of "
                              "the run?")
        buttons = {b.text(): b for b in box.buttons()}
        assert choice in buttons and box.defaultButton() is buttons["Only the 3 Shown Prompts"]
        buttons[choice].click()
        _save_as(qtbot, tmp_path / out)
        assert _ids(tmp_path / out, qtbot) == expected
    qtbot.waitUntil(lambda: "Exported 12 prompts" in window.statusBar().currentMessage(),
                    timeout=WAIT)

    # Cancelled at the question: nothing is asked further, nothing written.
    window.commands.export()
    qtbot.waitUntil(lambda: message_box("export-choice") is not None, timeout=WAIT)
    box = message_box("export-choice")
    assert box is not None
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(200)
    assert not any(isinstance(w, QFileDialog) and w.isVisible()
                   for w in QApplication.topLevelWidgets())
