"""One window for every provider: a workspace with an OpenAI run and a Claude run shows each
run's, batch's and prompt's provider, and renders a Claude answer (text, a tool call, thinking
folded until clicked, usage with the prompt cache's figures)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QLabel, QTextBrowser
from pytestqt.qtbot import QtBot

from batcher_gui.domain.states import PromptState
from batcher_gui.ui.models.batches import COL_MODEL, COL_PROVIDER_BATCH
from batcher_gui.ui.models.batches import COL_PROVIDER as BATCH_PROVIDER
from batcher_gui.ui.models.prompts import COL_PROVIDER as PROMPT_PROVIDER
from batcher_gui.ui.models.prompts import RowRole
from batcher_gui.ui.models.runs import COL_MODELS, COL_PROVIDER
from batcher_gui.ui.window.main_window import MainWindow
from tests.ui.conftest import WAIT
from tests.ui.mixed import CLAUDE, CLAUDE_TEXT, GPT, INVALID, THINKING, build_mixed

CLAUDE_WORDS, OPENAI_WORDS = "claude (Anthropic)", "openai (OpenAI)"


def _window(make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> MainWindow:
    build_mixed(tmp_path)
    window = make_window()
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 2
                    and window.batches_model.rowCount() == 2, timeout=WAIT)
    return window


def _text(model: Any, row: int, column: int) -> str:
    return str(model.data(model.index(row, column)))


def test_runs_batches_and_prompts_say_their_provider(
        make_window: Callable[..., MainWindow], qtbot: QtBot, qtmodeltester: Any,
        tmp_path: Path) -> None:
    window = _window(make_window, qtbot, tmp_path)
    runs, batches, prompts = window.runs_model, window.batches_model, window.prompts.model
    # Runs, newest first: the Claude run (#2), then the OpenAI run (#1).
    assert [_text(runs, r, COL_PROVIDER) for r in range(2)] == [CLAUDE_WORDS, OPENAI_WORDS]
    assert [_text(runs, r, COL_MODELS) for r in range(2)] == [CLAUDE, GPT]
    assert not window.runs.isColumnHidden(COL_PROVIDER)  # shown without asking for it
    assert CLAUDE_WORDS in str(runs.data(runs.index(0, 0), Qt.ItemDataRole.ToolTipRole))
    window.runs.selectRow(0)  # the run's summary names it too
    qtbot.waitUntil(lambda: window.detail.currentWidget() is window.detail.run, timeout=WAIT)
    assert window.detail.run.findChild(QLabel, "run-provider").text() == CLAUDE_WORDS
    window.runs.clearSelection()  # back to every run's batches and prompts
    qtbot.waitUntil(lambda: batches.rowCount() == 2, timeout=WAIT)
    assert [_text(batches, r, BATCH_PROVIDER) for r in range(2)] == [CLAUDE_WORDS,
                                                                     OPENAI_WORDS]
    assert [_text(batches, r, COL_MODEL) for r in range(2)] == [CLAUDE, GPT]
    assert _text(batches, 0, COL_PROVIDER_BATCH) == "msgbatch_01claude"
    # Prompts of all runs: each row says its run's provider (no query per row).
    qtbot.waitUntil(lambda: prompts.rowCount() == 6
                    and prompts.data(prompts.index(5, 0), RowRole) is not None, timeout=WAIT)
    said = {prompts.data(prompts.index(r, 0), RowRole).custom_id:
            _text(prompts, r, PROMPT_PROVIDER) for r in range(6)}
    assert said == {"o0": OPENAI_WORDS, "o1": OPENAI_WORDS, "o2": OPENAI_WORDS,
                    "k0": CLAUDE_WORDS, "k1": CLAUDE_WORDS, "k2": CLAUDE_WORDS}
    assert prompts.headerData(PROMPT_PROVIDER, Qt.Orientation.Horizontal) == "Provider"
    for model in (runs, batches, prompts):
        qtmodeltester.check(model)


def _select_prompt(window: MainWindow, qtbot: QtBot, custom_id: str) -> None:
    model = window.prompts.model
    qtbot.waitUntil(lambda: model.rowCount() == 6
                    and model.data(model.index(5, 0), RowRole) is not None, timeout=WAIT)
    row = next(r for r in range(6) if model.data(model.index(r, 0), RowRole).custom_id
               == custom_id)
    window.prompts.table.selectRow(row)
    pane = window.detail.prompt
    qtbot.waitUntil(lambda: window.detail.currentWidget() is pane and pane.detail is not None
                    and pane.detail.row.custom_id == custom_id, timeout=WAIT)


def _click_text(qtbot: QtBot, browser: QTextBrowser, text: str) -> None:
    """Click where ``text`` is laid out in the browser (a link's title), as a user does."""
    found = browser.document().find(text)
    assert not found.isNull(), f"{text!r} is not shown"
    cursor = QTextCursor(found)
    cursor.setPosition(found.selectionStart() + 2)
    assert cursor.charFormat().isAnchor(), f"{text!r} is not a link"
    browser.setTextCursor(cursor)
    browser.ensureCursorVisible()
    qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton,
                     pos=browser.cursorRect(cursor).center())


