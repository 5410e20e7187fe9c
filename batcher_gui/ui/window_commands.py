"""What the window's commands do (mixed into MainWindow): each one runs on the service, off the
GUI thread, and says what happened or what went wrong in words."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QProgressDialog

from batcher_gui.domain.errors import BatcherError, OverBudget
from batcher_gui.domain.events import ExportProgress, ImportProgress
from batcher_gui.paths import resolve_workspace
from batcher_gui.ui.dialogs import confirm, inform, pick_files
from batcher_gui.ui.tasks import spawn

if TYPE_CHECKING:
    from batcher_gui.ui.main_window import MainWindow

MAX_RECENT = 8


class WindowCommands:
    """The slots of :class:`MainWindow`'s actions."""

    _progress: dict[int, QProgressDialog]

    def slots(self: MainWindow) -> dict[str, Callable[[], Any]]:
        self._progress = {}
        return {
            "import": self.ask_import, "open_workspace": self.ask_workspace,
            "export": self.ask_export, "open_results": self.open_results,
            "open_workspace_folder": lambda: self.paths and self.open_url(str(self.paths.root)),
            "quit": self.close, "find": self.focus_search, "copy_id": self.copy_id,
            "refresh": self.full_refresh,
            "show_prompts": lambda: self.tabs.setCurrentWidget(self.prompts),
            "show_batches": lambda: self.tabs.setCurrentWidget(self.batches),
            "show_spend": lambda: self.tabs.setCurrentWidget(self.spend),
            "show_runs": self.runs.setFocus,
            "submit": lambda: self.run_command(self._submit),
            "cancel_run": lambda: self.run_command(self._cancel_run),
            "retry": lambda: self.run_command(self._retry),
            "delete_run": self.ask_delete_run,
            "cancel_batch": lambda: self.run_command(self._cancel_batch),
            "restart_batch": lambda: self.run_command(self._restart_batch),
            "open_log": self.open_log, "about": self.about,
            "preferences": self.open_settings, "delivery": self.open_delivery,
            "sample": self.try_sample,
        }

    # -- running commands ----------------------------------------------------------------------
    def run_command(self: MainWindow, command: Callable[[], Awaitable[str | None]]) -> None:
        async def go() -> None:
            if self.service is None:
                return
            try:
                said = await command()
            except BatcherError as exc:
                inform(self, str(exc))
                return
            if said:
                self.statusBar().showMessage(said, 8000)
            await self.refresh()

        spawn(go(), name="command", owner=self)

    async def _submit(self: MainWindow) -> str | None:
        run = self.selected_run()
        assert self.service is not None and run is not None
        try:
            sealed = await self.service.submit(run.run.id)
        except OverBudget as exc:
            problem = str(exc).split(". Nothing was sent")[0]
            if not await confirm(self, f"{problem}.\n\nSend it anyway?", yes="Send Anyway",
                                 title="Over budget"):
                return f"Run {run.run.label} was not sent (over budget)."
            sealed = await self.service.submit(run.run.id, allow_over_budget=True)
        return (f"Sending {len(sealed)} batch(es) of run {run.run.label} now." if sealed else
                f"Run {run.run.label} has no draft waiting to be sent.")

    async def _cancel_run(self: MainWindow) -> str | None:
        run = self.selected_run()
        assert self.service is not None and run is not None
        said = await self.service.cancel_run(run.run.id)
        return "; ".join(said) or "Nothing to cancel: every batch of this run has ended."

    async def _retry(self: MainWindow) -> str | None:
        run = self.selected_run()
        assert self.service is not None and run is not None
        outcome = await self.service.retry(run.run.id, prompts_too=True)
        text = f"{outcome.prompts_to_send:,} prompt(s) will be sent again."
        if outcome.delivery_failures_left:
            text += (f" {outcome.delivery_failures_left:,} result(s) whose delivery failed were "
                     "left alone (they are paid for).")
        return text

    async def _cancel_batch(self: MainWindow) -> str | None:
        batch = self.selected_batch()
        assert self.service is not None and batch is not None
        return await self.service.cancel_batch(batch.id)

    async def _restart_batch(self: MainWindow) -> str | None:
        batch = self.selected_batch()
        assert self.service is not None and batch is not None
        count = await self.service.restart_batch(batch.id)
        return f"Batch #{batch.id} will be sent again with {count:,} prompt(s)."

    def ask_delete_run(self: MainWindow) -> None:
        run = self.selected_run()
        if run is None:
            return

        async def ask() -> None:
            if await confirm(self, f"Delete run {run.run.label} with its {run.total:,} prompts "
                             "and their results? This cannot be undone.", yes="Delete run",
                             title="Delete run"):
                self.run_command(delete)

        async def delete() -> str:
            assert self.service is not None
            await self.service.delete_run(run.run.id)
            return f"Deleted run {run.run.label}."

        spawn(ask(), name="ask-delete", owner=self)

    # -- import and export -------------------------------------------------------------------
    def ask_export(self: MainWindow) -> None:
        run = self.selected_run()
        if run is None:
            return
        folder = str(self.settings.value("export/folder", str(Path.home())))

        async def ask() -> None:
            chosen = await pick_files(self, f"Export run {run.run.label}", folder,
                                      "CSV (*.csv);;JSON Lines (*.jsonl)", save=True,
                                      suggested=f"{run.run.name}.csv")
            if chosen:
                path = chosen[0]
                self.settings.setValue("export/folder", str(Path(path).parent))
                self.start_job(f"Exporting run {run.run.label}…", lambda cancel: self._export(
                    run.run.id, path, cancel))

        spawn(ask(), name="ask-export", owner=self)

    async def _export(self: MainWindow, run_id: int, path: str, cancel: threading.Event
                      ) -> str:
        assert self.service is not None
        n = await self.service.export_run(run_id, path, cancel=cancel)
        return f"Exported {n:,} prompt(s) to {path}."

    def start_job(self: MainWindow, title: str,
                  job: Callable[[threading.Event], Awaitable[str]]) -> None:
        """A long job with a progress dialog and a Cancel button (the window stays usable)."""
        cancel = threading.Event()
        dialog = QProgressDialog(title, "Cancel", 0, 1000, self)
        dialog.setWindowTitle("Batcher")
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setMinimumDuration(300)
        dialog.canceled.connect(cancel.set)
        job_id = len(self._progress) + 1

        async def go() -> None:
            self._progress[job_id] = dialog
            try:
                said = await job(cancel)
                self.statusBar().showMessage(said, 10000)
            except BatcherError as exc:
                if not cancel.is_set():
                    inform(self, str(exc))
            finally:
                self._progress.pop(job_id, None)
                dialog.reset()
                dialog.deleteLater()
            await self.refresh()

        spawn(go(), name="job", owner=self)

    def on_progress(self: MainWindow, event: ImportProgress | ExportProgress) -> None:
        for dialog in self._progress.values():
            if dialog.labelText().startswith("Importing" if isinstance(event, ImportProgress)
                                             else "Exporting"):
                if event.total:
                    dialog.setValue(int(1000 * event.done / event.total))
                break

    # -- other commands ------------------------------------------------------------------------
    def focus_search(self: MainWindow) -> None:
        self.tabs.setCurrentWidget(self.prompts)
        self.prompts.search.setFocus()
        self.prompts.search.selectAll()

    def copy_id(self: MainWindow) -> None:
        row = self.prompts.current()
        if row is not None:
            QGuiApplication.clipboard().setText(row.custom_id)

    def full_refresh(self: MainWindow) -> None:
        self.prompts.model.refresh()
        spawn(self.refresh(), name="refresh", owner=self)

    def open_results(self: MainWindow) -> None:
        run = self.selected_run()
        if run is not None and run.run.delivery_kind == "folder" and run.run.delivery_target:
            self.open_url(run.run.delivery_target)

    def open_log(self: MainWindow) -> None:
        from batcher_gui.ui.crash import log_folder

        self.open_url(str(log_folder()))

    def ask_workspace(self: MainWindow) -> None:
        start = str(self.paths.root if self.paths else Path.home())

        async def ask() -> None:
            chosen = await pick_files(self, "Open workspace folder", start, "", directory=True)
            if chosen:
                await self.open_workspace_safely(chosen[0])

        spawn(ask(), name="ask-workspace", owner=self)

    async def open_workspace_safely(self: MainWindow, folder: str) -> None:
        """Open ``folder`` as the workspace; a folder that cannot be one is said, not raised."""
        try:
            await self.open_workspace(resolve_workspace(folder).create())
        except BatcherError as exc:
            inform(self, f"{exc}\n\nUse File → Open Workspace… to choose another folder.")

    def remember_workspace(self: MainWindow, root: Path) -> None:
        recent = [str(root)] + [p for p in self.settings.value("workspaces/recent", [], list)
                                if p != str(root)]
        self.settings.setValue("workspaces/recent", recent[:MAX_RECENT])
        self.settings.setValue("workspaces/last", str(root))
        menu = self.commands.recent_menu
        menu.clear()
        for path in recent[:MAX_RECENT]:
            action = menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: spawn(
                self.open_workspace_safely(p), name="open", owner=self))
