"""Getting work into the window: drops, the import dialog, the welcome panel's sample, delivery
and notifications — on the real engine, a real SQLite workspace and the sandbox."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from batcher_gui.domain.states import PromptState
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.ui.dialogs.delivery_dialog import DeliveryDialog
from batcher_gui.ui.dialogs.import_dialog import ImportDialog
from batcher_gui.ui.window.main_window import MainWindow
from tests.ui.conftest import WAIT, await_task, reviews_csv


def _jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((json.dumps(x) if not isinstance(x, str) else x) + "\n"
                            for x in lines))
    return path


def _chat(custom_id: str, text: str = "hello") -> dict[str, object]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}}


def _drop(window: MainWindow, paths: list[Path]) -> None:
    """A drag entering the window, then the drop (Qt delivers a drop only after an enter)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(40, 40), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(40, 40), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    assert event.isAccepted()


def test_a_drag_without_files_is_not_accepted(
        make_window: Callable[..., MainWindow]) -> None:
    window = make_window()
    mime = QMimeData()
    mime.setText("just some text")
    enter = QDragEnterEvent(QPoint(40, 40), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def _dialog(window: MainWindow, qtbot: QtBot) -> ImportDialog:
    qtbot.waitUntil(lambda: window.intake._import_dialog is not None, timeout=WAIT)
    dialog = window.intake._import_dialog
    assert dialog is not None
    return dialog


def _checked(dialog: ImportDialog, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: dialog.report is not None or dialog.problem is not None,
                    timeout=WAIT)


def _run_prompts(window: MainWindow) -> int:
    assert window.paths is not None
    with sqlite3.connect(window.paths.database) as db:
        return int(db.execute("SELECT count(*) FROM prompts").fetchone()[0])


def test_a_drop_of_two_files_opens_the_dialog_and_imports_both(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    csv_file = reviews_csv(tmp_path / "reviews.csv", 6)
    jsonl_file = _jsonl(tmp_path / "chat.jsonl", [_chat(f"c{i}") for i in range(4)])
    _drop(window, [csv_file, jsonl_file])
    dialog = _dialog(window, qtbot)
    _checked(dialog, qtbot)
    # The CSV: no prompt column, so a template is proposed from the longest column...
    assert dialog.form.template.toPlainText() == "{review}"
    assert dialog.form.id_column.currentData() == "id"
    assert dialog.table.columnCount() == 3 and dialog.table.rowCount() == 6
    assert dialog.form.name.text() == "reviews"
    dialog.form.template.setPlainText("Sentiment of this {product} review: {review}")
    dialog.form.system.setText("One word.")
    qtbot.waitUntil(lambda: "Sentiment of this kettle review" in dialog.examples.toPlainText()
                    and dialog.report is not None, timeout=WAIT)
    assert "One word." in dialog.examples.toPlainText()
    assert dialog.report is not None and dialog.report.valid == 6
    assert dialog.report.batches == 1
    assert "6" in dialog.summary.text()
    # Tokens counted offline and priced before anything is sent.
    qtbot.waitUntil(lambda: dialog.estimate is not None, timeout=WAIT)
    assert dialog.estimate is not None and dialog.estimate.requests == 6
    assert dialog.estimate.input_tokens > 6 * 10 and dialog.estimate.exact
    assert "at batch prices" in dialog.cost.text() and "$" in dialog.cost.text()
    assert dialog.import_button.isEnabled()
    dialog.import_button.click()
    # ...then the JSONL file, in the same dialog.
    qtbot.waitUntil(lambda: dialog.index == 1 and dialog.report is not None, timeout=WAIT)
    assert "chat.jsonl" in dialog.windowTitle() and "2 of 2" in dialog.windowTitle()
    assert not dialog.form.template.isVisible()  # a JSONL line is a whole request
    dialog.import_button.click()
    qtbot.waitUntil(lambda: window.intake._import_dialog is None, timeout=WAIT)  # closed itself
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 2, timeout=WAIT)
    names = sorted(item.run.name for item in window.runs_model.items())
    assert names == ["chat", "reviews"]
    assert _run_prompts(window) == 10
    assert window.middle.currentWidget() is window.tabs  # the welcome panel has gone


def test_a_bad_file_shows_its_errors_with_line_numbers_and_imports_nothing(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    bad = _jsonl(tmp_path / "bad.jsonl", [
        _chat("a"), "{not json", _chat("b"), {"custom_id": "c", "url": "/v1/chat/completions",
                                             "method": "POST", "body": {"model": "m"}}])
    window.intake.import_paths([str(bad)])
    dialog = _dialog(window, qtbot)
    _checked(dialog, qtbot)
    assert dialog.report is not None
    assert (dialog.report.valid, dialog.report.invalid) == (2, 2)
    problems = [dialog.errors.item(i).text() for i in range(dialog.errors.count())]
    assert problems[0].startswith("Line 2: ") and problems[1].startswith("Line 4")
    assert "messages" in problems[1]
    assert not dialog.import_button.isEnabled()  # all or nothing, unless the user says so
    assert dialog.valid_only.isVisible()
    dialog.reject()
    qtbot.waitUntil(lambda: window.intake._import_dialog is None, timeout=WAIT)
    assert window.runs_model.rowCount() == 0 and _run_prompts(window) == 0

    # Asked to, it imports the two good lines and says the others were left out.
    window.intake.import_paths([str(bad)])
    dialog = _dialog(window, qtbot)
    _checked(dialog, qtbot)
    dialog.valid_only.setChecked(True)
    assert dialog.import_button.isEnabled()
    dialog.import_button.click()
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    assert _run_prompts(window) == 2


def test_folders_missing_and_unreadable_files_are_explained_not_raised(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    folder = tmp_path / "a folder"
    folder.mkdir()
    window.intake.import_paths([str(folder), str(tmp_path / "gone.csv")])
    assert window.intake._import_dialog is None
    assert "is a folder" in window.banner.label.text()
    assert "does not exist" in window.banner.label.text()
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)
    _drop(window, [binary])
    dialog = _dialog(window, qtbot)
    qtbot.waitUntil(lambda: dialog.problem is not None, timeout=WAIT)
    assert "cannot be imported" in dialog.summary.text()
    assert not dialog.import_button.isEnabled() and not dialog.form.isEnabled()
    dialog.reject()
    assert window.runs_model.rowCount() == 0


def test_cancel_during_a_large_import_leaves_nothing_and_the_window_keeps_working(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    big = tmp_path / "big.txt"
    with big.open("w") as f:
        for i in range(600_000):
            f.write(f"prompt number {i} about something worth asking\n")
    window.intake.import_paths([str(big)])
    dialog = _dialog(window, qtbot)
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled(), timeout=120_000)
    dialog.import_button.click()
    qtbot.waitUntil(lambda: dialog.import_bar.value() > 0, timeout=WAIT)
    assert dialog.cancel_button.text() == "Stop import"
    window.prompts.search.setText("anything")  # the window answers while it imports
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: "nothing was imported" in dialog.summary.text(), timeout=WAIT)
    assert await_task(qtbot, window.service.runs()) == []  # type: ignore[union-attr]
    assert _run_prompts(window) == 0
    dialog.reject()


def test_first_run_welcome_try_the_sample_and_read_an_answer(
        make_window: Callable[..., MainWindow], qtbot: QtBot) -> None:
    # The built-in sandbox's own pace (a step every 2 s), as a new user gets it.
    window = make_window(SandboxConfig(steps_per_poll=1, step_seconds=2.0),
                         sandbox_poll_interval=1.0)
    qtbot.waitUntil(lambda: window.middle.currentWidget() is window.welcome, timeout=WAIT)
    assert any("Batch API" in label.text() for label in window.welcome.findChildren(QLabel))
    window.welcome.sample_button.click()
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    run = window.runs_model.item(0)
    assert run is not None and run.run.name == "sample" and run.total == 34
    qtbot.waitUntil(lambda: (r := window.runs_model.item(0)) is not None
                    and r.count(PromptState.PROCESSED) == 34, timeout=90_000)
    qtbot.waitUntil(lambda: "finished" in window.banner.label.text(), timeout=WAIT)
    assert "34 answered" in window.banner.label.text()
    assert [news.title for news in window.intake.notifier.shown] == ["Run #1 'sample' finished"]
    # The run's detail followed it there by itself (it was selected when the sample started).
    qtbot.waitUntil(lambda: window.detail.shown() == ("run", 1), timeout=WAIT)
    shown = window.detail.run.run
    assert shown is not None and shown.groups.done == 34 and shown.ended
    texts = [label.text() for label in window.detail.run.findChildren(QLabel)]
    assert "34: 34 done" in texts and "not yet" not in texts
    window.runs.selectRow(0)
    qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 34, timeout=WAIT)
    window.prompts.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.currentWidget() is window.detail.prompt
                    and window.detail.prompt.detail is not None, timeout=WAIT)
    # The sample's first prompt asks for one word: positive, negative or mixed.
    answer = window.detail.prompt.conversation.toPlainText().rsplit("Assistant", 1)[-1]
    assert answer.split() and answer.split()[0] in ("positive", "negative", "mixed"), answer


