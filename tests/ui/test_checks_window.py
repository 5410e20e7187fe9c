"""Run → Checks… in the window: the dialog validates as it is typed, Save checks the answers in
the background, and the runs list, the prompts table and the detail pane show the results."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from batcher_gui.domain.checks import CheckRules
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import PromptState
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.dialogs.checks_dialog import ChecksDialog
from batcher_gui.ui.models.prompts import COL_CHECK
from batcher_gui.ui.models.runs import COL_CHECKS
from batcher_gui.ui.window.main_window import MainWindow
from tests.ui.conftest import WAIT, await_task


def _answered_run(window: MainWindow, qtbot: QtBot, tmp_path: Path) -> None:
    """Six prompts, the even ones asking for JSON; sent and answered; the run selected."""
    lines = []
    for i in range(6):
        body: dict[str, Any] = {"model": "gpt-4o-mini",
                                "messages": [{"role": "user", "content": f"question {i}"}]}
        if i % 2 == 0:
            body["response_format"] = {"type": "json_object"}
        lines.append({"custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions",
                      "body": body})
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert window.service is not None
    task = spawn(window.service.import_file(path, ImportOptions(), profile="sandbox"))
    qtbot.waitUntil(task.done, timeout=WAIT)
    assert task.exception() is None
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    window.runs.selectRow(0)
    window.menu["submit"].trigger()
    qtbot.waitUntil(lambda: (r := window.runs_model.item(0)) is not None
                    and r.count(PromptState.PROCESSED) == 6, timeout=WAIT)


def _dialog() -> ChecksDialog | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, ChecksDialog) and shiboken6.isValid(widget) \
                and widget.isVisible():
            return widget
    return None


def test_checks_dialog_sets_rules_and_the_window_shows_the_results(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path,
        qtmodeltester: Any) -> None:
    window = make_window()
    _answered_run(window, qtbot, tmp_path)
    assert window.menu["checks"] in window.runs.actions()  # right-click on the run
    assert window.menu["checks"].isEnabled()
    assert window.runs_model.data(window.runs_model.index(0, COL_CHECKS)) == ""

    window.menu["checks"].trigger()
    qtbot.waitUntil(lambda: _dialog() is not None, timeout=WAIT)
    dialog = _dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.counts.text() == "The run has no checks.", timeout=WAIT)

    # Validated as it is typed: Save stays off while a rule is wrong, saying why.
    dialog.use_schema.setChecked(True)
    assert not dialog.save_button.isEnabled()
    assert "Paste a JSON Schema" in dialog.message.text()
    dialog.schema.setPlainText('{"type": "nope"}')
    assert not dialog.save_button.isEnabled()
    assert "not a valid JSON Schema: $.type" in dialog.message.text()
    dialog.schema.setPlainText('{"type": "object", required: 1}')
    assert "Schema is not JSON: line 1 column 20" in dialog.message.text()
    dialog.schema.setPlainText('{"type": "object", "required": ["answer"]}')
    assert dialog.save_button.isEnabled()
    dialog.use_regex.setChecked(True)
    dialog.regex.setText("((")
    assert not dialog.save_button.isEnabled()
    assert "does not compile" in dialog.message.text()
    dialog.use_regex.setChecked(False)
    assert dialog.save_button.isEnabled() and dialog.message.text() == ""

    dialog.save_button.click()
    qtbot.waitUntil(lambda: _dialog() is None, timeout=WAIT)  # closed (and deleted)

    # Checked in the background: the runs list counts them...
    qtbot.waitUntil(lambda: window.runs_model.data(
        window.runs_model.index(0, COL_CHECKS)) == "3 ✓ 3 ✗", timeout=WAIT)
    assert "3 failed, 0 not checked" in window.runs_model.data(
        window.runs_model.index(0, COL_CHECKS), Qt.ItemDataRole.ToolTipRole)
    qtmodeltester.check(window.runs_model)
    # ...the prompts table's Check column shows each, and the detail the failing rule.
    model = window.prompts.model
    qtbot.waitUntil(lambda: model.rowCount() == 6 and all(
        model.data(model.index(r, COL_CHECK)) for r in range(6)), timeout=WAIT)
    words = [model.data(model.index(r, COL_CHECK)) for r in range(6)]
    assert words[0] == "passed"
    assert words[1].startswith("failed: json: line 1 column 1: Expecting value")
    window.prompts.table.selectRow(1)
    pane = window.detail.prompt
    qtbot.waitUntil(lambda: pane.detail is not None and pane.detail.row.custom_id == "c1",
                    timeout=WAIT)
    assert pane.check.isVisibleTo(pane)
    assert pane.check.text() == "✗ Check failed — json: line 1 column 1: Expecting value"

    # Opened again, the dialog shows the rules and the counts.
    window.menu["checks"].trigger()
    qtbot.waitUntil(lambda: _dialog() is not None, timeout=WAIT)
    again = _dialog()
    assert again is not None
    qtbot.waitUntil(lambda: "3 passed · 3 failed" in again.counts.text(), timeout=WAIT)
    assert again.use_schema.isChecked() and '"answer"' in again.schema.toPlainText()
    assert again.rules() == CheckRules(schema={"type": "object", "required": ["answer"]})
    # Remove Checks: the answers go back to not checked.
    again.clear_button.click()
    qtbot.waitUntil(lambda: _dialog() is None, timeout=WAIT)
    qtbot.waitUntil(lambda: window.runs_model.data(
        window.runs_model.index(0, COL_CHECKS)) == "", timeout=WAIT)
    checks = await_task(qtbot, window.service.run_checks(1))
    assert checks.rules.empty
    qtbot.waitUntil(lambda: not model.data(model.index(1, COL_CHECK)), timeout=WAIT)
