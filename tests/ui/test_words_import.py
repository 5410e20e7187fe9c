"""The import dialog in the user's words: problems named by the field to fix (never a file path,
an option's internal name or a command-line flag, and each said once), a typo'd model's
suggestion beside the model, a template that makes every prompt the same flagged before import,
and costs that never print a row of zeros (real window, engine and sandbox, offscreen)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QLabel, QListWidget, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot

from batcher_gui.domain.models import InputFormat
from batcher_gui.ui.dialogs.import_dialog import ImportDialog
from batcher_gui.ui.window.main_window import MainWindow
from tests.ui.conftest import WAIT, reviews_csv

INTERNAL = re.compile(r"[A-Z][a-z]+(Error|Exception)\b|--[a-z]|, field '|template: template|"
                      r"\(s\)|\(es\)|0\.00000|id_column|`")


def _chat(custom_id: str, model: str | None = "gpt-4o-mini") -> dict[str, object]:
    body: dict[str, object] = {"messages": [{"role": "user", "content": "hello"}]}
    if model is not None:
        body["model"] = model
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": body}


def _jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def _open(window: MainWindow, qtbot: QtBot, path: Path) -> ImportDialog:
    window.intake.import_paths([str(path)])
    qtbot.waitUntil(lambda: window.intake._import_dialog is not None, timeout=WAIT)
    dialog = window.intake._import_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.report is not None or dialog.problem is not None,
                    timeout=WAIT)
    return dialog


def _recheck(dialog: ImportDialog, qtbot: QtBot, change: Callable[[], None]) -> None:
    """Change an option and wait for the dialog's answer about it (and its estimate)."""
    before = dialog._generation
    change()
    dialog._settle.start()  # (what any change of an option does; a no-change rechecks)
    qtbot.waitUntil(lambda: dialog._generation > before and not dialog._settle.isActive()
                    and (dialog.problem is not None or (
                        dialog.report is not None and (not dialog.report.valid
                                                       or dialog.estimate is not None))),
                    timeout=WAIT)


def _texts(dialog: ImportDialog) -> str:
    """What the dialog shows: its labels, list and example requests."""
    texts = [dialog.windowTitle()]
    for widget in dialog.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel):
            texts.append(widget.text())
        elif isinstance(widget, QListWidget):
            texts += [widget.item(i).text() for i in range(widget.count())]
        elif isinstance(widget, QPlainTextEdit) and widget.isReadOnly():
            texts.append(widget.toPlainText())
        if widget is not dialog.file_label:  # (its tooltip: where the file is)
            texts.append(widget.toolTip())
    return "\n".join(texts)


def _plain(dialog: ImportDialog, tmp_path: Path) -> str:
    text = _texts(dialog)
    found = INTERNAL.search(text)
    assert found is None, text[max(0, found.start() - 300):found.end() + 100]
    assert str(tmp_path) not in text
    return text


def _problems(dialog: ImportDialog) -> list[str]:
    return [dialog.errors.item(i).text() for i in range(dialog.errors.count())]


