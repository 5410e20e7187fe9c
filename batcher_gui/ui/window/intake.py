"""Getting work in and setting it up: files dropped or chosen go to the import dialog; the
welcome panel's sample; Preferences and Delivery; run-finished notifications.

Every dialog opened here acts on the open workspace, so it belongs to that workspace's
session: switching workspaces (or closing the window) closes it, and it can never write into
a workspace that is no longer open.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.events import NoticeLevel
from batcher_gui.domain.models import ImportOptions, ImportSummary
from batcher_gui.domain.progress import unique_name
from batcher_gui.domain.views import RunOverview
from batcher_gui.domain.wording import plural
from batcher_gui.paths import resource
from batcher_gui.ui.base.messages import inform, pick_files
from batcher_gui.ui.views.notify import Notifier, finished_runs
from batcher_gui.ui.views.status import Banner
from batcher_gui.ui.views.welcome import WelcomePanel
from batcher_gui.ui.window.live import LiveView
from batcher_gui.ui.window.session import WorkspaceSession

if TYPE_CHECKING:
    from batcher_gui.ui.dialogs.import_dialog import ImportDialog
    from batcher_gui.ui.dialogs.settings_dialog import SettingsDialog

IMPORT_FILTERS = ("Prompt files (*.jsonl *.ndjson *.json *.csv *.tsv *.tab *.txt *.xlsx);;"
                  "All files (*)")
SAMPLE = ("sample", "sample-prompts.jsonl")
SANDBOX = "sandbox"


def local_paths(urls: list[QUrl]) -> list[str]:
    return [url.toLocalFile() for url in urls if url.isLocalFile() and url.toLocalFile()]


class Intake(QObject):
    """See the module docstring."""

    def __init__(self, window: QMainWindow, live: LiveView, settings: QSettings,
                 banner: Banner, welcome: WelcomePanel,
                 session: Callable[[], WorkspaceSession | None]) -> None:
        super().__init__(window)
        self.window = window
        self.live = live
        self.settings = settings
        self.banner = banner
        self._session = session
        self.notifier = Notifier(window)
        self._import_dialog: ImportDialog | None = None
        self._finished_before: dict[int, bool] = {}
        welcome.choose_file.connect(self.ask_import)
        welcome.try_sample.connect(self.try_sample)
        welcome.add_key.connect(self.add_openai_key)
        self.welcome = welcome
        self.notifier.clicked.connect(self._notification_clicked)
        live.refreshed.connect(self.watch_runs)

    # -- drag and drop -------------------------------------------------------------------------
    # Files are taken as a copy, never a move: no file manager deletes the original.
    def drag_enter(self, event: QDragEnterEvent | QDragMoveEvent) -> None:
        if local_paths(event.mimeData().urls()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def drop(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData().urls())
        if not paths:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.import_paths(paths)

    # -- importing -----------------------------------------------------------------------------
    def ask_import(self) -> None:
        session = self._session()
        if session is None:
            return

        async def ask() -> None:
            folder = str(self.settings.value("import/folder", str(Path.home())))
            chosen = await pick_files(self.window, "Import prompts", folder, IMPORT_FILTERS)
            if chosen:
                self.settings.setValue("import/folder", str(Path(chosen[0]).parent))
                self.import_paths(chosen)

        session.spawn(ask(), name="ask-import")

    def import_paths(self, paths: list[str]) -> None:
        """Files go to the import dialog; folders and missing paths are named in a message."""
        files, refused = [], []
        for path in paths:
            p = Path(path)
            if p.is_dir():
                refused.append(f"{p.name or p} is a folder: drop the prompt files inside it.")
            elif not p.exists():
                refused.append(f"{p} does not exist (moved or deleted?).")
            else:
                files.append(str(p))
        if refused:
            self.banner.show_message(" ".join(refused), NoticeLevel.WARNING)
        if not files:
            return
        session = self._session()
        if session is None or session.service is None:
            inform(self.window, "The workspace is still opening; drop the file again in a "
                                "moment.")
            return
        self.open_import_dialog(files)

    def open_import_dialog(self, files: list[str]) -> ImportDialog | None:
        from batcher_gui.ui.dialogs.import_dialog import ImportDialog

        dialog = self._import_dialog
        if dialog is not None and dialog.isVisible():
            dialog.add_files(files)
            dialog.raise_()
            dialog.activateWindow()
            return dialog
        session = self._session()
        if session is None or session.service is None:
            return None
        last_model = self.settings.value("import/model", None)
        dialog = ImportDialog(session.service, files, self.window,
                              last_model=str(last_model) if last_model else None)
        session.adopt(dialog)
        dialog.imported.connect(self._imported)
        dialog.finished.connect(lambda _r: self._import_dialog_closed(dialog))
        self._import_dialog = dialog
        dialog.show()
        return dialog

    def _import_dialog_closed(self, dialog: ImportDialog) -> None:
        if dialog.last_model:
            self.settings.setValue("import/model", dialog.last_model)
        if self._import_dialog is dialog:
            self._import_dialog = None
        dialog.deleteLater()

    def _imported(self, summary: ImportSummary) -> None:
        text = f"Imported {plural(summary.prompts, 'prompt')} as run {summary.run.label}."
        if summary.skipped:
            text += f" {plural(summary.skipped, 'line')} with problems were left out."
        self.window.statusBar().showMessage(text, 10_000)
        session = self._session()
        if session is not None:
            session.spawn(self.refresh_and_select(summary.run.id), name="select-run")

    async def refresh_and_select(self, run_id: int) -> None:
        await self.live.refresh()
        self.live.select_run(run_id)

    # -- the welcome panel ---------------------------------------------------------------------
    def try_sample(self) -> None:
        session = self._session()
        if session is not None:
            session.spawn(self._try_sample(session), name="sample")

    async def _try_sample(self, session: WorkspaceSession) -> None:
        service = session.service
        if service is None:
            return
        self.welcome.set_busy(True, "Importing the sample…")
        try:
            name = unique_name("sample", [run.name for run in await service.runs()])
            summary = await service.import_file(resource(*SAMPLE), ImportOptions(),
                                                profile=SANDBOX, name=name)
            await service.submit(summary.run.id)
        except BatcherError as exc:
            inform(self.window, f"The sample could not be started: {exc}")
            return
        finally:
            self.welcome.set_busy(False)
        self.banner.show_message(
            f"The sample run {summary.run.label} is on its way to the built-in sandbox: watch "
            "its progress on the left; click a prompt to read its answer.")
        await self.refresh_and_select(summary.run.id)

    # -- settings and delivery -----------------------------------------------------------------
    def open_settings(self, page: str = "profiles", profile: str | None = None,
                      focus_key: bool = False) -> SettingsDialog | None:
        session = self._session()
        if session is None or session.service is None:
            return None
        from batcher_gui.ui.dialogs.settings_dialog import SettingsDialog

        dialog = SettingsDialog(session.service, parent=self.window)
        session.adopt(dialog)
        dialog.open_page(page)
        if profile is not None:
            dialog.select_profile(profile)
        if focus_key:
            dialog.focus_key_field()
        switch = getattr(self.window, "intake_api", None)
        if switch is not None:
            switch.attach(dialog)
        dialog.finished.connect(lambda _r: self._settings_closed(dialog))
        dialog.show()
        return dialog

    def _settings_closed(self, dialog: QObject) -> None:
        dialog.deleteLater()
        session = self._session()
        if session is not None:
            session.prices_changed()
        self.live.refresh_soon()

    def add_openai_key(self) -> None:
        self.open_settings("profiles", profile="openai", focus_key=True)

    def add_key(self, profile: str | None) -> None:
        """The banner's "Add key…": the profile's key field."""
        self.open_settings("profiles", profile=profile or "openai", focus_key=True)

    def open_delivery(self) -> None:
        run = self.live.selected_run()
        session = self._session()
        if run is None or session is None or session.service is None:
            return
        from batcher_gui.ui.dialogs.delivery_dialog import DeliveryDialog

        dialog = DeliveryDialog(session.service, run, self.window)
        session.adopt(dialog)
        dialog.finished.connect(lambda _r: (dialog.deleteLater(), self.live.refresh_soon()))
        dialog.show()

    # -- notifications -------------------------------------------------------------------------
    def watch_runs(self, runs: list[RunOverview]) -> None:
        """Announce runs that finished since the last refresh (banner, and the desktop)."""
        session = self._session()
        service = session.service if session is not None else None
        enabled = service is not None and bool(service.settings.notifications)
        alive = {run.run.id for run in runs}  # deleted runs are forgotten
        self._finished_before = {k: v for k, v in self._finished_before.items() if k in alive}
        for news in finished_runs(self._finished_before, runs):
            self.banner.show_message(f"{news.title}: {news.message}", news.level)
            self.notifier.announce(news, desktop=enabled and not self.window.isActiveWindow())

    def forget_runs(self) -> None:
        self._finished_before = {}

    def _notification_clicked(self, run_id: int) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        session = self._session()
        if session is not None:
            session.spawn(self.refresh_and_select(run_id), name="select-run")

    def about(self, paths: object) -> None:
        from batcher_gui.ui.base.crash import about_text

        box = inform(self.window, about_text(paths), title="About Batcher",  # type: ignore
                     icon=QMessageBox.Icon.NoIcon)
        box.setIconPixmap(self.window.windowIcon().pixmap(64, 64))
