"""The issue's "done when", in the window: a new user with no key drops a CSV, picks the
built-in Claude sandbox, sees the estimate, sends it and reads the answers — on the real
engine, the sandbox's Claude face and the real ``anthropic`` SDK."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from batcher_gui.domain.states import PromptState
from batcher_gui.ui.window.main_window import MainWindow
from tests.ui.conftest import WAIT, reviews_csv
from tests.ui.test_intake import _checked, _dialog, _drop


def test_a_csv_through_claude_from_drop_to_answer(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    _drop(window, [reviews_csv(tmp_path / "reviews.csv", 6)])
    dialog = _dialog(window, qtbot)
    _checked(dialog, qtbot)
    form = dialog.form
    form.profile.setCurrentIndex(form.profile.findData("sandbox-claude"))
    assert form.max_tokens.isVisible() and form.model.currentText().startswith("claude-")
    form.max_tokens.setValue(200)
    # The estimate: Anthropic's count_tokens (the sandbox's) counted all six requests.
    qtbot.waitUntil(lambda: dialog.estimate is not None and dialog.estimate.sampled == 6
                    and '"max_tokens": 200' in dialog.examples.toPlainText(), timeout=WAIT)
    assert dialog.estimate is not None and dialog.estimate.requests == 6
    assert dialog.estimate.method == "counted" and dialog.estimate.input_tokens > 6
    assert "$" in dialog.cost.text() and "by the provider" in dialog.cost.text()
    dialog.import_button.click()
    qtbot.waitUntil(lambda: window.intake._import_dialog is None, timeout=WAIT)

    qtbot.waitUntil(lambda: (r := window.runs_model.item(0)) is not None
                    and r.count(PromptState.PROCESSED) == 6, timeout=60_000)
    window.runs.selectRow(0)
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 6, timeout=WAIT)
    window.prompts.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.currentWidget() is window.detail.prompt
                    and window.detail.prompt.detail is not None, timeout=WAIT)
    prompt = window.detail.prompt
    assert "Sandbox reply" in prompt.conversation.toPlainText()
    assert "sandbox-claude (Anthropic)" in prompt.title.text()
    assert "Cache read" in prompt.conversation.toHtml()
    assert "$" in prompt.usage.text()  # priced from the answer's usage
