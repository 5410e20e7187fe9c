"""The window's open compares: each a tab beside Prompts, Batches and Spend, kept until the
user closes it (opening the same two runs again goes back to it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QInputDialog, QTabWidget, QWidget

from batcher_gui.app.compare import Comparison
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.views import RunOverview
from batcher_gui.ui.base.messages import inform
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.views.compare_view import CompareView
from batcher_gui.ui.window.session import WorkspaceSession


class Compares:
    """See the module docstring."""

    def __init__(self, parent: QWidget, tabs: QTabWidget,
                 session: Callable[[], WorkspaceSession | None],
                 rerun: Callable[[int, list[int]], None] | None = None) -> None:
        self._parent = parent
        self._rerun = rerun
        self._tabs = tabs
        self._session = session
        self.views: dict[tuple[int, int], CompareView] = {}

    def open(self, run_a: int, run_b: int) -> CompareView | None:
        """Show the compare of these two runs (a new tab, or the one already open)."""
        session = self._session()
        if session is None or session.reader is None:
            return None
        if run_a == run_b:
            inform(self._parent, "A run compared with itself agrees with itself: choose two "
                                 "different runs.")
            return None
        view = self.views.get((run_a, run_b))
        if view is not None:
            self._tabs.setCurrentWidget(view)
            return view
        view = CompareView()
        self.views[(run_a, run_b)] = view
        self._tabs.addTab(view, f"Compare #{run_a} ↔ #{run_b}")
        self._tabs.setCurrentWidget(view)
        view.closeRequested.connect(lambda: self.close(run_a, run_b))
        view.refreshRequested.connect(lambda: self.again(run_a, run_b))
        if self._rerun is not None:
            rerun = self._rerun
            view.rerunRequested.connect(lambda ids: rerun(run_a, ids))
        else:
            view.rerun_button.hide()
        database, prices = session.reader.database, session.reader.prices
        spawn(self._start(view, database, run_a, run_b, prices), name="compare", owner=view)
        return view

    async def _start(self, view: CompareView, database: Path, run_a: int, run_b: int,
                     prices: PriceTable) -> None:
        comparison = await Comparison.open(database, run_a, run_b, prices)
        if self.views.get((run_a, run_b)) is not view:  # closed while it opened
            await comparison.aclose()
            return
        await view.start(comparison)

    def again(self, run_a: int, run_b: int) -> CompareView | None:
        """Compare the two runs again as they are now (a new tab in place of the old)."""
        view = self.views.get((run_a, run_b))
        index = self._tabs.indexOf(view) if view is not None else -1
        self.close(run_a, run_b)
        fresh = self.open(run_a, run_b)
        if fresh is not None and index >= 0:
            self._tabs.tabBar().moveTab(self._tabs.indexOf(fresh), index)
            self._tabs.setCurrentWidget(fresh)
        return fresh

    def close(self, run_a: int, run_b: int) -> None:
        view = self.views.pop((run_a, run_b), None)
        if view is None:
            return
        self._tabs.removeTab(self._tabs.indexOf(view))
        comparison = view.comparison
        view.model.clear()
        view.deleteLater()
        if comparison is not None:
            spawn(comparison.aclose(), name="compare-close")

    async def close_all(self) -> None:
        """The workspace closes: every compare goes with it."""
        closing = []
        for key in list(self.views):
            view = self.views[key]
            if view.comparison is not None:
                closing.append(view.comparison)
                view.comparison = None
            self.close(*key)
        await asyncio.gather(*(c.aclose() for c in closing))

    async def ask_other(self, run: RunOverview, runs: list[RunOverview]) -> None:
        """Run → Compare with…: choose the other run, then open the compare."""
        others = [r for r in runs if r.run.id != run.run.id]
        if not others:
            inform(self._parent, "There is no other run to compare with: import the same file "
                                 "again with another model (or re-run this one) first.")
            return
        dialog = QInputDialog(self._parent)
        dialog.setObjectName("compare-with")
        dialog.setWindowTitle("Compare with…")
        dialog.setLabelText(f"Compare run {run.run.label} (A) with run (B):")
        dialog.setComboBoxItems([f"{r.run.label} — {', '.join(r.models)}" for r in others])
        dialog.setComboBoxEditable(False)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        dialog.finished.connect(lambda result: future.done() or future.set_result(result))
        dialog.open()
        result = await future
        chosen = dialog.textValue()
        dialog.deleteLater()
        if result != QInputDialog.DialogCode.Accepted.value:
            return
        labels = [f"{r.run.label} — {', '.join(r.models)}" for r in others]
        if chosen in labels:
            self.open(run.run.id, others[labels.index(chosen)].run.id)
