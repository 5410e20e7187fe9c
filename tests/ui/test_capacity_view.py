"""The token queue as the window shows it: a batch waiting for room says so, then goes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.tokens.counting import TokenCounter
from batcher_gui.ui.models.batches import BatchesModel
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import write_chat
from tests.ui.conftest import WAIT, await_task, message_box

REASON_COLUMN = BatchesModel.HEADERS.index("Waiting / problem")


def test_a_batch_waiting_for_token_room_shows_why_in_the_batches_view(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    # Each batch stays at the provider for a few seconds: long enough to be seen waiting.
    window = make_window(SandboxConfig(steps_per_poll=1, progress_steps=8),
                         sandbox_poll_interval=0.3)
    service = window.service
    assert service is not None
    per_batch = sum(c.input for c in TokenCounter().count_many(
        ("/v1/chat/completions", "gpt-4o-mini",
         {"messages": [{"role": "user", "content": f"q {i}"}]}) for i in range(4)))
    await_task(qtbot, service.set_setting(
        "token_limits", {"sandbox/gpt-4o-mini": per_batch + per_batch // 2}))
    runs = [await_task(qtbot, service.import_file(
        write_chat(tmp_path / f"f{n}.jsonl", 4, start=10 * n), ImportOptions(),
        profile="sandbox")).run for n in range(2)]
    for run in runs:
        await_task(qtbot, service.submit(run.id))
    window.tabs.setCurrentWidget(window.batches)
    model = window.batches_model

    def waiting_row() -> int:
        for row in range(model.rowCount()):
            text = str(model.data(model.index(row, REASON_COLUMN)) or "")
            if "token queue" in text:
                return row
        return -1

    qtbot.waitUntil(lambda: waiting_row() >= 0, timeout=WAIT)
    batch = model.item(waiting_row())
    assert batch is not None and batch.state is BatchState.READY_FOR_UPLOAD
    assert "do not fit beside" in str(model.data(model.index(waiting_row(), REASON_COLUMN)))
    # ...and once the first has left the queue, it goes too.
    qtbot.waitUntil(lambda: model.rowCount() == 2 and all(
        (b := model.item(r)) is not None and b.state is BatchState.COMPLETED
        for r in range(2)), timeout=60_000)
    assert waiting_row() == -1


def _confirm_box() -> QMessageBox | None:
    return message_box("confirm-box")


def test_submitting_over_budget_asks_first(make_window: Callable[..., MainWindow], qtbot: QtBot,
                                           tmp_path: Path) -> None:
    window = make_window()
    service = window.service
    assert service is not None
    await_task(qtbot, service.edit_profile("sandbox", options={"budget_run_usd": 0.000001}))
    await_task(qtbot, service.import_file(write_chat(tmp_path / "q.jsonl", 6), ImportOptions(),
                                          profile="sandbox"))
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    window.runs.selectRow(0)
    window.menu["submit"].trigger()
    qtbot.waitUntil(lambda: _confirm_box() is not None, timeout=WAIT)
    box = _confirm_box()
    assert box is not None and box.windowTitle() == "Over budget"
    # The figures: what the run may cost against the profile's cap.
    assert "may cost up to $0.0" in box.text() and "$0.000001 per run" in box.text()
    assert "“sandbox”" in box.text() and "Send it anyway?" in box.text()
    box.reject()  # Cancel: nothing is sent
    qtbot.waitUntil(lambda: "not sent (over budget)" in window.statusBar().currentMessage(),
                    timeout=WAIT)
    # Not sent: a draft, or sealed by auto-send and held there for the budget.
    (held,) = await_task(qtbot, service.batches())
    assert held.state in (BatchState.DRAFT, BatchState.READY_FOR_UPLOAD)
    assert held.provider_batch_id is None
    window.menu["submit"].trigger()  # again, and this time yes
    qtbot.waitUntil(lambda: _confirm_box() is not None, timeout=WAIT)
    box = _confirm_box()
    assert box is not None
    send = next(b for b in box.buttons() if b.text() == "Send Anyway")
    send.click()
    qtbot.waitUntil(lambda: (r := window.runs_model.item(0)) is not None
                    and r.count(PromptState.PROCESSED) == 6, timeout=WAIT)
