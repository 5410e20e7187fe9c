"""What the window's run and batch commands do: each runs on the service as a task of the
workspace's session, off the GUI thread, and says what happened (or what went wrong) in the
window's words. Long jobs (export) get a progress dialog of their own."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QProgressDialog, QPushButton

from batcher_gui.domain.errors import BatcherError, OverBudget
from batcher_gui.domain.events import ExportProgress, ImportProgress
from batcher_gui.domain.views import RunOverview
from batcher_gui.domain.wording import plural
from batcher_gui.ui.base import said
from batcher_gui.ui.base.messages import clicked, confirm, inform, open_path, pick_files
from batcher_gui.ui.window.live import LiveView
from batcher_gui.ui.window.session import WorkspaceSession

if TYPE_CHECKING:
    from batcher_gui.app import Service

Said = str | None


class Commands(QObject):
    """See the module docstring."""

    def __init__(self, window: QMainWindow, live: LiveView, settings: QSettings,
                 session: Callable[[], WorkspaceSession | None]) -> None:
        super().__init__(window)
        self.window = window
        self.live = live
        self.settings = settings
        self._session = session
        #: Progress dialogs of running jobs, by the service's job id.
        self._progress: dict[int, QProgressDialog] = {}
        self._exported_to: Path | None = None
        self.show_export = QPushButton("Show in Folder")
        self.show_export.setObjectName("show-export")
        self.show_export.setToolTip("Open the folder of the file just exported")
        self.show_export.clicked.connect(self._show_export)
        self.show_export.setVisible(False)
        self._hide_export = QTimer(self, singleShot=True, interval=60_000)
        self._hide_export.timeout.connect(lambda: self.show_export.setVisible(False))

    def _say(self, text: str, ms: int = 8000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # -- running commands ----------------------------------------------------------------------
    def run(self, name: str, command: Callable[[Service], Awaitable[Said]]) -> None:
        """Run ``command`` on the open workspace's service as a task of its session; say what
        it returns (a refusal, in a message box)."""
        session = self._session()
        if session is None or session.service is None:
            return
        service = session.service

        async def go() -> None:
            try:
                text = await command(service)
            except BatcherError as exc:
                inform(self.window, str(exc))
                return
            if text:
                self._say(text)
            await self.live.refresh()

        session.spawn(go(), name=name)

    def run_confirmed(self, name: str, question: str, yes: str, title: str,
                      command: Callable[[Service], Awaitable[Said]]) -> None:
        """:meth:`run`, once the user said ``yes`` to ``question``."""

        async def go(service: Service) -> Said:
            if not await confirm(self.window, question, yes=yes, title=title):
                return None
            return await command(service)

        self.run(name, go)

    def submit(self) -> None:
        run = self.live.selected_run()
        if run is not None:
            self.run("submit", lambda service: self._submit(service, run))

    async def _submit(self, service: Service, run: RunOverview) -> Said:
        try:
            outcome = await service.submit(run.run.id)
        except OverBudget as exc:
            if not await confirm(self.window, said.budget_question(exc.refusal),
                                 yes="Send Anyway", title="Over budget"):
                return f"Run {run.run.label} was not sent (over budget)."
            outcome = await service.submit(run.run.id, allow_over_budget=True)
        return said.submitted(outcome, run.run.label)

    def cancel_run(self) -> None:
        run = self.live.selected_run()
        if run is None:
            return
        unanswered = run.groups.pending + run.groups.in_flight
        if not unanswered:
            self._say(f"Nothing to cancel: every prompt of run {run.run.label} has ended.")
            return

        async def cancel(service: Service) -> Said:
            return said.cancelled(await service.cancel_run(run.run.id))

        self.run_confirmed("cancel-run", said.cancel_question(run.run.label, unanswered),
                           "Cancel Run", "Cancel run", cancel)

    def retry(self) -> None:
        run = self.live.selected_run()
        if run is not None:
            self.run("retry", lambda service: self._retry(service, run.run.id))

    @staticmethod
    async def _retry(service: Service, run_id: int) -> Said:
        return said.retried(await service.retry(run_id, prompts_too=True))

    def cancel_batch(self) -> None:
        batch = self.live.selected_batch()
        if batch is None:
            return

        async def cancel(service: Service) -> Said:
            return said.cancelled(await service.cancel_batch(batch.id))

        self.run_confirmed("cancel-batch", said.cancel_batch_question(batch.id,
                                                                      batch.request_count),
                           "Cancel Batch", "Cancel batch", cancel)

    def restart_batch(self) -> None:
        batch = self.live.selected_batch()
        if batch is None:
            return

        async def restart(service: Service) -> Said:
            count = await service.restart_batch(batch.id)
            return f"Batch #{batch.id} will be sent again with {plural(count, 'prompt')}."

        self.run("restart-batch", restart)

    def delete_run(self) -> None:
        run = self.live.selected_run()
        if run is None:
            return

        async def delete(service: Service) -> Said:
            return f"Deleted run {(await service.delete_run(run.run.id)).run_label}."

        self.run_confirmed("delete-run", said.delete_question(run.run.label, run.total),
                           "Delete Run", "Delete run", delete)

    # -- export --------------------------------------------------------------------------------
    def export(self) -> None:
        """Export the selected run: all of it, or (when the prompts table is filtered) only
        the prompts the filters show, as the user chooses."""
        from PySide6.QtWidgets import QMessageBox

        from batcher_gui.domain.views import PromptQuery

        run = self.live.selected_run()
        session = self._session()
        if run is None or session is None or session.service is None:
            return
        service = session.service
        folder = str(self.settings.value("export/folder", str(Path.home())))
        query = self.live.prompts.build_query()
        filtered = query.run_id == run.run.id and bool(
            query.states or query.model or query.has_error or query.text.strip())

        async def choose_part() -> PromptQuery | None | bool:
            """The filter to export with (None: the whole run); False: the user cancelled."""
            shown = await service.count_for_export(run.run.id, query)
            box = QMessageBox(QMessageBox.Icon.Question, "Export run",
                              f"The prompts table is filtered: it shows "
                              f"{plural(shown, 'prompt')} of run {run.run.label}. Export only "
                              f"those, or all {plural(run.total, 'prompt')} of the run?",
                              QMessageBox.StandardButton.NoButton, self.window)
            box.setTextFormat(Qt.TextFormat.PlainText)  # it quotes the run's name
            box.setObjectName("export-choice")
            only = box.addButton(f"Only the {plural(shown, 'Shown Prompt')}",
                                 QMessageBox.ButtonRole.AcceptRole)
            whole = box.addButton("The Whole Run", QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.setDefaultButton(only)
            chosen = await clicked(box)
            if chosen is only:
                return query
            return None if chosen is whole else False

        async def ask() -> None:
            part: PromptQuery | None | bool = None
            if filtered:
                try:
                    part = await choose_part()
                except BatcherError as exc:  # the run went away meanwhile
                    inform(self.window, str(exc))
                    return
                if part is False:
                    return
            only = part if isinstance(part, PromptQuery) else None
            name = run.run.name + (" (filtered)" if only is not None else "")
            chosen = await pick_files(self.window, f"Export run {run.run.label}", folder,
                                      "CSV (*.csv);;JSON Lines (*.jsonl)", save=True,
                                      suggested=f"{name}.csv")
            if chosen:
                path = chosen[0]
                self.settings.setValue("export/folder", str(Path(path).parent))
                what = "the shown prompts of run" if only is not None else "run"
                self.start_job(f"Exporting {what} {run.run.label}…", path,
                               lambda service, job, cancel: service.export_run(
                                   run.run.id, path, only=only, cancel=cancel, job_id=job))

        session.spawn(ask(), name="ask-export")

    def start_job(self, title: str, path: str,
                  job: Callable[[Any, int, threading.Event], Awaitable[int]]) -> None:
        """A long job with a progress dialog of its own and a Cancel button (the window stays
        usable; two jobs at once each show their own progress)."""
        session = self._session()
        if session is None or session.service is None:
            return
        service = session.service
        job_id = service.new_job_id()
        cancel = threading.Event()
        dialog = QProgressDialog(title, "Cancel", 0, 1000, self.window)
        dialog.setObjectName("job-progress")
        dialog.setWindowTitle("Batcher")
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setMinimumDuration(300)
        dialog.canceled.connect(cancel.set)
        session.adopt(dialog)
        self._progress[job_id] = dialog

        async def go() -> None:
            try:
                count = await job(service, job_id, cancel)
            except BatcherError as exc:
                if not cancel.is_set():
                    inform(self.window, str(exc))
                return
            finally:
                self._progress.pop(job_id, None)
                dialog.reset()
                dialog.deleteLater()
            self._exported(count, path)

        session.spawn(go(), name=f"job-{job_id}")

    def _exported(self, count: int, path: str) -> None:
        self._say(f"Exported {plural(count, 'prompt')} to {path}.", 60_000)
        self._exported_to = Path(path)
        self.show_export.setVisible(True)
        self._hide_export.start()

    def _show_export(self) -> None:
        if self._exported_to is not None:
            open_path(self.window, self._exported_to.parent, "the folder")

    def on_progress(self, event: ImportProgress | ExportProgress) -> None:
        dialog = self._progress.get(event.job_id)
        if dialog is not None and event.total:
            dialog.setValue(min(999, int(1000 * event.done / event.total)))

    # -- other commands ------------------------------------------------------------------------
    def copy_id(self) -> None:
        row = self.live.prompts.current()
        if row is not None:
            QGuiApplication.clipboard().setText(row.custom_id)
            self._say(f"Copied {row.custom_id}.", 3000)

    def open_results(self) -> None:
        run = self.live.selected_run()
        if run is not None and run.run.delivery_kind == "folder" and run.run.delivery_target:
            open_path(self.window, run.run.delivery_target, "the run's results folder")

    def open_log(self) -> None:
        from batcher_gui.ui.base.crash import log_folder

        open_path(self.window, log_folder(), "the log folder")
