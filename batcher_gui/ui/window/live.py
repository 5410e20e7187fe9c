"""Keeping every pane of the window true: runs, batches, prompts, the detail, the spend tab.

Changes reach the window as service events (the engine in this window) and as a changed
``data_version`` (another process: a ``batcher`` command, another window): either schedules a
refresh (coalesced, at most every 300 ms). A refresh reads the runs, the batches of the shown
run, the prompts on screen and whatever the detail pane shows, and updates them in place: the
selection stays where it was, a selected run that was deleted is deselected (and its prompts
and detail go with it), and the detail always shows the item as it is now.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QObject, QTimer, Signal
from PySide6.QtWidgets import QStackedWidget, QTableView, QTabWidget

from batcher_gui.app.reader import Superseded
from batcher_gui.domain.models import Batch
from batcher_gui.domain.views import PromptRow, RunOverview
from batcher_gui.ui.base.qtfix import item_data
from batcher_gui.ui.models.batches import BatchesModel
from batcher_gui.ui.models.runs import RunsModel
from batcher_gui.ui.models.table import ItemRole
from batcher_gui.ui.views.detail import DetailStack
from batcher_gui.ui.views.prompts_panel import PromptsPanel
from batcher_gui.ui.views.spend_view import DAYS as SPEND_DAYS
from batcher_gui.ui.views.spend_view import SpendView
from batcher_gui.ui.views.welcome import WelcomePanel
from batcher_gui.ui.window.session import WorkspaceSession

log = logging.getLogger(__name__)


class LiveView(QObject):
    """See the module docstring.

    Signals:
        refreshed: a refresh has finished (the runs it read).
        selection_changed: the selected run, batch or prompt changed (actions follow it).
        driver_waits_read: while another process drives, which profiles it parks and why
            (a DriverWaits, or None), read from the workspace at each refresh.
    """

    refreshed = Signal(object)
    selection_changed = Signal()
    driver_waits_read = Signal(object)

    def __init__(self, *, runs: QTableView, runs_model: RunsModel, batches: QTableView,
                 batches_model: BatchesModel, prompts: PromptsPanel, detail: DetailStack,
                 spend: SpendView, tabs: QTabWidget, middle: QStackedWidget,
                 welcome: WelcomePanel, session: Callable[[], WorkspaceSession | None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs, self.runs_model = runs, runs_model
        self.batches, self.batches_model = batches, batches_model
        self.prompts, self.detail, self.spend = prompts, detail, spend
        self.tabs, self.middle, self.welcome = tabs, middle, welcome
        self._session = session
        self._version = -1
        self._again = False
        self._refreshing = False
        self._timer = QTimer(self, singleShot=True, interval=300)
        self._timer.timeout.connect(self._refresh_now)
        self._watch = QTimer(self, interval=1000)  # another process's changes (data_version)
        self._watch.timeout.connect(self._check_version)
        runs.selectionModel().selectionChanged.connect(lambda *_: self._run_selected())
        runs.clicked.connect(self._run_clicked)
        batches.selectionModel().selectionChanged.connect(lambda *_: self._batch_selected())
        batches.clicked.connect(lambda _i: self._batch_selected())
        prompts.selected.connect(self._prompt_selected)
        tabs.currentChanged.connect(lambda _i: self.refresh_soon())

    # -- starting and stopping -----------------------------------------------------------------
    def start(self) -> None:
        """A workspace is open: follow it."""
        self._version = -1
        self._watch.start()

    def stop(self) -> None:
        """The workspace closes: nothing of it is read or shown any more."""
        self._watch.stop()
        self._timer.stop()
        self._again = False
        self.runs_model.set_items([])
        self.batches_model.set_items([])
        self.detail.clear()

    # -- refreshing ----------------------------------------------------------------------------
    def refresh_soon(self) -> None:
        """Refresh within 300 ms (at most that often: a stream of events does not delay it)."""
        if not self._timer.isActive():
            self._timer.start()

    def _refresh_now(self) -> None:
        session = self._session()
        if session is not None and not session.closing:
            session.spawn(self.refresh(), name="refresh")

    def _check_version(self) -> None:
        session = self._session()
        if session is not None and session.reader is not None and not session.closing:
            session.spawn(self._watch_database(session), name="watch")

    async def _watch_database(self, session: WorkspaceSession) -> None:
        if session.reader is None:
            return
        version = await session.reader.data_version()
        if version != self._version:
            self._version = version
            self.refresh_soon()

    async def refresh(self) -> None:
        """Read runs, batches, the prompts on screen and the detail again (in place).

        One refresh at a time: one asked for while another runs is done after it.
        """
        if self._refreshing:
            self._again = True
            return
        self._refreshing = True
        try:
            await self._refresh()
            while self._again:
                self._again = False
                await self._refresh()
        except Superseded:
            pass  # the workspace closed meanwhile
        finally:
            self._refreshing = False

    async def _refresh(self) -> None:
        session = self._session()
        if session is None or session.reader is None or session.service is None:
            return
        reader, service = session.reader, session.service
        runs = await reader.run_overviews()
        self.runs_model.set_items(runs)  # a deleted selected run is deselected here
        run = self.selected_run()
        if self.prompts.run_id is not None and (run is None or run.run.id != self.prompts.run_id):
            self.prompts.set_run(run.run.id if run else None)  # its run went away
        self.middle.setCurrentWidget(self.welcome if not runs else self.tabs)
        self.batches_model.providers = await reader.providers()
        self.prompts.model.set_providers({r.run.id: r.provider for r in runs})
        self.batches_model.quiet_seconds = service.settings.auto_seal_quiet_seconds
        self.detail.run.quiet_seconds = service.settings.auto_seal_quiet_seconds
        self.batches_model.set_items(await reader.batches(self.prompts.run_id))
        await self.prompts.workspace_changed()
        await self.refresh_detail()
        if self.tabs.currentWidget() is self.spend:
            since = time.time() - (SPEND_DAYS + 1) * 86_400
            self.spend.show_spend(reader.prices, runs, await reader.spend_by_day(since))
        # The driver's keys may not be this machine's: what it cannot send, the workspace says
        # (shown while another process drives).
        self.driver_waits_read.emit(await service.driver_waits())
        self.refreshed.emit(runs)
        self.selection_changed.emit()

    async def refresh_detail(self) -> None:
        """The detail pane shows its item as it is now (or the hint, if it is gone)."""
        session = self._session()
        shown = self.detail.shown()
        if session is None or session.reader is None or shown is None:
            return
        kind, item_id = shown
        if kind == "run":
            run = self.runs_model.find(item_id)
            if run is None:
                self.detail.clear()
            else:
                self.detail.run.show_run(run)
        elif kind == "batch":
            await self._show_batch(item_id)
        else:
            await self._show_prompt(item_id)

    # -- selection -------------------------------------------------------------------------------
    def selected_run(self) -> RunOverview | None:
        rows = self.runs.selectionModel().selectedRows()
        return item_data(rows[0], ItemRole) if rows else None

    def selected_batch(self) -> Batch | None:
        rows = self.batches.selectionModel().selectedRows()
        return item_data(rows[0], ItemRole) if rows else None

    def select_run(self, run_id: int) -> bool:
        row = self.runs_model.row_of(run_id)
        if row >= 0:
            self.runs.selectRow(row)
        return row >= 0

    def _run_selected(self) -> None:
        run = self.selected_run()
        run_id = run.run.id if run else None
        if run_id != self.prompts.run_id:
            self.prompts.set_run(run_id)
        if run is not None:
            self._show_run(run)
        elif self.detail.shown() is not None and self.detail.shown()[0] in ("run", "batch"):
            self.detail.clear()  # the run (and its batches) went away or was deselected
        self.refresh_soon()
        self.selection_changed.emit()

    def _run_clicked(self, index: QModelIndex) -> None:
        """Clicking the selected run again shows it (the detail may show a prompt)."""
        run = self.runs_model.item(index.row())
        if run is not None:
            self._show_run(run)
            self.refresh_soon()

    def _show_run(self, run: RunOverview) -> None:
        self.detail.run.show_run(run)
        self.detail.setCurrentWidget(self.detail.run)

    def _batch_selected(self) -> None:
        batch = self.selected_batch()
        session = self._session()
        if batch is not None and session is not None:
            session.spawn(self._show_batch(batch.id, switch=True), name="batch-detail")
        self.selection_changed.emit()

    async def _show_batch(self, batch_id: int, switch: bool = False) -> None:
        session = self._session()
        if session is None or session.reader is None:
            return
        # On a refresh the batches table has just read it (a batch of another run: read here).
        batch = None if switch else self.batches_model.find(batch_id)
        batch = batch or await session.reader.batch(batch_id)
        if batch is None:
            if self.detail.shown() == ("batch", batch_id):
                self.detail.clear()
            return
        if not switch and batch == self.detail.batch.batch:
            return  # unchanged: so is its history (each move changes the batch)
        moves = await session.reader.batch_transitions(batch_id)
        if not switch and self.detail.shown() != ("batch", batch_id):
            return  # the user moved on meanwhile
        self.detail.batch.show_batch(batch, moves,
                                     self.batches_model.providers.get(batch.profile_id, "?"))
        self.detail.setCurrentWidget(self.detail.batch)

    def _prompt_selected(self, row: PromptRow | None) -> None:
        session = self._session()
        if row is not None and session is not None:
            session.spawn(self._show_prompt(row.id, switch=True), name="prompt-detail")
        self.selection_changed.emit()

    async def _show_prompt(self, prompt_id: int, switch: bool = False) -> None:
        session = self._session()
        if session is None or session.reader is None:
            return
        detail = await session.reader.prompt_detail(prompt_id)
        if detail is None:
            if self.detail.shown() == ("prompt", prompt_id):
                self.detail.clear()
            return
        if switch:
            # While the rows are read again the selected row may briefly be a placeholder
            # (current() is None); the prompt the user chose is still the one to show.
            current = self.prompts.current()
            chosen = current.id if current is not None else self.prompts.model.chosen
            if chosen != prompt_id:
                return  # another prompt was chosen meanwhile
        elif self.detail.shown() != ("prompt", prompt_id):
            return
        self.detail.prompt.show_detail(detail)
        self.detail.setCurrentWidget(self.detail.prompt)