def test_template_and_model_problems_name_the_field_once(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    dialog = _open(window, qtbot, reviews_csv(tmp_path / "reviews.csv"))
    form = dialog.form
    qtbot.waitUntil(lambda: dialog.estimate is not None, timeout=WAIT)

    _recheck(dialog, qtbot, lambda: form.template.setPlainText("Rate {review"))
    said = "Prompt template: unmatched '{' at position 6; write '{{' for a literal brace"
    assert dialog.problem == said
    assert dialog.summary.text() == f"<b>Cannot import with these settings:</b> {said}"
    assert not dialog.errors.isVisible() and not _problems(dialog)  # said once, not twice
    assert _plain(dialog, tmp_path).count("unmatched '{'") == 1
    assert not dialog.import_button.isEnabled()

    _recheck(dialog, qtbot, lambda: form.template.setPlainText("Rate {rating}"))
    assert dialog.problem == ("Prompt template: placeholder {rating} names no column; "
                              "available columns: id, product, review")

    _recheck(dialog, qtbot, lambda: form.template.setPlainText("{review}"))
    _recheck(dialog, qtbot, lambda: form.model.setEditText(""))
    assert dialog.problem == "CSV files need a model: type one in the Model field, e.g. " \
                             "gpt-4o-mini"
    _plain(dialog, tmp_path)


def test_a_typo_in_the_model_is_answered_beside_the_field_and_never_priced_at_zero(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    dialog = _open(window, qtbot, reviews_csv(tmp_path / "reviews.csv"))
    form = dialog.form
    qtbot.waitUntil(lambda: dialog.estimate is not None, timeout=WAIT)
    assert not form.model_hint.isVisible()  # gpt-4o-mini: priced
    cost = dialog.cost.text()
    assert re.search(r"<b>(under \$0\.0001|\$0\.0+[1-9]\d?) to \$0\.\d+</b> at batch "
                     r"prices", cost), cost

    _recheck(dialog, qtbot, lambda: form.model.setEditText("gpt4o-mini"))
    assert form.model_hint.isVisible()  # before anything is imported
    hint = form.model_hint.text()
    assert "No price is known for “gpt4o-mini”. Did you mean <a href='gpt-4o-mini'>" in hint
    cost = dialog.cost.text()
    assert "no price known for “gpt4o-mini”" in cost and "so no cost can be shown" in cost
    assert "$" not in cost
    assert dialog.import_button.isEnabled()  # a provider may know it: the user decides
    _plain(dialog, tmp_path)

    form.model_hint.linkActivated.emit("gpt-4o-mini")  # the suggestion, clicked
    assert form.model.currentText() == "gpt-4o-mini" and not form.model_hint.isVisible()
    _recheck(dialog, qtbot, lambda: None)
    assert "no price" not in dialog.cost.text()

    form.model.setEditText("llama-local")  # nothing close: no guess, just no cost
    assert "No price is known for “llama-local”, so no cost can be shown" in \
        form.model_hint.text()


def test_a_jsonl_files_own_models_get_the_same_suggestion(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    dialog = _open(window, qtbot, _jsonl(tmp_path / "chat.jsonl",
                                         [_chat("a", "gpt4o-mini"), _chat("b", "gpt4o-mini")]))
    qtbot.waitUntil(lambda: dialog.estimate is not None, timeout=WAIT)
    hint = dialog.form.model_hint.text()
    assert "The file's model “gpt4o-mini” has no known price. Did you mean" in hint
    assert "(Choosing one uses it for every line.)" in hint
    assert "no price known for “gpt4o-mini”" in dialog.cost.text()
    _plain(dialog, tmp_path)


def test_a_template_without_a_column_must_be_confirmed(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    dialog = _open(window, qtbot, reviews_csv(tmp_path / "reviews.csv"))
    form = dialog.form
    qtbot.waitUntil(lambda: dialog.estimate is not None, timeout=WAIT)
    assert dialog.import_button.isEnabled() and not form.template_warning.isVisible()

    _recheck(dialog, qtbot, lambda: form.template.setPlainText("Rate this product."))
    assert dialog.report is not None and dialog.report.valid == 5  # valid, but all the same
    assert form.template_warning.isVisible() and form.same_prompt.isVisible()
    assert "This template has no {column} placeholder, so every row gets the same prompt" \
        in form.template_warning.text()
    assert not dialog.import_button.isEnabled()
    assert "tick “Send this same prompt for every row”" in dialog.import_button.toolTip()
    form.same_prompt.setChecked(True)  # meant: it may go
    assert dialog.import_button.isEnabled()
    form.template.setPlainText("Rate this product!")  # a new text is asked about again
    assert not form.same_prompt.isChecked() and not dialog.import_button.isEnabled()
    _recheck(dialog, qtbot, lambda: form.template.setPlainText("Rate {{this}} product."))
    assert form.template_warning.isVisible()  # literal braces are no column either
    _recheck(dialog, qtbot, lambda: form.template.setPlainText("Rate this {product}."))
    assert not form.template_warning.isVisible() and dialog.import_button.isEnabled()
    _plain(dialog, tmp_path)

    _recheck(dialog, qtbot, lambda: form.template.setPlainText("Same for all."))
    form.same_prompt.setChecked(True)
    dialog.import_button.click()
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)


def test_jsonl_and_format_problems_speak_of_the_dialogs_fields(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    dialog = _open(window, qtbot, _jsonl(tmp_path / "some.jsonl", [
        _chat("a", None), _chat("b", ""), _chat("c")]))
    assert _problems(dialog) == [
        "Line 1: missing required field 'body.model' (or type a model in the Model field to "
        "use for every line)",
        "Line 2: 'body.model' must not be empty (or type a model in the Model field to use for "
        "every line)"]
    summary = dialog.summary.text()
    assert "<b>1 prompt</b> ready in <b>1 batch</b>" in summary
    assert "<b>2 lines</b> with problems" in summary
    _plain(dialog, tmp_path)

    # Read as text on purpose: the mismatch is said with the Format list, not --format.
    _recheck(dialog, qtbot, lambda: (dialog.format.setCurrentIndex(
        dialog.format.findData(InputFormat.TEXT)), dialog.format.activated.emit(
        dialog.format.currentIndex())))
    qtbot.waitUntil(lambda: dialog.report is not None and bool(dialog.report.warnings),
                    timeout=WAIT)
    assert ("“Text” was chosen in the Format list, but the file looks like JSON Lines"
            in dialog.summary.text())
    assert "choose Detect in the Format list to read it as JSON Lines" in dialog.summary.text()
    _plain(dialog, tmp_path)
    dialog.reject()

    unknown = tmp_path / "notes.dat"
    unknown.write_text("hello\n")
    dialog = _open(window, qtbot, unknown)
    assert dialog.summary.text() == (
        "<b>This file cannot be imported.</b> Cannot tell the format of 'notes.dat' "
        "(extension '.dat', and the content is not JSON Lines): choose it in the Format list")
    _plain(dialog, tmp_path)


def test_the_cost_line_says_how_claude_tokens_were_counted() -> None:
    from batcher_gui.config.prices import price_table
    from batcher_gui.domain.intake import FileEstimate, ModelTokens
    from batcher_gui.ui.dialogs.import_words import cost_text

    prices = price_table()
    sampled = FileEstimate(requests=500, exact=False, models={
        "claude-sonnet-5-5": ModelTokens(500, 60_000, 100_000, sampled=20)})
    sampled.cost = prices.estimate({"claude-sonnet-5-5": (60_000, 100_000)})
    text = cost_text(sampled, prices)
    assert text.startswith("about 60,000 input tokens (from a sample of 20 requests counted "
                           "by the provider, scaled), at most 100,000 output")
    approximate = FileEstimate(requests=500, exact=False, models={
        "claude-sonnet-5-5": ModelTokens(500, 60_000, 100_000, exact=False, approximate=True)})
    approximate.cost = sampled.cost
    assert cost_text(approximate, prices).startswith(
        "about 60,000 input tokens, approximate (OpenAI tokenizer), at most")
    counted = FileEstimate(requests=1, models={"gpt-4o-mini": ModelTokens(1, 8, 10)})
    counted.cost = prices.estimate({"gpt-4o-mini": (8, 10)})
    assert cost_text(counted, prices).startswith("8 input tokens, at most 10 output")
