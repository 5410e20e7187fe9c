"""Every view tells the truth: after each change — by the window's engine, by a `batcher`
command in another process, by the user in the window — the runs list, the prompts footer,
the batches table and the detail pane agree with `batcher status` within moments.

One long story, step by step: a CLI import, a run sent and answered (some prompts fail), a
failed prompt watched through a retry, a run cancelled, a run deleted while selected, a
workspace switch and back. At each step the views are compared with the status report.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLabel, QMessageBox
from pytestqt.qtbot import QtBot

from batcher_gui.domain.progress import GroupCounts, StateGroup, count_words
from batcher_gui.domain.states import PromptState
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import write_chat
from tests.cli.conftest import Cli
from tests.ui.conftest import WAIT, await_task, message_box, ws_paths

#: Views follow a change within a refresh (300 ms) and a watch tick (1 s); generous for CI.
AGREE = 10_000


def _groups(report_run: dict[str, Any]) -> GroupCounts:
    g = report_run["groups"]
    return GroupCounts(g[StateGroup.PENDING.value], g[StateGroup.IN_FLIGHT.value],
                       g[StateGroup.DONE.value], g[StateGroup.FAILED.value],
                       g[StateGroup.CANCELLED.value])


def _prompt_state(window: MainWindow, prompt_id: int) -> str | None:
    assert window.paths is not None
    with sqlite3.connect(window.paths.database) as db:
        found = db.execute("SELECT state FROM prompts WHERE id = ?", (prompt_id,)).fetchone()
    return found[0] if found else None


def mismatch(window: MainWindow, report: dict[str, Any],
             batches: dict[int, list[str]]) -> str | None:
    """What a view shows that the status report does not say (None: they agree)."""
    want = {r["id"]: _groups(r) for r in report["runs"]}
    have = {item.run.id: item.groups for item in window.runs_model.items()}
    if want != have:
        return f"runs list {have} != status {want}"
    run = window.live.selected_run()
    detail = window.detail.shown()
    if run is not None:
        if window.prompts.run_id != run.run.id:
            return f"prompts of run {window.prompts.run_id}, run {run.run.id} selected"
        words = count_words(want[run.run.id])
        if words not in window.prompts.counts.text():
            return f"footer {window.prompts.counts.text()!r} lacks {words!r}"
        shown = sorted(b.state.value for b in window.batches_model.items())
        if shown != sorted(batches.get(run.run.id, [])):
            return f"batches {shown} != {sorted(batches.get(run.run.id, []))}"
    elif window.prompts.run_id is not None:
        return f"prompts of run {window.prompts.run_id} shown with no run selected"
    if detail is not None:
        kind, item_id = detail
        if kind == "run":
            if item_id not in want:
                return f"the detail shows run {item_id}, which is gone"
            if window.detail.run.run is None or window.detail.run.run.groups != want[item_id]:
                return "the run detail is stale"
        elif kind == "prompt":
            pane = window.detail.prompt.detail
            state = _prompt_state(window, item_id)
            if pane is None or state is None or pane.row.state.value != state:
                return f"the prompt detail says {pane and pane.row.state}, the workspace {state}"
    return None


def agree(window: MainWindow, qtbot: QtBot, cli: Cli | None = None) -> dict[str, Any]:
    """Wait until the views agree with the status report (from the CLI, another process, when
    given), and return the report."""
    service = window.service
    assert service is not None

    def report_now() -> tuple[dict[str, Any], dict[int, list[str]]]:
        if cli is not None:
            report = json.loads(cli.ok("status", "--json").stdout)
        else:
            report = await_task(qtbot, service.status_report())
        batches: dict[int, list[str]] = {}
        for b in await_task(qtbot, service.batches()):
            if b.run_id is not None and (b.request_count or b.state.value != "draft"):
                batches.setdefault(b.run_id, []).append(b.state.value)
        return report, batches

    report, batches = report_now()
    last: list[str | None] = [None]

    def matches() -> bool:
        last[0] = mismatch(window, report, batches)
        return last[0] is None

    try:
        qtbot.waitUntil(matches, timeout=AGREE)
    except Exception:
        raise AssertionError(f"the window disagrees with `batcher status`: {last[0]}") from None
    return report


def _ended(window: MainWindow, run_id: int) -> bool:
    item = window.runs_model.find(run_id)
    return item is not None and item.ended


def _confirm(qtbot: QtBot, button: str) -> None:
    qtbot.waitUntil(lambda: message_box("confirm-box") is not None, timeout=WAIT)
    box = message_box("confirm-box")
    assert box is not None
    chosen = [b for b in box.buttons() if b.text() == button]
    assert chosen, [b.text() for b in box.buttons()]
    chosen[0].click()


def test_every_view_agrees_with_status_through_a_day_of_changes(
        make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path) -> None:
    # Drafts wait to be sent (an hour of quiet): what the user sends, they send.
    window = make_window(SandboxConfig(steps_per_poll=1, request_error_rate=0.3),
                         quiet_seconds=3600)
    assert window.paths is not None
    cli = Cli(window.paths.root)

    # 1. Another process imports a run: it appears, nothing is selected yet.
    cli.ok("import", str(write_chat(tmp_path / "a.jsonl", 20)), "--name", "A",
           "--profile", "sandbox")
    report = agree(window, qtbot, cli)
    run_a = report["runs"][0]["id"]
    assert _groups(report["runs"][0]).pending == 20

    # 2. Selected: its prompts, batches and detail; the draft says when it goes.
    assert window.live.select_run(run_a)
    agree(window, qtbot)
    assert "goes out at" in window.batches_model.note(window.batches_model.item(0))
    assert window.detail.run.send.isVisibleTo(window.detail.run)
    assert window.detail.run.findChild(QLabel, "run-waiting").text().startswith(
        "its drafts go out at ")  # (not "at the engine's next pass": 10 quiet minutes)

    # 3. Sent from the window; answered, a few prompts failing.
    window.menu["submit"].trigger()
    qtbot.waitUntil(lambda: _ended(window, run_a), timeout=WAIT)
    report = agree(window, qtbot, cli)
    groups = _groups(report["runs"][0])
    assert groups.done + groups.failed == 20 and groups.failed > 0

    # 4. A failed prompt in the detail, then Retry Failed: the detail follows it.
    states = window.prompts.state
    states.setCurrentIndex([states.itemData(i) for i in range(states.count())].index("failed"))
    qtbot.waitUntil(lambda: (row := window.prompts.model.row_at(0)) is not None
                    and row.state is PromptState.FAILED, timeout=WAIT)
    window.prompts.table.selectRow(0)
    qtbot.waitUntil(lambda: window.detail.shown() is not None
                    and window.detail.shown()[0] == "prompt", timeout=WAIT)
    failed_id = window.detail.shown()[1]  # type: ignore[index]
    assert "1 attempt" in window.detail.prompt.usage.text()
    window.menu["retry"].trigger()
    # Sent again at once, failing again (the sandbox fails the same prompts): the detail
    # follows it there without a click.
    qtbot.waitUntil(lambda: "2 attempts" in window.detail.prompt.usage.text(), timeout=AGREE)
    qtbot.waitUntil(lambda: _ended(window, run_a), timeout=WAIT)
    assert window.detail.shown() == ("prompt", failed_id)
    assert "failed → pending" in window.detail.prompt.history.toPlainText()
    window.prompts.state.setCurrentIndex(0)  # all states again
    report = agree(window, qtbot, cli)

    # 5. Another run, cancelled from the window (it asks first).
    cli.ok("import", str(write_chat(tmp_path / "b.jsonl", 7)), "--name", "B",
           "--profile", "sandbox")
    report = agree(window, qtbot)
    run_b = max(r["id"] for r in report["runs"])
    assert window.live.select_run(run_b)
    window.menu["cancel_run"].trigger()
    _confirm(qtbot, "Cancel Run")
    qtbot.waitUntil(lambda: (r := window.runs_model.find(run_b)) is not None
                    and r.groups.cancelled == 7, timeout=AGREE)
    report = agree(window, qtbot, cli)

    # 6. The selected run deleted: its prompts and detail go with it.
    assert window.live.select_run(run_a)
    window.menu["delete_run"].trigger()
    _confirm(qtbot, "Delete Run")
    qtbot.waitUntil(lambda: window.runs_model.find(run_a) is None, timeout=AGREE)
    report = agree(window, qtbot, cli)
    assert [r["id"] for r in report["runs"]] == [run_b]
    assert window.prompts.run_id in (None, run_b)
    if window.prompts.run_id is None:  # all prompts: run B's 7
        qtbot.waitUntil(lambda: window.prompts.model.rowCount() == 7, timeout=AGREE)

    # 7. Another workspace and back: the first one's truth again, nothing of the second.
    await_task(qtbot, window.open_workspace(ws_paths(tmp_path / "other").create()))
    agree(window, qtbot)
    assert window.runs_model.rowCount() == 0
    await_task(qtbot, window.open_workspace(ws_paths(window_root(cli)).create()))
    report = agree(window, qtbot, cli)
    assert [r["id"] for r in report["runs"]] == [run_b]

    # 8. The selected run deleted by another process: gone from every pane.
    assert window.live.select_run(run_b)
    qtbot.waitUntil(lambda: window.detail.shown() == ("run", run_b), timeout=WAIT)
    cli.ok("delete", f"#{run_b}", "--yes")
    report = agree(window, qtbot, cli)
    assert report["runs"] == [] and window.runs_model.rowCount() == 0
    assert window.detail.shown() is None and window.prompts.run_id is None
    qtbot.waitUntil(lambda: window.middle.currentWidget() is window.welcome, timeout=AGREE)
    assert message_box("crash-dialog") is None
    assert not [b for b in (message_box("message-box"),) if isinstance(b, QMessageBox)]


def window_root(cli: Cli) -> Path:
    return cli.ws
