"""The main window: runs on the left, the selection's prompts and batches in the middle, the
selected item on the right, the engine's state at the bottom. The engine runs inside it."""

from __future__ import annotations

import asyncio
import importlib
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.config.prices import price_table
from batcher_gui.domain.events import (
    BatchChanged,
    EngineActivity,
    EngineStateChanged,
    Event,
    ExportProgress,
    ImportProgress,
    Notice,
    PromptsChanged,
    RunsChanged,
    TokensCounted,
)
from batcher_gui.domain.models import Batch
from batcher_gui.domain.views import PromptRow, RunOverview
from batcher_gui.paths import WorkspacePaths, resource
from batcher_gui.storage.views import ViewQueries
from batcher_gui.ui.delegates import EmptyMessageTable, ProgressDelegate
from batcher_gui.ui.detail import DetailStack
from batcher_gui.ui.notify import Notifier
from batcher_gui.ui.prompts_panel import PromptsPanel
from batcher_gui.ui.qtfix import item_data
from batcher_gui.ui.runs_model import BatchesModel, ItemRole, RunsModel
from batcher_gui.ui.spend_view import DAYS as SPEND_DAYS
from batcher_gui.ui.spend_view import SpendView
from batcher_gui.ui.status import Banner, EngineStatus
from batcher_gui.ui.tasks import cancel_all, spawn
from batcher_gui.ui.view_reader import Superseded, ViewReader
from batcher_gui.ui.welcome import WelcomePanel
from batcher_gui.ui.window_actions import build_actions
from batcher_gui.ui.window_commands import WindowCommands
from batcher_gui.ui.window_intake import WindowIntake

if TYPE_CHECKING:
    from batcher_gui.app import Service

NO_RUNS = "No runs yet.\n\nFile → Import (Ctrl+O) turns a file of prompts into a run."
NO_BATCHES = "No batches here yet: importing a file makes its draft batches."


# Pending, in flight, done, tokens, profile · model, source, started, finished: the progress
# bar and its tooltip say most of it, and the side panel is narrow.
RUNS_HIDDEN_AT_FIRST = (2, 3, 4, 6, 8, 9, 10, 11)


def _table(message: str, name: str) -> EmptyMessageTable:
    table = EmptyMessageTable(message)
    table.setAccessibleName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    return table


RUN_MENU = ("submit", "cancel_run", "retry", "export", "delivery", "open_results", "delete_run")
BATCH_MENU = ("cancel_batch", "restart_batch")


