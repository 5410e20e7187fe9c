"""The main window: runs on the left, the selection's prompts and batches in the middle, the
selected item on the right, the engine's state at the bottom. The engine runs inside it.

The window is composed: :class:`~batcher_gui.ui.window.parts.WindowParts` (the widgets),
:class:`~batcher_gui.ui.window.live.LiveView` (keeping them true),
:class:`~batcher_gui.ui.window.commands.Commands` (run and batch commands) and
:class:`~batcher_gui.ui.window.intake.Intake` (imports, dialogs, notifications). The open
workspace is a :class:`~batcher_gui.ui.window.session.WorkspaceSession`, which owns what the
window opened for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon
from PySide6.QtWidgets import QMainWindow

from batcher_gui.app.reader import Superseded, data_location
from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.events import (
    AnswersChecked,
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
from batcher_gui.domain.progress import may_restart
from batcher_gui.domain.states import BATCH_TERMINAL
from batcher_gui.domain.wording import plural
from batcher_gui.paths import WorkspacePaths, resolve_workspace, resource
from batcher_gui.ui.base.messages import inform, open_path, pick_files
from batcher_gui.ui.base.qtfix import item_data
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.base.theme import apply_color_scheme
from batcher_gui.ui.dialogs.checks_dialog import open_checks
from batcher_gui.ui.models.table import ItemRole
from batcher_gui.ui.views.compare_view import CompareView
from batcher_gui.ui.window.actions import build_actions
from batcher_gui.ui.window.commands import Commands
from batcher_gui.ui.window.compares import Compares
from batcher_gui.ui.window.intake import Intake
from batcher_gui.ui.window.intake_api import IntakeApiSwitch
from batcher_gui.ui.window.live import LiveView
from batcher_gui.ui.window.parts import WindowParts
from batcher_gui.ui.window.reruns import Reruns
from batcher_gui.ui.window.search_control import SearchIndexControl
from batcher_gui.ui.window.session import WorkspaceSession

MAX_RECENT = 8
RUN_MENU = ("submit", "cancel_run", "retry", "rerun", "export", "delivery", "checks",
            "open_results", "compare", "delete_run")
BATCH_MENU = ("cancel_batch", "restart_batch")


class MainWindow(QMainWindow):
    """See the module docstring. Open a workspace with :meth:`open_workspace`."""

    def __init__(self, settings: QSettings, service_options: dict[str, Any] | None = None
                 ) -> None:
        super().__init__()
        self.settings = settings
        self.service_options = service_options or {}
        self.session: WorkspaceSession | None = None
        self.closed = asyncio.get_event_loop().create_future()
        self._closing = False
        self.setWindowTitle("Batcher")
        self.setObjectName("main-window")
        self.setWindowIcon(QIcon(str(resource("icons", "batcher.svg"))))
        self.setAcceptDrops(True)  # a file dropped anywhere goes to the import dialog

        self.parts = p = WindowParts()
        # The panes by name (tests and tools read them).
        self.runs, self.runs_model, self.batches, self.batches_model = (
            p.runs, p.runs_model, p.batches, p.batches_model)
        self.prompts, self.detail, self.spend, self.tabs = p.prompts, p.detail, p.spend, p.tabs
        self.banner, self.welcome, self.middle, self.engine_status = (
            p.banner, p.welcome, p.middle, p.engine_status)
        self.setCentralWidget(p.central)
        self.statusBar().addWidget(p.engine_status, 1)
        current: Callable[[], WorkspaceSession | None] = lambda: self.session  # noqa: E731
        self.live = LiveView(runs=p.runs, runs_model=p.runs_model, batches=p.batches,
                             batches_model=p.batches_model, prompts=p.prompts,
                             detail=p.detail, spend=p.spend, tabs=p.tabs, middle=p.middle,
                             welcome=p.welcome, session=current, parent=self)
        self.live.driver_waits_read.connect(p.engine_status.on_driver_waits)
        self.commands = Commands(self, self.live, settings, current)
        self.statusBar().addPermanentWidget(self.commands.show_export)
        self.intake_api = IntakeApiSwitch(self, settings, current)
        self.intake = Intake(self, self.live, settings, p.banner, p.welcome, current)
        self.reruns = Reruns(self, self.live, p.prompts, current)
        self.compares = Compares(self, p.tabs, current, self.reruns.rerun_different)
        self.menu = build_actions(self, self._slots())
        # Right-click a run or a batch: the commands that act on it.
        for table, names in ((p.runs, RUN_MENU), (p.batches, BATCH_MENU)):
            table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
            table.addActions([self.menu[name] for name in names])
        self.live.selection_changed.connect(self.update_actions)
        p.detail.run.send_now.connect(self.commands.submit)
        p.banner.action.connect(self.intake.add_key)
        self._wire_review()
        self.search_index = SearchIndexControl(self, self._search_index_switched)
        p.prompts.searched.connect(self._search_changed)
        self.restore_layout()
        self.update_actions()

    def _search_changed(self, text: str) -> None:
        self.parts.detail.prompt.set_search(text, self.parts.prompts.highlight.words)

    def _search_index_switched(self, on: bool) -> None:
        """The search index was turned on or off: a search means something else now."""
        self.parts.prompts.highlight.words = on
        if self.parts.prompts.search.text().strip():
            self.parts.prompts.apply_filters()

    def _slots(self) -> dict[str, Callable[[], Any]]:
        p, c, i = self.parts, self.commands, self.intake
        return {
            "import": i.ask_import, "open_workspace": self.ask_workspace,
            "export": c.export, "open_results": c.open_results,
            "open_workspace_folder": lambda: self.paths and open_path(
                self, self.paths.root, "the workspace folder"),
            "quit": self.close, "find": self.focus_search, "copy_id": c.copy_id,
            "refresh": self.full_refresh,
            "show_prompts": lambda: p.tabs.setCurrentWidget(p.prompts),
            "show_batches": lambda: p.tabs.setCurrentWidget(p.batches),
            "show_spend": lambda: p.tabs.setCurrentWidget(p.spend),
            "show_runs": p.runs.setFocus,
            "submit": c.submit, "cancel_run": c.cancel_run, "retry": c.retry,
            "delete_run": c.delete_run, "cancel_batch": c.cancel_batch,
            "restart_batch": c.restart_batch, "open_log": c.open_log,
            "about": lambda: i.about(self.paths), "preferences": i.open_settings,
            "delivery": i.open_delivery, "sample": i.try_sample,
            "rerun": self.reruns.rerun_run,
            "rerun_failed_checks": self.reruns.rerun_failed_checks,
            "compare": self.compare_selected,
            "checks": lambda: open_checks(self, self.live, self.session),
            "scheme_system": lambda: self.set_color_scheme(None),
            "scheme_light": lambda: self.set_color_scheme("light"),
            "scheme_dark": lambda: self.set_color_scheme("dark"),
            "undo_label": p.prompts.review.undo, "labels": self.open_labels,
            "toggle_facets": lambda: self.show_facets(self.menu["toggle_facets"].isChecked()),
        }

    # -- review: labels, notes, facets ---------------------------------------------------------
    def _wire_review(self) -> None:
        prompts = self.parts.prompts
        prompts.review.service = lambda: self.service
        prompts.review.said.connect(lambda text: self.statusBar().showMessage(text, 6000))
        # Counted again after the running count: labelling fast never piles up counts.
        prompts.review.changed.connect(lambda: prompts.refresh_facets(interrupt=False))
        facets = self.menu["toggle_facets"]
        facets.setCheckable(True)
        self.show_facets(self.settings.value("view/facets", True, bool))

    def show_facets(self, visible: bool) -> None:
        """View → Facets: the facets beside the prompts table, or not (remembered)."""
        self.settings.setValue("view/facets", visible)
        self.menu["toggle_facets"].setChecked(visible)
        self.parts.prompts.set_facets_visible(visible)

    def open_labels(self) -> None:
        """Edit → Labels…: name the labels keys 1-9 put on prompts."""
        session = self.session
        if session is None or session.service is None:
            return
        from batcher_gui.ui.dialogs.labels_dialog import LabelsDialog

        dialog = LabelsDialog(session.service, self)
        session.adopt(dialog)
        dialog.saved.connect(lambda: spawn(self.parts.prompts.workspace_changed(),
                                           name="labels-saved", owner=self))
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        session.spawn(dialog.load(), name="labels-load")
        dialog.show()

    # -- the parts, by name (tests and tools read them) ----------------------------------------
    @property
    def service(self) -> Any:
        return self.session.service if self.session is not None else None

    @property
    def reader(self) -> Any:
        return self.session.reader if self.session is not None else None

    @property
    def paths(self) -> WorkspacePaths | None:
        return self.session.paths if self.session is not None else None

    # -- workspace -----------------------------------------------------------------------------
    async def open_workspace(self, paths: WorkspacePaths) -> None:
        """Open ``paths`` (closing the current one) and start its engine.

        An existing workspace's prompts show first, read straight from the file, while the
        service (a second to import and open) gets ready beside them; a workspace of an older
        schema is read once the service has migrated it.
        """
        await self.close_workspace()
        p = self.parts
        p.engine_status.opening(str(paths.root))
        self.setWindowTitle(f"Batcher — {paths.root}")
        p.detail.batch.results_dir = paths.results_dir
        session = WorkspaceSession(paths, self.service_options, self)
        session.service_event.connect(self.on_event)
        self.session = session
        if await session.open_reader_early():
            self._show_reader(session)
            # The service's imports would take the interpreter from the GUI thread: after.
            await p.prompts.model.first_rows_shown(timeout=3.0)
        try:
            service = await session.open_service()
        except BaseException:
            self.session = None
            await session.close()
            raise
        if self._closing or self.session is not session:
            return  # closed (Ctrl+Q, another workspace) while it opened: already closed
        if p.prompts.reader is not session.reader:
            self._show_reader(session)
        self.remember_workspace(paths.root)
        for problem in service.startup_problems:
            p.banner.show_message(f"A workspace setting was ignored: {problem}. Fix it in "
                                  "Preferences → Workspace.")
        for notice in service.startup_notices:
            p.banner.show_message(notice)
        try:
            await self.live.refresh()
        except Superseded:
            if self._closing:
                return
            raise
        if self._closing or self.session is not session or session.closing:
            return  # closed while its first rows were read
        self.live.start()
        self.search_index.attach(data_location(paths))
        await self.intake_api.apply(session)
        await service.start_engine()

    # -- compare ---------------------------------------------------------------------------------
    def open_compare(self, run_a: int, run_b: int) -> CompareView | None:
        """Show runs ``run_a`` (A) and ``run_b`` (B) side by side in a Compare tab (the one
        already open for them, if any); None when no workspace is open."""
        return self.compares.open(run_a, run_b)

    def compare_selected(self) -> None:
        """Run → Compare: the two runs selected (the older as A), or the selected one with
        another the user chooses."""
        chosen = sorted((item_data(i, ItemRole) for i in
                         self.runs.selectionModel().selectedRows()), key=lambda r: r.run.id)
        if len(chosen) >= 2:
            self.open_compare(chosen[0].run.id, chosen[1].run.id)
        elif chosen and self.session is not None:
            self.session.spawn(self.compares.ask_other(chosen[0], self.runs_model.items()),
                               name="compare-with")

    def _show_reader(self, session: WorkspaceSession) -> None:
        self.parts.prompts.set_reader(session.reader)
        self.parts.prompts.set_run(None)

    async def close_workspace(self) -> None:
        """Close the open workspace: its dialogs, tasks, reader and service; nothing of it
        stays on screen."""
        session, self.session = self.session, None
        self.live.stop()
        await self.search_index.detach()
        self.parts.prompts.set_reader(None)
        self.parts.middle.setCurrentWidget(self.parts.tabs)
        self.intake.forget_runs()
        self.update_actions()
        await self.compares.close_all()
        if session is not None:
            await session.close()
            session.deleteLater()

    # -- events ----------------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        p = self.parts
        if isinstance(event, EngineStateChanged):
            p.engine_status.on_state(event)
            p.banner.on_engine_state(event)
        elif isinstance(event, EngineActivity):
            p.engine_status.on_activity(event)
        elif isinstance(event, Notice):
            p.banner.on_notice(event)
            if not event.needs_user:  # those are said once, by the banner
                self.statusBar().showMessage(" ".join(event.message.split()), 8000)
        elif isinstance(event, (BatchChanged, PromptsChanged, RunsChanged)):
            self.live.refresh_soon()
        elif isinstance(event, (ImportProgress, ExportProgress)):
            self.commands.on_progress(event)
        elif isinstance(event, AnswersChecked):  # Check and Checks columns fill in
            self.live.refresh_soon()
        elif isinstance(event, TokensCounted):  # the runs' Estimate column fills in
            if event.remaining:
                self.statusBar().showMessage(
                    f"Counting tokens: {plural(event.remaining, 'prompt')} to go", 5000)
            self.live.refresh_soon()

    def update_actions(self) -> None:
        run = self.live.selected_run()
        batch = self.live.selected_batch()
        a = self.menu
        for name in ("export", "cancel_run", "retry", "delete_run", "submit", "delivery",
                     "rerun", "rerun_failed_checks", "compare", "checks"):
            a[name].setEnabled(run is not None)
        a["open_results"].setEnabled(run is not None and run.run.delivery_kind == "folder")
        a["cancel_batch"].setEnabled(batch is not None and batch.state not in BATCH_TERMINAL)
        a["restart_batch"].setEnabled(batch is not None and may_restart(batch.state))
        a["copy_id"].setEnabled(self.parts.prompts.current() is not None)

    # -- commands of the window itself ---------------------------------------------------------
    def focus_search(self) -> None:
        p = self.parts
        p.tabs.setCurrentWidget(p.prompts)
        p.prompts.search.setFocus()
        p.prompts.search.selectAll()

    def full_refresh(self) -> None:
        """F5: read everything again (the prompts table from its start)."""
        if self.session is None:
            return
        self.parts.prompts.model.refresh()
        self.session.spawn(self.live.refresh(), name="refresh")

    def set_color_scheme(self, scheme: str | None) -> None:
        """View → Appearance: follow the system, or light, or dark (remembered)."""
        from PySide6.QtWidgets import QApplication

        self.settings.setValue("view/color_scheme", scheme or "system")
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_color_scheme(app, scheme)
        for name in ("scheme_system", "scheme_light", "scheme_dark"):
            self.menu[name].setChecked(name == f"scheme_{scheme or 'system'}")
        self.parts.detail.clear()
        self.live.refresh_soon()

    def ask_workspace(self) -> None:
        start = str(self.paths.root if self.paths else Path.home())

        async def ask() -> None:
            chosen = await pick_files(self, "Open workspace folder", start, "", directory=True)
            if chosen:
                await self.open_workspace_safely(chosen[0])

        spawn(ask(), name="ask-workspace", owner=self)

    async def open_workspace_safely(self, folder: str) -> None:
        """Open ``folder`` as the workspace; a folder that cannot be one is said, not raised."""
        try:
            await self.open_workspace(resolve_workspace(folder).create())
        except BatcherError as exc:
            inform(self, f"{exc}\n\nUse File → Open Workspace… to choose another folder.")

    def remember_workspace(self, root: Path) -> None:
        recent = [str(root)] + [p for p in self.settings.value("workspaces/recent", [], list)
                                if p != str(root)]
        self.settings.setValue("workspaces/recent", recent[:MAX_RECENT])
        self.settings.setValue("workspaces/last", str(root))
        menu = self.menu.recent_menu
        menu.clear()
        for path in recent[:MAX_RECENT]:
            action = menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: spawn(
                self.open_workspace_safely(p), name="open", owner=self))

    # -- drag and drop (see Intake) ------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.intake.drag_enter(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self.intake.drag_enter(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.intake.drop(event)

    # -- layout memory (QSettings) ------------------------------------------------------------
    def restore_layout(self) -> None:
        from PySide6.QtGui import QGuiApplication

        s = self.settings
        if s.value("window/geometry") is not None:
            self.restoreGeometry(s.value("window/geometry"))
        else:
            screen = QGuiApplication.primaryScreen().availableGeometry()
            self.resize(min(1600, screen.width()), min(950, screen.height()))
        if s.value("window/state") is not None:
            self.restoreState(s.value("window/state"))
        if s.value("window/splitter") is not None:
            self.parts.splitter.restoreState(s.value("window/splitter"))
        for key, table in self._tables().items():
            state = s.value(key)
            if state is not None:
                table.horizontalHeader().restoreState(state)
        scheme = str(s.value("view/color_scheme", "system"))
        self.menu[f"scheme_{scheme}" if scheme in ("light", "dark") else
                  "scheme_system"].setChecked(True)

    def save_layout(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.parts.splitter.saveState())
        for key, table in self._tables().items():
            s.setValue(key, table.horizontalHeader().saveState())
        s.sync()

    def _tables(self) -> dict[str, Any]:
        # The column count in the key: a layout saved with other columns is not applied.
        return {f"tables/{name}/{table.model().columnCount()}": table
                for name, table in self.parts.tables().items()}

    # -- closing -------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing:
            event.accept()
            return
        event.ignore()  # stop the engine between steps first, then close for real
        self._closing = True
        self.save_layout()
        # Not a session task: closing the workspace cancels those, and this one must finish.
        self._shutting_down = asyncio.get_event_loop().create_task(self._shutdown())

    async def _shutdown(self) -> None:
        try:
            await self.close_workspace()
        finally:
            if not self.closed.done():
                self.closed.set_result(None)
            self.close()
