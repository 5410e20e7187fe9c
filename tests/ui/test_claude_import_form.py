"""The import dialog for a Claude profile: a max output tokens field with its default, no
endpoint choice, a Claude model, and requests built as Messages params."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from batcher_gui.config.profiles import ProfileFields
from batcher_gui.domain.models import ProfileKind
from batcher_gui.ui.dialogs.import_dialog import ImportDialog
from batcher_gui.ui.window.main_window import MainWindow
from tests.ui.conftest import WAIT, await_task, reviews_csv


def test_a_claude_profile_asks_for_max_output_tokens(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    service = window.service
    assert service is not None
    await_task(qtbot, service.add_profile(ProfileFields("claude", ProfileKind.ANTHROPIC)))
    dialog = ImportDialog(service, [str(reviews_csv(tmp_path / "reviews.csv", 3))], window)
    qtbot.addWidget(dialog)
    dialog.show()
    form = dialog.form
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=WAIT)
    # An OpenAI profile first (the workspace default): no max tokens field, an endpoint.
    assert not form.max_tokens.isVisible() and form.endpoint.isVisible()
    assert form.options(None, None, False).max_tokens is None

    form.profile.setCurrentIndex(form.profile.findData("claude"))
    assert form.max_tokens.isVisible() and form.max_tokens.value() == 1024
    assert not form.endpoint.isVisible()
    assert form.model.currentText().startswith("claude-")  # gpt-4o-mini cannot run there
    form.max_tokens.setValue(250)
    qtbot.waitUntil(lambda: '"max_tokens": 250' in dialog.examples.toPlainText()
                    and dialog.report is not None, timeout=WAIT)
    options = form.options(None, None, False)
    assert (options.max_tokens, options.endpoint) == (250, None)
    assert dialog.report is not None and dialog.report.endpoints == {"/v1/messages": 3}
    first = dialog.examples.toPlainText()
    assert '"role": "user"' in first and '"system"' not in first

    form.profile.setCurrentIndex(form.profile.findData(service.settings.default_profile))
    assert not form.max_tokens.isVisible() and form.endpoint.isVisible()
    assert not form.model.currentText().startswith("claude-")
    # Let the last check (and its priced estimate) end before the dialog closes.
    qtbot.waitUntil(lambda: dialog.estimate is not None and '"max_tokens"' not in
                    dialog.examples.toPlainText(), timeout=WAIT)
    dialog.reject()



def test_the_check_says_chat_lines_are_converted_for_claude(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    service = window.service
    assert service is not None
    await_task(qtbot, service.add_profile(ProfileFields("claude", ProfileKind.ANTHROPIC)))
    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps({
        "custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "q"}]},
    }) + "\n" for i in range(4)))
    dialog = ImportDialog(service, [str(chat)], window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=WAIT)
    assert "converted" not in dialog.summary.text()  # an OpenAI profile takes them as they are
    dialog.form.profile.setCurrentIndex(dialog.form.profile.findData("claude"))
    qtbot.waitUntil(lambda: "converted from OpenAI chat format" in dialog.summary.text(),
                    timeout=WAIT)
    assert dialog.report is not None and dialog.report.endpoints == {"/v1/messages": 4}
    assert "4 request(s) converted" in dialog.summary.text()
    assert dialog.form.max_tokens.isVisible()
    assert '"max_tokens": 1024' in dialog.examples.toPlainText()
    dialog.reject()