def test_a_claude_answer_reads_as_text_a_tool_call_folded_thinking_and_cache_usage(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = _window(make_window, qtbot, tmp_path)
    _select_prompt(window, qtbot, "k1")
    pane = window.detail.prompt
    assert CLAUDE_WORDS in pane.title.text()
    shown = pane.conversation.toPlainText()
    # The request: its system text, the question, the thinking budget and max_tokens.
    assert "You are a weather assistant." in shown
    assert "What is the weather in Paris? (question 1)" in shown
    assert "max_tokens: 1,024" in shown and "thinking: up to 2,048 tokens" in shown
    # The answer: text, then the tool call titled with its name and its input as JSON.
    assert f"Assistant\n{CLAUDE_TEXT}" in shown
    tool = shown.index("Tool use: get_weather")
    assert shown.index(CLAUDE_TEXT) < tool < shown.index('"city": "Paris"') \
        < shown.index('"unit": "celsius"')
    # Thinking folded: its length said, not its text.
    assert f"▸ Thinking · {len(THINKING)} characters (click to show)" in shown
    assert THINKING not in shown
    # Usage: input, cache read, cache writes 5 m / 1 h, output; and the stop reason.
    assert "stop reason: tool_use" in shown
    heads = ["Input", "Cache read", "Cache write 5 m", "Cache write 1 h", "Output"]
    cells = shown[shown.index("Usage (tokens)"):].splitlines()[1:11]
    assert cells == [*heads, "21", "1,500", "100", "200", "87"]
    assert "1,500 cached" in pane.usage.text()
    assert "300 written to the cache" in pane.usage.text()

    _click_text(qtbot, pane.conversation, "Thinking ·")  # opens...
    qtbot.waitUntil(lambda: THINKING in pane.conversation.toPlainText(), timeout=WAIT)
    assert "▾ Thinking" in pane.conversation.toPlainText()
    _click_text(qtbot, pane.conversation, "Thinking ·")  # ...and closes again
    qtbot.waitUntil(lambda: THINKING not in pane.conversation.toPlainText(), timeout=WAIT)

    # An OpenAI answer in the same window reads as before; its provider is said.
    _select_prompt(window, qtbot, "o2")
    assert OPENAI_WORDS in pane.title.text()
    assert "Assistant\nanswer 2" in pane.conversation.toPlainText()
    assert "Usage (tokens)" not in pane.conversation.toPlainText()


def test_a_failed_claude_prompt_shows_the_providers_error(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    window = _window(make_window, qtbot, tmp_path)
    _select_prompt(window, qtbot, "k2")
    pane = window.detail.prompt
    assert pane.detail is not None and pane.detail.row.state is PromptState.FAILED
    assert INVALID in pane.conversation.toPlainText()
    assert "Usage (tokens)" not in pane.conversation.toPlainText()