class MainWindow(WindowCommands, WindowIntake, QMainWindow):
    """See the module docstring. Open a workspace with :meth:`open_workspace`."""

    def __init__(self, settings: QSettings, service_options: dict[str, Any] | None = None
                 ) -> None:
        super().__init__()
        self.settings = settings
        self.service_options = service_options or {}
        self.service: Service | None = None
        self.reader: ViewReader | None = None
        self.paths: WorkspacePaths | None = None
        self.closed = asyncio.get_event_loop().create_future()
        self._closing = False
        self._version = -1
        self._unsubscribe: Any = None
        self.setWindowTitle("Batcher")
        self.setObjectName("main-window")
        self.setWindowIcon(QIcon(str(resource("icons", "batcher.svg"))))
        self.setAcceptDrops(True)  # a file dropped anywhere goes to the import dialog
        self._import_dialog = None
        self._finished_before: dict[int, bool] = {}
        self.notifier = Notifier(self)

        self.runs_model = RunsModel(self)
        self.runs = _table(NO_RUNS, "Runs")
        self.runs.setModel(self.runs_model)
        self.runs.setItemDelegateForColumn(1, ProgressDelegate(self.runs))
        for column, width in enumerate((150, 130, 70, 70, 70, 60, 90, 80, 200, 160, 110, 110,
                                        150)):
            self.runs.setColumnWidth(column, width)
        for column in RUNS_HIDDEN_AT_FIRST:  # right-click the header to show them
            self.runs.setColumnHidden(column, True)
        self.batches_model = BatchesModel(self)
        self.batches = _table(NO_BATCHES, "Batches")
        self.batches.setModel(self.batches_model)
        self.batches.setItemDelegateForColumn(5, ProgressDelegate(self.batches))
        for column, width in enumerate((50, 130, 50, 200, 130, 150, 230, 60)):
            self.batches.setColumnWidth(column, width)
        self.prompts = PromptsPanel(None, self)  # the reader comes with a workspace
        self.tabs = QTabWidget()
        self.tabs.addTab(self.prompts, "Prompts")
        self.tabs.addTab(self.batches, "Batches")
        self.spend = SpendView()
        self.tabs.addTab(self.spend, "Spend")
        self.tabs.currentChanged.connect(lambda _i: self.refresh_soon())
        self.welcome = WelcomePanel()
        self.middle = QStackedWidget()  # the welcome panel while the workspace has no runs
        self.middle.addWidget(self.tabs)
        self.middle.addWidget(self.welcome)
        self.detail = DetailStack()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("main-splitter")
        for widget in (self.runs, self.middle, self.detail):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([420, 760, 420])
        self.banner = Banner()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.engine_status = EngineStatus()
        self.statusBar().addWidget(self.engine_status, 1)

        self.commands = build_actions(self, self.slots())
        # Right-click a run or a batch: the commands that act on it.
        for table, names in ((self.runs, RUN_MENU), (self.batches, BATCH_MENU)):
            table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            table.addActions([self.commands[name] for name in names])
        self._refresh_timer = QTimer(self, singleShot=True, interval=300)
        self._refresh_timer.timeout.connect(
            lambda: spawn(self.refresh(), name="refresh", owner=self))
        self._watch = QTimer(self, interval=1000)  # another process's changes (data_version)
        self._watch.timeout.connect(
            lambda: spawn(self._watch_database(), name="watch", owner=self))
        self.runs.selectionModel().selectionChanged.connect(lambda *_: self._run_selected())
        self.batches.selectionModel().selectionChanged.connect(
            lambda *_: self._batch_selected())
        self.prompts.selected.connect(self._prompt_selected)
        self.welcome.choose_file.connect(self.ask_import)
        self.welcome.try_sample.connect(self.try_sample)
        self.welcome.add_key.connect(self.add_openai_key)
        self.banner.action.connect(lambda _text: self.open_settings())
        self.notifier.clicked.connect(self._notification_clicked)
        self.restore_layout()

    # -- workspace -----------------------------------------------------------------------------
    async def open_workspace(self, paths: WorkspacePaths) -> None:
        """Open ``paths`` (closing the current one) and start its engine.

        An existing workspace's prompts show first, read straight from the file, while the
        service (a second to import and open) gets ready beside them.
        """
        await self.close_workspace()
        self.engine_status.text.setText(f"opening {paths.root}…")
        self.paths = paths
        self.setWindowTitle(f"Batcher — {paths.root}")
        self.detail.batch.results_dir = paths.results_dir
        loop = asyncio.get_running_loop()
        early = paths.database.exists()
        if early:  # rows on screen at once; a schema too old for the views just waits
            self._use_reader(await loop.run_in_executor(None, ViewReader, paths.database))
            # The service's imports would take the interpreter from the GUI thread: after.
            await self.prompts.model.first_rows_shown(timeout=3.0)
        service = await self._open_service(paths)
        if self._closing:  # the window was closed (Ctrl+Q) while the workspace opened
            await service.close()
            return
        self.service = service
        if not early:
            self._use_reader(await loop.run_in_executor(None, ViewReader, paths.database))
        self._unsubscribe = service.subscribe(self.on_event)
        self.remember_workspace(paths.root)
        for problem in service._startup_problems:
            self.banner.show_message(f"A setting was ignored: {problem}")
        try:
            await self.refresh()
        except Superseded:
            if self._closing:  # its reads were stopped by the closing window
                return
            raise
        self._watch.start()
        await service.start_engine()

    async def _open_service(self, paths: WorkspacePaths) -> Service:
        # Imported in a thread: SQLAlchemy and the engine take most of a second to load.
        module = await asyncio.get_running_loop().run_in_executor(
            None, importlib.import_module, "batcher_gui.app")
        service: Service = await module.Service.open(paths, **self.service_options)
        return service

    def _use_reader(self, reader: ViewReader) -> None:
        self.reader = reader
        self.prompts.set_reader(reader)
        self.prompts.set_run(None)

    async def close_workspace(self) -> None:
        self._watch.stop()
        self._refresh_timer.stop()
        await cancel_all()  # views' reads of this workspace: not wanted any more
        service, reader, self.service, self.reader = self.service, self.reader, None, None
        # Nothing of the old workspace stays on screen while the next one opens.
        self.runs_model.set_items([])
        self.batches_model.set_items([])
        self.detail.setCurrentWidget(self.detail.hint)
        self.middle.setCurrentWidget(self.tabs)
        self.forget_runs()
        if self._import_dialog is not None:  # it imports into this workspace: not any more
            self._import_dialog.reject()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if service is not None:
            await service.close()
        if reader is not None:
            await asyncio.get_running_loop().run_in_executor(None, reader.close)

    # -- events and refreshing -----------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        if isinstance(event, EngineStateChanged):
            self.engine_status.on_state(event)
        elif isinstance(event, EngineActivity):
            self.engine_status.on_activity(event)
        elif isinstance(event, Notice):
            self.banner.on_notice(event)
            self.statusBar().showMessage(event.message, 8000)
        elif isinstance(event, (BatchChanged, PromptsChanged, RunsChanged)):
            self.refresh_soon()
        elif isinstance(event, (ImportProgress, ExportProgress)):
            self.on_progress(event)
        elif isinstance(event, TokensCounted):  # the runs' Estimate column fills in
            if event.remaining:
                self.statusBar().showMessage(
                    f"Counting tokens: {event.remaining:,} prompt(s) to go", 5000)
            self.refresh_soon()

    def refresh_soon(self) -> None:
        """Refresh within 300 ms (at most that often: a stream of events does not delay it)."""
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    async def _watch_database(self) -> None:
        if self.reader is None:
            return
        version = await self.reader.run(ViewQueries.data_version)
        if version != self._version:
            self._version = version
            self.refresh_soon()

    async def refresh(self) -> None:
        """Read runs, batches and the shown prompts again (in place)."""
        reader, service = self.reader, self.service
        if reader is None or service is None:
            return
        prices = price_table(service.settings.prices)
        self.runs_model.prices = prices
        self.detail.prompt.prices = prices
        runs = await reader.run(ViewQueries.run_overviews)
        self.runs_model.set_items(runs)
        self.watch_runs(runs)
        self.middle.setCurrentWidget(self.welcome if not runs else self.tabs)
        self.detail.setVisible(bool(runs))  # nothing to detail yet: the welcome takes the room
        self.batches_model.profiles = await reader.run(ViewQueries.profile_names)
        self.batches_model.set_items(await reader.run(ViewQueries.batches, self.prompts.run_id))
        await self.prompts.workspace_changed()
        if self.tabs.currentWidget() is self.spend:
            since = time.time() - (SPEND_DAYS + 1) * 86_400
            self.spend.show_spend(prices, runs, await reader.run(ViewQueries.spend_by_day, since))
        self._update_actions()

    # -- selection -----------------------------------------------------------------------------
    def selected_run(self) -> RunOverview | None:
        rows = self.runs.selectionModel().selectedRows()
        return item_data(rows[0], ItemRole) if rows else None

    def selected_batch(self) -> Batch | None:
        rows = self.batches.selectionModel().selectedRows()
        return item_data(rows[0], ItemRole) if rows else None

    def _run_selected(self) -> None:
        run = self.selected_run()
        self.prompts.set_run(run.run.id if run else None)
        if run is not None:
            self.detail.run.show_run(run, self.runs_model.cost(run))
            self.detail.setCurrentWidget(self.detail.run)
        self.refresh_soon()
        self._update_actions()

    def _batch_selected(self) -> None:
        batch = self.selected_batch()
        if batch is not None and self.reader is not None:
            spawn(self._show_batch(batch), name="batch-detail", owner=self)
        self._update_actions()

    async def _show_batch(self, batch: Batch) -> None:
        assert self.reader is not None
        moves = await self.reader.run(ViewQueries.batch_transitions, batch.id)
        self.detail.batch.show_batch(batch, moves, self.batches_model.profiles.get(
            batch.profile_id, "?"))
        self.detail.setCurrentWidget(self.detail.batch)

    def _prompt_selected(self, row: PromptRow | None) -> None:
        if row is not None and self.reader is not None:
            spawn(self._show_prompt(row.id), name="prompt-detail", owner=self)
        self._update_actions()

    async def _show_prompt(self, prompt_id: int) -> None:
        assert self.reader is not None
        detail = await self.reader.run(ViewQueries.detail, prompt_id)
        current = self.prompts.current()
        if detail is not None and current is not None and current.id == prompt_id:
            self.detail.prompt.show_detail(detail)
            self.detail.setCurrentWidget(self.detail.prompt)

    def _update_actions(self) -> None:
        run = self.selected_run()
        batch = self.selected_batch()
        for name in ("export", "cancel_run", "retry", "delete_run", "submit"):
            self.commands[name].setEnabled(run is not None)
        self.commands["open_results"].setEnabled(run is not None and run.run.delivery_kind
                                                == "folder")
        self.commands["cancel_batch"].setEnabled(batch is not None)
        self.commands["restart_batch"].setEnabled(batch is not None
                                                 and batch.state.value == "failed")
        self.commands["copy_id"].setEnabled(self.prompts.current() is not None)

    # -- layout memory (QSettings) ------------------------------------------------------------
    def restore_layout(self) -> None:
        s = self.settings
        if s.value("window/geometry") is not None:
            self.restoreGeometry(s.value("window/geometry"))
        else:
            screen = QGuiApplication.primaryScreen().availableGeometry()
            self.resize(min(1600, screen.width()), min(950, screen.height()))
        if s.value("window/state") is not None:
            self.restoreState(s.value("window/state"))
        if s.value("window/splitter") is not None:
            self.splitter.restoreState(s.value("window/splitter"))
        for name, table in self._tables().items():
            state = s.value(f"tables/{name}")
            if state is not None:
                table.horizontalHeader().restoreState(state)

    def save_layout(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        for name, table in self._tables().items():
            s.setValue(f"tables/{name}", table.horizontalHeader().saveState())
        s.sync()

    def _tables(self) -> dict[str, QTableView]:
        return {"runs": self.runs, "batches": self.batches, "prompts": self.prompts.table}

    # -- closing -------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing:
            event.accept()
            return
        event.ignore()  # stop the engine between steps first, then close for real
        self._closing = True
        self.save_layout()
        # Not spawn(): closing a workspace cancels the spawned tasks, and this one must finish.
        self._shutting_down = asyncio.get_event_loop().create_task(self._shutdown())

    async def _shutdown(self) -> None:
        try:
            await self.close_workspace()
        finally:
            if not self.closed.done():
                self.closed.set_result(None)
            self.close()

    def _notification_clicked(self, run_id: int) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()
        spawn(self.refresh_and_select(run_id), name="select-run", owner=self)

    def open_url(self, path: str) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))