def test_a_runs_delivery_is_set_refused_when_wrong_and_redelivered(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    window.intake.import_paths([str(_jsonl(tmp_path / "d.jsonl", [_chat("a"), _chat("b")]))])
    dialog = _dialog(window, qtbot)
    assert not dialog.import_button.isEnabled()  # not before the file has been checked
    _checked(dialog, qtbot)
    dialog.form.profile.setCurrentIndex(dialog.form.profile.findData("sandbox"))
    dialog.import_button.click()  # at once: the profile does not change the file's check
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    overview = window.runs_model.item(0)
    assert overview is not None and window.service is not None
    # Delivery is offered where the run is: its right-click menu (and the Run menu).
    assert window.menu["delivery"] in window.runs.actions()
    delivery = DeliveryDialog(window.service, overview, window)
    delivery.show()
    delivery.webhook.setChecked(True)
    delivery.webhook_url.setText("ftp://nope")
    delivery.save_button.click()
    qtbot.waitUntil(lambda: "http" in delivery.message.text(), timeout=WAIT)
    assert "must start with http:// or https://" in delivery.message.text()
    assert delivery.isVisible()  # refused: it stays open with the reason, nothing saved
    run = await_task(qtbot, window.service.find_run(overview.run.id))
    assert (run.delivery_kind, run.delivery_target) == (None, None)
    out = tmp_path / "answers"
    delivery.folder.setChecked(True)
    delivery.folder_path.setText(str(out))
    delivery.save_button.click()
    qtbot.waitUntil(lambda: "will be written" in delivery.message.text(), timeout=WAIT)
    run = await_task(qtbot, window.service.find_run(overview.run.id))
    assert (run.delivery_kind, run.delivery_target) == ("folder", str(out.resolve()))
    await_task(qtbot, window.service.submit(run.id))
    qtbot.waitUntil(lambda: (r := window.runs_model.item(0)) is not None
                    and r.count(PromptState.DELIVERED) == 2, timeout=WAIT)
    # What the dialog said is what was written: two files for the run, a line per answer.
    assert sorted(p.name for p in out.iterdir()) == ["d.csv", "d.jsonl"]
    assert "“d.jsonl” and “d.csv”" in delivery.folder_note.text()
    assert "per batch" not in delivery.folder_note.text() + delivery.folder.text()
    assert len((out / "d.jsonl").read_text().splitlines()) == 2
    window.runs.selectRow(0)
    again = DeliveryDialog(window.service, window.runs_model.item(0), window)  # type: ignore
    again.redeliver_all.click()
    qtbot.waitUntil(lambda: "2 answers will be delivered again" in again.message.text(),
                    timeout=WAIT)
    again.reject()
    delivery.deleteLater()


def test_about_says_version_workspace_log_folder_and_licences(
        make_window: Callable[..., MainWindow], qtbot: QtBot) -> None:
    import batcher_gui

    window = make_window()
    window.menu["about"].trigger()
    boxes = [w for w in QApplication.topLevelWidgets()
             if w.objectName() == "message-box" and w.isVisible()]
    assert len(boxes) == 1
    text = boxes[0].text()  # type: ignore[attr-defined]
    assert batcher_gui.__version__ in text and str(window.paths.root) in text  # type: ignore
    assert "Log folder" in text and "LGPL" in text and "Apache" in text
    boxes[0].close()
