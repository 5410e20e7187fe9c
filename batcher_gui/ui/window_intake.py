"""Getting work in and set up (mixed into MainWindow): files dropped or chosen go to the import
dialog; the welcome panel's sample; settings; a run's delivery; notifications."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMessageBox

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.events import NoticeLevel
from batcher_gui.domain.models import ImportOptions, ImportSummary
from batcher_gui.domain.views import RunOverview
from batcher_gui.paths import resource
from batcher_gui.ui.dialogs import inform, pick_files
from batcher_gui.ui.notify import finished_runs
from batcher_gui.ui.tasks import spawn

if TYPE_CHECKING:
    from batcher_gui.ui.import_dialog import ImportDialog
    from batcher_gui.ui.main_window import MainWindow
    from batcher_gui.ui.settings_dialog import SettingsDialog

IMPORT_FILTERS = ("Prompt files (*.jsonl *.ndjson *.json *.csv *.tsv *.tab *.txt *.xlsx);;"
                  "All files (*)")
SAMPLE = ("sample", "sample-prompts.jsonl")
SANDBOX = "sandbox"


def local_paths(urls: list[QUrl]) -> list[str]:
    return [url.toLocalFile() for url in urls if url.isLocalFile() and url.toLocalFile()]


class WindowIntake:
    """The slots behind Import, drops, the welcome panel, Preferences and Delivery."""

    _import_dialog: ImportDialog | None
    _finished_before: dict[int, bool]

    # -- drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self: MainWindow, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self: MainWindow, event: Any) -> None:
        if local_paths(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self: MainWindow, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData().urls())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.import_paths(paths)

    # -- importing -----------------------------------------------------------------------------
    def ask_import(self: MainWindow) -> None:
        async def ask() -> None:
            folder = str(self.settings.value("import/folder", str(Path.home())))
            chosen = await pick_files(self, "Import prompts", folder, IMPORT_FILTERS)
            if chosen:
                self.settings.setValue("import/folder", str(Path(chosen[0]).parent))
                self.import_paths(chosen)
        spawn(ask(), name="ask-import", owner=self)

    def import_paths(self: MainWindow, paths: list[str]) -> None:
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
        if self.service is None:
            inform(self, "The workspace is still opening; drop the file again in a moment.")
            return
        self.open_import_dialog(files)

    def open_import_dialog(self: MainWindow, files: list[str]) -> ImportDialog:
        from batcher_gui.ui.import_dialog import ImportDialog

        dialog = getattr(self, "_import_dialog", None)
        if dialog is not None and dialog.isVisible():
            dialog.add_files(files)
            dialog.raise_()
            dialog.activateWindow()
            return dialog
        assert self.service is not None
        last_model = self.settings.value("import/model", None)
        dialog = ImportDialog(self.service, files, self,
                              last_model=str(last_model) if last_model else None)
        dialog.imported.connect(self._imported)
        dialog.finished.connect(lambda _r: self._import_dialog_closed(dialog))
        self._import_dialog = dialog
        dialog.show()
        return dialog

    def _import_dialog_closed(self: MainWindow, dialog: ImportDialog) -> None:
        if dialog.last_model:
            self.settings.setValue("import/model", dialog.last_model)
        if getattr(self, "_import_dialog", None) is dialog:
            self._import_dialog = None
        dialog.deleteLater()

    def _imported(self: MainWindow, summary: ImportSummary) -> None:
        text = f"Imported {summary.prompts:,} prompt(s) as run {summary.run.label}."
        if summary.skipped:
            text += f" {summary.skipped:,} line(s) with problems were left out."
        self.statusBar().showMessage(text, 10_000)
        spawn(self.refresh_and_select(summary.run.id), name="select-run", owner=self)

    async def refresh_and_select(self: MainWindow, run_id: int) -> None:
        await self.refresh()
        row = self.runs_model.row_of(run_id)
        if row >= 0:
            self.runs.selectRow(row)

    # -- the welcome panel ---------------------------------------------------------------------
    def try_sample(self: MainWindow) -> None:
        spawn(self._try_sample(), name="sample", owner=self)

    async def _try_sample(self: MainWindow) -> None:
        service = self.service
        if service is None:
            return
        self.welcome.set_busy(True, "Importing the sample…")
        try:
            names = {run.name for run in await service.runs()}
            name, n = "sample", 2
            while name in names:
                name, n = f"sample ({n})", n + 1
            summary = await service.import_file(resource(*SAMPLE), ImportOptions(),
                                                profile=SANDBOX, name=name)
            await service.submit(summary.run.id)
        except BatcherError as exc:
            inform(self, f"The sample could not be started: {exc}")
            return
        finally:
            self.welcome.set_busy(False)
        self.banner.show_message(
            f"The sample run {summary.run.label} is on its way to the built-in sandbox: watch "
            "its progress on the left; click a prompt to read its answer.")
        await self.refresh_and_select(summary.run.id)

    # -- settings and delivery -----------------------------------------------------------------
    def open_settings(self: MainWindow, page: str = "profiles", profile: str | None = None,
                      focus_key: bool = False) -> SettingsDialog | None:
        if self.service is None:
            return None
        from batcher_gui.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.service, parent=self)
        dialog.open_page(page)
        if profile is not None:
            dialog.select_profile(profile)
        if focus_key:
            dialog.focus_key_field()
        dialog.finished.connect(lambda _r: (dialog.deleteLater(), self.refresh_soon()))
        dialog.show()
        return dialog

    def add_openai_key(self: MainWindow) -> None:
        self.open_settings("profiles", profile="openai", focus_key=True)

    def open_delivery(self: MainWindow) -> None:
        run = self.selected_run()
        if run is None or self.service is None:
            return
        from batcher_gui.ui.delivery_dialog import DeliveryDialog

        dialog = DeliveryDialog(self.service, run, self)
        dialog.finished.connect(lambda _r: (dialog.deleteLater(), self.refresh_soon()))
        dialog.show()

    # -- notifications -------------------------------------------------------------------------
    def watch_runs(self: MainWindow, runs: list[RunOverview]) -> None:
        """Announce runs that finished since the last refresh (banner, and the desktop)."""
        if not hasattr(self, "_finished_before"):
            self._finished_before = {}
        service = self.service
        enabled = service is not None and bool(service.settings.notifications)
        for news in finished_runs(self._finished_before, runs):
            self.banner.show_message(f"{news.title}: {news.message}", news.level)
            self.notifier.announce(news, desktop=enabled and not self.isActiveWindow())

    def forget_runs(self: MainWindow) -> None:
        self._finished_before = {}

    def about(self: MainWindow) -> None:
        from batcher_gui.ui.crash import about_text

        box = inform(self, about_text(self.paths), title="About Batcher",
                     icon=QMessageBox.Icon.NoIcon)
        box.setIconPixmap(self.windowIcon().pixmap(64, 64))
