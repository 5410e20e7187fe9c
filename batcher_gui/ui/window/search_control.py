"""The search index in the window: its size and progress in the status bar ("Search index:
312 MB, 100 %"), and a switch (View → Search Index) that turns it on or off (off drops it:
searches then scan, as substrings). The indexer itself runs in app/search_index.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu, QToolButton

from batcher_gui.app.search_index import SearchIndexer
from batcher_gui.domain.search import SearchStatus
from batcher_gui.ui.base.tasks import spawn

_TIP = ("The search index answers searches over a million prompts at once. With it, each "
        "typed word finds words that start with it, and \"quoted words\" a phrase; without it, "
        "a search scans every prompt for the text as typed. Click to turn it on or off.")


class SearchIndexControl(QObject):
    """See the module docstring. ``switched(on)`` is called when the index is known to be on
    or off, first or after a change (the prompts view searches again: a search means another
    thing now)."""

    def __init__(self, window: QMainWindow, switched: Callable[[bool], None]) -> None:
        super().__init__(window)
        self._switched = switched
        self._on: bool | None = None
        self._indexer: SearchIndexer | None = None
        self.action = QAction("Search &Index", self)
        self.action.setCheckable(True)
        self.action.setEnabled(False)
        self.action.setToolTip(_TIP)
        self.action.toggled.connect(self._toggled)
        self.button = QToolButton()
        self.button.setObjectName("search-index-status")
        self.button.setAutoRaise(True)
        self.button.setToolTip(_TIP)
        self.button.setVisible(False)
        menu = QMenu(self.button)
        menu.addAction(self.action)
        self.button.setMenu(menu)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        window.statusBar().addPermanentWidget(self.button)
        view = next((a.menu() for a in window.menuBar().actions()
                     if a.text().replace("&", "") == "View"), None)
        if isinstance(view, QMenu):
            view.addSeparator()
            view.addAction(self.action)

    @property
    def indexer(self) -> SearchIndexer | None:
        return self._indexer

    def attach(self, database: Path | str) -> None:
        """Index the workspace at ``database`` (migrated) in the background (a PostgreSQL
        workspace has no index: the status bar says so and the switch is off)."""
        self._indexer = SearchIndexer(database, on_status=self.show_status)
        self._indexer.start()
        self.action.setEnabled(self._indexer.available)
        self.button.setVisible(True)

    async def detach(self) -> None:
        indexer, self._indexer = self._indexer, None
        self._on = None
        self.action.setEnabled(False)
        self.button.setVisible(False)
        if indexer is not None:
            await indexer.stop()

    def show_status(self, status: SearchStatus) -> None:
        self.button.setText(status.words())
        self.action.setEnabled(status.available)
        self.action.blockSignals(True)
        self.action.setChecked(status.enabled)
        self.action.blockSignals(False)
        if status.enabled != self._on:
            self._on = status.enabled
            self._switched(status.enabled)

    def _toggled(self, on: bool) -> None:
        indexer = self._indexer
        if indexer is None:
            return

        spawn(indexer.set_enabled(on), name="search-index-switch", owner=self)
