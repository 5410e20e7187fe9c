"""The prompts tab: search, filters, the big table, and counts that add up.

The footer counts the prompts of the shown run(s) by state group (the same groups as the
runs list and ``batcher status``), and says how many the filters show of them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.app.reader import Superseded, ViewReader
from batcher_gui.domain.progress import GroupCounts, count_words
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import PromptQuery, PromptRow
from batcher_gui.domain.wording import plural
from batcher_gui.ui.base.qtfix import item_data
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.models.prompts import COLUMNS, PAGE, PromptsModel, RowRole
from batcher_gui.ui.views.delegates import EmptyMessageTable
from batcher_gui.ui.views.facets import FacetsPanel
from batcher_gui.ui.views.highlight import HighlightDelegate
from batcher_gui.ui.views.review_keys import ReviewKeys

P = PromptState
EMPTY = ("No prompts here yet.\n\nImport a JSONL, CSV or text file of prompts (File → Import, "
         "Ctrl+O), or drop it on this window.")
NO_MATCH = "No prompt matches the search and filters."


def footer(query: PromptQuery, groups: GroupCounts, shown: int) -> str:
    """What the footer says: the prompts of the shown run(s) (or those the search and filters
    match) by group, and how many a state filter leaves of them."""
    where = "this run" if query.run_id is not None else "all runs"
    narrowed = bool(query.model or query.has_error is not None or query.text or query.models
                    or query.checks or query.labels or query.finish_reasons
                    or query.error_kinds or query.has_note is not None)
    if not groups.total:
        return "No prompt matches the search and filters." if narrowed else ""
    said = (f"{plural(groups.total, 'prompt')} "
            + (f"in {where} match the search and filters" if narrowed else f"in {where}")
            + f": {count_words(groups)}")
    if query.states:
        states = ", ".join(s.value for s in query.states)
        return f"showing {plural(shown, 'prompt')} ({states}) · {said}"
    return said


class PromptsPanel(QWidget):
    """See the module docstring. ``selected`` carries the chosen PromptRow (or None)."""

    selected = Signal(object)
    #: The search text of the query just applied (the detail pane marks its matches).
    searched = Signal(str)

    def __init__(self, reader: ViewReader | None, parent: Any = None) -> None:
        super().__init__(parent)
        self.reader = reader
        self.run_id: int | None = None
        self.model = PromptsModel(reader, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search custom_id, prompt and answer…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search prompts")
        self.search.setToolTip(
            "With the search index (View → Search Index): each word finds words that start "
            "with it, \"quoted words\" a phrase, in the custom_id, the prompt and the answer.\n"
            "Without it: the text as typed, anywhere in the custom_id, request or response.")
        self.state = QComboBox()
        self.state.setAccessibleName("Filter by state")
        self.state.addItem("All states", "")  # never None: see qtfix.py
        for state in P:
            self.state.addItem(state.value, state)
        self.model_filter = QComboBox()
        self.model_filter.setAccessibleName("Filter by model")
        self.model_filter.addItem("All models", "")
        self.errors = QCheckBox("Only with errors")
        bar.addWidget(self.search, 3)
        bar.addWidget(self.state, 1)
        bar.addWidget(self.model_filter, 1)
        bar.addWidget(self.errors)
        layout.addLayout(bar)
        self.table = EmptyMessageTable(EMPTY)
        self.table.setAccessibleName("Prompts")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Several rows: labelled together (see ReviewKeys); the detail shows the first.
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self._sorted_by = (1, Qt.SortOrder.AscendingOrder)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(
            self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # never ToContents
        for column, width in enumerate((110, 80, 140, 120, 300, 300, 160, 60, 60, 150)):
            self.table.setColumnWidth(column, width)
        # A search's matches lit up in the custom_id, Prompt and Answer cells.
        self.highlight = HighlightDelegate(self.table)
        for column in (2, 4, 5):
            self.table.setItemDelegateForColumn(column, self.highlight)
        # The facets beside the table (View → Facets hides them).
        self.facets = FacetsPanel()
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setObjectName("prompts-splitter")
        self.split.addWidget(self.facets)
        self.split.addWidget(self.table)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([190, 800])
        layout.addWidget(self.split, 1)
        self.review = ReviewKeys(self)
        self.facets.filtersChanged.connect(self.apply_filters)
        self.facets.shown.connect(lambda: self.refresh_facets(interrupt=False))
        slash = QShortcut(QKeySequence("/"), self, context=Qt.ShortcutContext.
                          WidgetWithChildrenShortcut)
        slash.activated.connect(self.focus_search)
        footer = QHBoxLayout()
        self.counts = QLabel("")
        self.counts.setAccessibleName("Prompt counts")
        self.new_rows = QPushButton("")
        self.new_rows.setVisible(False)
        self.new_rows.clicked.connect(lambda: self.model.refresh())
        footer.addWidget(self.counts, 1)
        footer.addWidget(self.new_rows)
        layout.addLayout(footer)

        self._typing = QTimer(self, singleShot=True, interval=250)
        self._typing.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _t: self._typing.start())
        self.state.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.model_filter.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.errors.toggled.connect(lambda _c: self.apply_filters())
        self.model.countChanged.connect(lambda _n: self._counts_later())
        self.model.newRows.connect(self._show_new_rows)
        self.model.restoreRow.connect(self._restore_row)
        # Several rows chosen (to label them at once) stay chosen across a reload, as the
        # current one does: a background change must not undo the reviewer's selection.
        self._kept: set[int] = set()
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._sort_chosen)
        self.table.selectionModel().selectionChanged.connect(self._selection)
        # A row chosen while it was still a placeholder ("loading…"): shown once it arrives.
        self._waiting_for_row = False
        self.model.dataChanged.connect(lambda *_: self._row_arrived())

    # -- filters -----------------------------------------------------------------------------
    def set_reader(self, reader: ViewReader | None) -> None:
        self.reader = reader
        self.model.set_reader(reader)
        self.counts.setText("")
        self.new_rows.setVisible(False)

    def set_run(self, run_id: int | None) -> None:
        self.run_id = run_id
        if self.reader is not None:
            spawn(self._load_models(run_id), name="prompt-models", owner=self)
        self.apply_filters()

    def _sort_chosen(self, column: int, order: Qt.SortOrder) -> None:
        """Columns that cannot be sorted (prompt, answer, error: long texts) keep the arrow
        where the rows are sorted, instead of pointing at a column they are not sorted by."""
        if 0 <= column < len(COLUMNS) and COLUMNS[column][1] is None:
            header = self.table.horizontalHeader()
            header.blockSignals(True)
            header.setSortIndicator(*self._sorted_by)
            header.blockSignals(False)
            return
        self._sorted_by = (column, order)

    async def _load_models(self, run_id: int | None) -> None:
        if self.reader is None:
            return
        models = await self.reader.models(run_id)
        current = self.model_filter.currentData()
        self.model_filter.blockSignals(True)
        self.model_filter.clear()
        self.model_filter.addItem("All models", "")
        for name in models:
            self.model_filter.addItem(name, name)
        self.model_filter.setCurrentIndex(max(0, self.model_filter.findData(current)))
        self.model_filter.blockSignals(False)

    def build_query(self) -> PromptQuery:
        state = self.state.currentData()  # Qt hands the enum back as its str value
        facets = self.facets.filters()
        # The state menu, when set, wins over the state facet (both are one filter).
        states = (P(state),) if state else facets.pop("states")
        facets.pop("states", None)
        return dataclasses.replace(
            self.model.query, **facets, run_id=self.run_id, states=states,
            model=self.model_filter.currentData() or None,
            has_error=True if self.errors.isChecked()
            else None, text=self.search.text().strip())

    def apply_filters(self) -> None:
        query = self.build_query()
        filtered = query.states or query.model or query.has_error or query.text \
            or bool(self.facets.model.chosen())
        self.table.empty_message = NO_MATCH if filtered else EMPTY
        self.new_rows.setVisible(False)
        self.highlight.set_query(query.text)
        self.searched.emit(query.text)
        self.model.set_query(query)
        self.refresh_facets()

    def refresh_facets(self, *, interrupt: bool = True) -> None:
        self.facets.count(self.reader, self.build_query(), interrupt=interrupt)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def set_facets_visible(self, visible: bool) -> None:
        self.facets.setVisible(visible)  # shown: it counts (FacetsPanel.shown)

    # -- counts ------------------------------------------------------------------------------
    def _counts_later(self) -> None:
        spawn(self.refresh_counts(), name="prompt-counts", owner=self)

    async def refresh_counts(self) -> None:
        """The footer and the state menu's counts (of the shown runs, without the state
        filter; the footer says how many the filters show)."""
        reader = self.reader
        if reader is None:
            return
        query = self.build_query()
        try:
            counts = await reader.counts_by_state(query)
            names = await reader.label_names()
        except Superseded:
            return
        self.model.set_label_names(names)
        self.facets.model.set_label_names(names)
        self.counts.setText(footer(query, GroupCounts.of(counts), self.model.rowCount()))
        for i in range(1, self.state.count()):
            state = P(self.state.itemData(i))
            self.state.setItemText(i, f"{state.value} ({counts.get(state, 0):,})")

    def _show_new_rows(self, n: int) -> None:
        self.new_rows.setText(f"{n:,} new — refresh")
        self.new_rows.setVisible(n > 0)

    async def workspace_changed(self) -> None:
        """Read the rows on screen and the counts again (see PromptsModel.reload_shown)."""
        top = self.table.rowAt(0)
        bottom = self.table.rowAt(self.table.viewport().height() - 1)
        top = max(top, 0)
        bottom = bottom if bottom >= 0 else top + self.table.viewport().height() // max(
            self.table.verticalHeader().defaultSectionSize(), 1)
        await self.model.reload_shown(top, bottom)
        await self.refresh_counts()
        self.refresh_facets(interrupt=False)  # not awaited: the refresh goes on meanwhile

    def _remember_selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        self._kept = ({r.id for i in rows if (r := item_data(i, RowRole)) is not None}
                      if len(rows) > 1 else set())

    def _restore_row(self, row: int) -> None:
        """After a reload, the prompt that was chosen is chosen again (where it is now), with
        the other chosen rows the reload has read."""
        self.table.selectRow(row)
        kept, self._kept = self._kept, set()
        if kept:
            selection = self.table.selectionModel()
            flags = (QItemSelectionModel.SelectionFlag.Select
                     | QItemSelectionModel.SelectionFlag.Rows)
            for other in range(min(self.model.rowCount(), PAGE)):
                found = self.model.row_at(other)
                if other != row and found is not None and found.id in kept:
                    selection.select(self.model.index(other, 0), flags)
        self.table.scrollTo(self.model.index(row, 0))

    # -- selection ---------------------------------------------------------------------------
    def _selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        current = self.current()
        self._waiting_for_row = current is None and self.table.selectionModel().hasSelection()
        if current is not None:
            self.model.chosen = current.id
        elif not self.table.selectionModel().hasSelection():
            self.model.chosen = None
        self.selected.emit(current)

    def _row_arrived(self) -> None:
        if self._waiting_for_row and (current := self.current()) is not None:
            self._waiting_for_row = False
            self.model.chosen = current.id
            self.selected.emit(current)

    def current(self) -> PromptRow | None:
        rows = self.table.selectionModel().selectedRows()
        return item_data(rows[0], RowRole) if rows else None
