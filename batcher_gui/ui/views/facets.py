"""The facets panel beside the prompts table: counts by state, model, check, label, note,
finish reason and error kind; a click on a value shows only those prompts (again: all).

Counting runs on the reader's facets thread; the list follows the other filters (each facet
counted under every filter but its own), and a newer query supersedes one still counting.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListView, QPushButton, QVBoxLayout, QWidget

from batcher_gui.app.reader import Superseded, ViewReader
from batcher_gui.domain.views import PromptQuery
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.models.facets import FacetsModel


class FacetsPanel(QWidget):
    """See the module docstring. ``filtersChanged``: a value was chosen or unchosen."""

    filtersChanged = Signal()
    #: Shown again (its tab chosen, View → Facets): counts are only kept while it shows.
    shown = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("facets-panel")
        self.model = FacetsModel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        title = QLabel("Facets")
        title.setAccessibleName("Facets")
        self.status = QLabel("")
        self.clear = QPushButton("Clear")
        self.clear.setToolTip("Show the prompts of every facet value again")
        self.clear.setEnabled(False)
        top.addWidget(title)
        top.addWidget(self.status, 1)
        top.addWidget(self.clear)
        layout.addLayout(top)
        self.list = QListView()
        self.list.setAccessibleName("Facet values")
        self.list.setModel(self.model)
        self.list.setUniformItemSizes(True)
        layout.addWidget(self.list, 1)
        self.list.clicked.connect(self._clicked)
        self.list.activated.connect(self._clicked)  # Enter/Space from the keyboard
        self.clear.clicked.connect(self.model.clear)
        self.model.filtersChanged.connect(self._chosen)
        self._busy = 0  # counts running
        self._again: tuple[ViewReader, PromptQuery] | None = None  # asked for meanwhile

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.shown.emit()

    def _clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.model.toggle(index.row())

    def _chosen(self) -> None:
        self.clear.setEnabled(bool(self.model.chosen()))
        self.filtersChanged.emit()

    def filters(self) -> dict[str, Any]:
        return self.model.filters()

    def count(self, reader: ViewReader | None, query: PromptQuery, *,
              interrupt: bool = True) -> None:
        """Count for ``query`` (the table's query, facets and all). ``interrupt``: the user
        asked for other prompts, so a count still running is stopped; else (the workspace
        changed under a running batch) the count follows once the running one is done, so a
        stream of changes never keeps every count from finishing."""
        if reader is None or not self.isVisible():
            return
        if self._busy and not interrupt:
            self._again = (reader, query)
            return
        self._again = None
        spawn(self._count(reader, query), name="facets", owner=self)

    async def _count(self, reader: ViewReader, query: PromptQuery) -> None:
        self._busy += 1
        self.status.setText("counting…")
        try:
            counts = await reader.facet_counts(query)
        except Superseded:
            return
        finally:
            self._busy -= 1
        self.model.set_counts(counts)
        self.status.setText("")
        if self._again is not None and not self._busy:
            reader, query = self._again
            self.count(reader, query)

    async def refresh(self, reader: ViewReader | None, query: PromptQuery) -> None:
        """Count for ``query`` now and wait for it (tests, and a first showing)."""
        if reader is None or not self.isVisible():
            return
        await self._count(reader, query)
