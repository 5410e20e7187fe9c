"""The review story of issue 18, in one window: the sample on two models, compared, the
differences filtered and labelled from the keyboard, a check on the answers, the failures
re-run on the other model — and Compare opening with the re-run when it has ended."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, Qt
from pytestqt.qtbot import QtBot

from batcher_gui.domain.checks import CheckRules
from batcher_gui.domain.compare import CompareFilter
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import CheckState, PromptQuery, RunOverview
from batcher_gui.paths import resource
from batcher_gui.ui.models.compare import COL_KEY
from batcher_gui.ui.views.compare_view import CompareView
from batcher_gui.ui.window.main_window import MainWindow
from tests.ui.conftest import WAIT, await_task

DONE = (PromptState.PROCESSED, PromptState.DELIVERED)
SAMPLE_PROMPTS = 34


def test_compare_label_check_and_rerun_the_failures(make_window: Callable[..., MainWindow],
                                                      qtbot: QtBot) -> None:
    window = make_window()
    service = window.service
    assert service is not None
    window.intake.try_sample()  # the welcome panel's button: the sample on gpt-4o-mini
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 1, timeout=WAIT)
    other = await_task(qtbot, service.import_file(
        resource("sample", "sample-prompts.jsonl"), ImportOptions(model="gpt-4o"),
        profile="sandbox", name="sample on gpt-4o")).run
    await_task(qtbot, service.submit(other.id))
    qtbot.waitUntil(lambda: window.runs_model.rowCount() == 2 and all(
        r.count(*DONE) == SAMPLE_PROMPTS for r in window.runs_model.items()), timeout=WAIT)

    # Compare: both runs selected, right-click → Compare; the different ones.
    selection = window.runs.selectionModel()
    for row in range(2):
        selection.select(window.runs_model.index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
    window.menu["compare"].trigger()
    view = window.tabs.currentWidget()
    assert isinstance(view, CompareView)
    qtbot.waitUntil(lambda: view.buttons[CompareFilter.DIFFERENT].isEnabled(), timeout=WAIT)
    different = int(view.buttons[CompareFilter.DIFFERENT].text().split("(")[1].rstrip(")"))
    assert 0 < different < SAMPLE_PROMPTS  # two models agree mostly, not wholly
    view.buttons[CompareFilter.DIFFERENT].click()
    qtbot.waitUntil(lambda: view.model.rowCount() == different, timeout=WAIT)
    first_different = view.model.index(0, COL_KEY).data()

    # Label two of them from the keyboard in the prompts table of the first run.
    window.tabs.setCurrentIndex(0)
    window.runs.selectRow(window.runs_model.rowCount() - 1)  # the older run: #1
    prompts = window.prompts
    qtbot.waitUntil(lambda: prompts.run_id == 1 and prompts.model.rowCount() == SAMPLE_PROMPTS,
                    timeout=WAIT)
    prompts.search.setText(first_different)
    qtbot.waitUntil(lambda: prompts.model.rowCount() >= 1 and (
        r := prompts.model.row_at(0)) is not None and r.custom_id == first_different,
        timeout=WAIT)
    prompts.table.setFocus()
    prompts.table.selectRow(0)
    qtbot.keyClick(prompts.table, Qt.Key.Key_2)  # "wrong"
    qtbot.waitUntil(lambda: _label(window, 1, first_different) == 2, timeout=WAIT)
    prompts.search.clear()

    # A check: the sample's sentiment prompts must answer one of three words.
    await_task(qtbot, service.set_checks(1, CheckRules(labels=("positive", "negative",
                                                               "mixed"))))
    qtbot.waitUntil(lambda: (r := _run(window, 1)) is not None and r.checks is not None
                    and r.checks.checked == SAMPLE_PROMPTS, timeout=WAIT)
    assert window.reader is not None
    failed = await_task(qtbot, window.reader.count(PromptQuery(run_id=1,
                                                               checks=(CheckState.FAILED,))))
    assert 0 < failed < SAMPLE_PROMPTS

    # Re-run the failed checks on the other model: Compare opens with the re-run at its end.
    window.runs.selectRow(window.runs_model.rowCount() - 1)
    qtbot.waitUntil(lambda: (r := window.live.selected_run()) is not None and r.run.id == 1,
                    timeout=WAIT)
    window.menu["rerun_failed_checks"].trigger()
    qtbot.waitUntil(lambda: window.reruns.dialog is not None
                    and window.reruns.dialog.isVisible(), timeout=WAIT)
    dialog = window.reruns.dialog
    assert dialog is not None
    dialog.model.setText("gpt-4o")
    qtbot.waitUntil(dialog.rerun_button.isEnabled, timeout=WAIT)
    assert dialog.which.text() == f"{failed} failed checks of run #1 'sample'"
    dialog.rerun_button.click()
    qtbot.waitUntil(lambda: window.tabs.tabText(window.tabs.currentIndex())
                    == "Compare #1 ↔ #3", timeout=WAIT)
    # (the runs list shows the re-run's answers at its next refresh)
    qtbot.waitUntil(lambda: (r := _run(window, 3)) is not None and r.count(*DONE) == failed,
                    timeout=WAIT)
    rerun = _run(window, 3)
    assert rerun is not None and "re-run of #1" in rerun.lineage


def _run(window: MainWindow, run_id: int) -> RunOverview | None:
    return next((r for r in window.runs_model.items() if r.run.id == run_id), None)


def _label(window: MainWindow, run_id: int, custom_id: str) -> int | None:
    assert window.service is not None
    with window.service.store.db.read() as conn:
        return conn.exec_driver_sql(
            "SELECT label FROM prompts WHERE run_id = ? AND user_custom_id = ?",
            (run_id, custom_id)).scalar()
