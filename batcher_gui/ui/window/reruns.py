"""The window's re-runs: opening the Re-run dialog from the runs list, the Run menu and the
prompts table, and offering Compare of origin and re-run once a re-run has ended.

"Ended" is read from the workspace after every refresh of the runs (which events trigger; and
every 20 s besides), and
the service marks each re-run offered as it hands it out: Compare opens once per re-run, also
after a restart or when another window (or ``batcher sync``) drove it to the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow

from batcher_gui.domain.errors import BatcherError, OverBudget
from batcher_gui.domain.models import Run
from batcher_gui.domain.rerun import RerunScope
from batcher_gui.ui.base import said
from batcher_gui.ui.base.messages import confirm, inform
from batcher_gui.ui.base.qtfix import item_data
from batcher_gui.ui.models.prompts import RowRole
from batcher_gui.ui.views.prompts_panel import PromptsPanel
from batcher_gui.ui.window.live import LiveView
from batcher_gui.ui.window.session import WorkspaceSession

if TYPE_CHECKING:
    from batcher_gui.ui.dialogs.rerun_dialog import RerunDialog


#: How often the window looks for ended re-runs besides after each refresh of the runs.
CHECK_EVERY_MS = 20_000


class Reruns(QObject):
    """See the module docstring."""

    def __init__(self, window: QMainWindow, live: LiveView, prompts: PromptsPanel,
                 session: Callable[[], WorkspaceSession | None]) -> None:
        super().__init__(window)
        self.window = window
        self.live = live
        self.prompts = prompts
        self._session = session
        self._checking = False
        self._again = False
        #: (origin, re-run) pairs offered in this window (tests read it).
        self.offered: list[tuple[int, int]] = []
        self.dialog: RerunDialog | None = None
        live.refreshed.connect(lambda _runs: self.check_ended())
        # A safety net: a re-run ended by another process while this window saw no event.
        self._every = QTimer(self, interval=CHECK_EVERY_MS)
        self._every.timeout.connect(self.check_ended)
        self._every.start()
        # The prompts table's right-click menu: the selection, or what the filters show.
        self.rerun_selected = QAction("Re-run These…", prompts.table)
        self.rerun_selected.setStatusTip("Re-run the selected prompts with a change")
        self.rerun_selected.triggered.connect(lambda _c=False: self.rerun_selection())
        self.rerun_shown = QAction("Re-run What's Shown…", prompts.table)
        self.rerun_shown.setStatusTip("Re-run the prompts the search and filters show, "
                                      "with a change")
        self.rerun_shown.triggered.connect(lambda _c=False: self.rerun_filtered())
        prompts.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        prompts.table.addActions([self.rerun_selected, self.rerun_shown])

    # -- opening the dialog --------------------------------------------------------------------
    def rerun_run(self) -> None:
        """Run → Re-run with a Change…: all of the selected run's prompts."""
        self._open_for_selected(RerunScope.everything())

    def rerun_failed_checks(self) -> None:
        """Run → Re-run Failed Checks…: the answers that failed the run's checks."""
        self._open_for_selected(RerunScope.failed_checks())

    def rerun_selection(self) -> None:
        rows = [item_data(index, RowRole)
                for index in self.prompts.table.selectionModel().selectedRows()]
        rows = [row for row in rows if row is not None]
        if not rows:
            inform(self.window, "Select the prompts to re-run first.")
            return
        runs = {row.run_id for row in rows}
        if len(runs) > 1:
            inform(self.window, "The selected prompts belong to different runs: a re-run "
                                "takes the prompts of one run. Choose a run on the left first.")
            return
        self.open(runs.pop(), RerunScope.of_ids([row.id for row in rows]))

    def rerun_filtered(self) -> None:
        run_id = self.prompts.run_id
        if run_id is None:
            inform(self.window, "Choose a run on the left first: a re-run takes the prompts "
                                "of one run.")
            return
        self.open(run_id, RerunScope(self.prompts.model.query, words="shown"))

    def rerun_different(self, origin_id: int, prompt_ids: list[int]) -> None:
        """Compare's "Re-run the different ones…": those prompts of ``origin_id`` (the ids of
        its side of the pairs that differ)."""
        if not prompt_ids:
            inform(self.window, "No pair differs: there is nothing to re-run.")
            return
        self.open(origin_id, RerunScope.of_ids(prompt_ids, words="different"))

    def _open_for_selected(self, scope: RerunScope) -> None:
        overview = self.live.selected_run()
        if overview is None:
            inform(self.window, "Choose the run to re-run on the left first.")
            return
        self.open(overview.run.id, scope)

    def open(self, run_id: int, scope: RerunScope) -> None:
        """Open the Re-run dialog for ``run_id``'s prompts in ``scope`` (the compare view
        calls this with ``RerunScope.of_ids(ids, words="different")``)."""
        session = self._session()
        if session is None or session.service is None:
            return
        session.spawn(self._open(session, run_id, scope), name="rerun-dialog")

    async def _open(self, session: WorkspaceSession, run_id: int, scope: RerunScope) -> None:
        from batcher_gui.ui.dialogs.rerun_dialog import RerunDialog

        try:
            origin: Run = await session.service.find_run(run_id)
        except BatcherError as exc:
            inform(self.window, str(exc))
            return
        dialog = RerunDialog(session.service, origin, scope, self.window)
        session.adopt(dialog)
        dialog.made.connect(self._made)
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        self.dialog = dialog
        dialog.show()

    def _made(self, origin_id: int, run_id: int) -> None:
        send = self.dialog is not None and self.dialog.send_now.isChecked()
        self.window.statusBar().showMessage(
            f"Made run #{run_id}, a re-run of #{origin_id}: "
            + ("sending it now" if send else "it waits until Submit Now (or a quiet spell)")
            + "; Compare opens when it has ended.", 10_000)
        self.live.refresh_soon()
        session = self._session()
        if send and session is not None:
            session.spawn(self._send(session, run_id), name="rerun-send")

    async def _send(self, session: WorkspaceSession, run_id: int) -> None:
        service = session.service
        if service is None:
            return
        try:
            await service.submit(run_id)
        except OverBudget as exc:
            if await confirm(self.window, said.budget_question(exc.refusal),
                             yes="Send Anyway", title="Over budget"):
                await service.submit(run_id, allow_over_budget=True)
            else:
                self.window.statusBar().showMessage(
                    f"Run #{run_id} was not sent (over budget): Submit Now sends it.", 10_000)
        except BatcherError as exc:
            inform(self.window, f"Run #{run_id} could not be sent: {exc}")
        self.live.refresh_soon()

    # -- ended re-runs: Compare ----------------------------------------------------------------
    def check_ended(self) -> None:
        """Look for re-runs that have ended (one look at a time; a request meanwhile makes
        one more look after it)."""
        session = self._session()
        if session is None or session.service is None:
            return
        if self._checking:
            self._again = True
            return
        self._checking = True
        session.spawn(self._check(session), name="rerun-ended")

    async def _check(self, session: WorkspaceSession) -> None:
        try:
            while True:
                self._again = False
                for origin, run_id in await session.service.reruns_to_compare():
                    self.offer_compare(origin, run_id)
                if not self._again:
                    break
        except BatcherError:
            pass  # the workspace is busy or closing: the next refresh looks again
        finally:
            self._checking = False

    def offer_compare(self, origin: int, run_id: int) -> None:
        self.offered.append((origin, run_id))
        open_compare: Any = getattr(self.window, "open_compare", None)
        if callable(open_compare):  # the compare view's window method (issue 18, item 1)
            open_compare(origin, run_id)
            return
        banner = getattr(self.window, "banner", None)
        text = (f"Re-run #{run_id} of run #{origin} has ended: compare the two runs "
                f"(`batcher compare #{origin} #{run_id}`).")
        if banner is not None:
            banner.show_message(text)
        self.window.statusBar().showMessage(text, 10_000)
