"""The prompts table: a million rows and more, read a page at a time, never all at once.

On a new filter, sort or search: the exact count comes first (the scroll bar is right at once),
then the first page, then — in the background — the ordered list of every matching id (the
snapshot). Rows are read in pages of 200 by id from the snapshot (before it exists, by
LIMIT/OFFSET), into a bounded cache; ``data()`` only reads that cache and shows "loading…"
for rows not there yet, asking for their page. When the workspace changes, the cached pages are
read again (rows change in place: ``dataChanged``); rows that newly match are not slipped under
the user's cursor: :attr:`newRows` says how many, and :meth:`refresh` shows them. Rows that no
longer exist (their run was deleted) or no longer match are not left on screen: the query is
read again, keeping the chosen prompt chosen if it is still there (:attr:`restoreRow`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from batcher_gui.app.reader import Superseded, ViewReader
from batcher_gui.domain.views import PromptQuery, PromptRow, PromptSort
from batcher_gui.ui.base.tasks import spawn, stop_owned
from batcher_gui.ui.base.theme import state_colour, state_label

PAGE = 200
#: Pages kept in memory (60 x 200 rows): enough for a screen and fast scrolling back.
MAX_PAGES = 60
LOADING = "loading…"
#: Role returning the row's PromptRow (None while loading).
RowRole = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex

COLUMNS: tuple[tuple[str, PromptSort | None], ...] = (
    ("State", PromptSort.STATE), ("#", PromptSort.ID), ("custom_id", PromptSort.CUSTOM_ID),
    ("Model", PromptSort.MODEL), ("Prompt", None), ("Answer", None), ("Error", None),
    ("In", PromptSort.INPUT_TOKENS), ("Out", PromptSort.OUTPUT_TOKENS), ("Check", None),
    ("Label", None), ("Provider", None),
)
COL_CHECK, COL_LABEL = len(COLUMNS) - 3, len(COLUMNS) - 2
#: The Provider column: said by the prompt's run (one run, one profile), from a map the window
#: keeps with the runs list; not read per row (a join per page on a million prompts).
COL_PROVIDER = len(COLUMNS) - 1


def _check_words(row: PromptRow) -> str:
    if row.check is None:
        return ""
    return "passed" if row.check else f"failed: {row.check_detail}" if row.check_detail \
        else "failed"


def _cell(row: PromptRow, column: int) -> str:
    if column == 0:
        return state_label(row.state)
    if column == COL_CHECK:
        return _check_words(row)
    values = (None, row.id, row.custom_id, row.model, row.prompt, row.answer, row.error,
              row.input_tokens, row.output_tokens)
    value = values[column]
    return "" if value is None else str(value)


def _filtered(q: PromptQuery) -> bool:
    """Whether a filter narrows the runs' prompts (then counting walks an index)."""
    return bool(q.states or q.model or q.has_error is not None or q.batch_id is not None
                or q.models or q.checks or q.labels or q.finish_reasons or q.error_kinds
                or q.has_note is not None)


class PromptsModel(QAbstractTableModel):
    """See the module docstring."""

    #: The exact number of matching prompts is known (or changed).
    countChanged = Signal(int)
    #: This many prompts match now that the table does not show yet (refresh shows them).
    newRows = Signal(int)
    #: A query is being counted / the first page read (True), or is shown (False).
    busy = Signal(bool)
    #: After a reload, the row the kept prompt (see :meth:`refresh`) is on now.
    restoreRow = Signal(int)

    def __init__(self, reader: ViewReader | None, parent: Any = None) -> None:
        super().__init__(parent)
        self._reader = reader
        self._query = PromptQuery()
        self._generation = 0
        self._count = 0
        self._ids: Sequence[int] | None = None
        self._pages: OrderedDict[int, list[PromptRow]] = OrderedDict()
        self._wanted: set[int] = set()
        self._fetching = False
        #: The prompt the user chose (kept chosen across reloads; set by the view).
        self.chosen: int | None = None
        #: When the current query started loading (None: its first rows are shown).
        self.busy_since: float | None = None
        self._shown: asyncio.Event | None = None
        self._providers: dict[int, str] = {}
        self._label_names: dict[int, str] = {}

    def set_label_names(self, names: dict[int, str]) -> None:
        """The workspace's label names by key (1-9), for the Label column."""
        if names == self._label_names:
            return
        self._label_names = dict(names)
        if self._count:
            self.dataChanged.emit(self.index(0, COL_LABEL), self.index(self._count - 1, COL_LABEL))

    def _label_cell(self, row: PromptRow) -> str:
        label = "" if row.label is None else self._label_names.get(row.label, str(row.label))
        if row.note:
            return f"{label} ✎ {row.note}" if label else f"✎ {row.note}"
        return label

    def set_providers(self, providers: dict[int, str]) -> None:
        """Each run id's profile and provider in words ("claude (Anthropic)"), for the
        Provider column (repainted when it changes: a profile renamed, a run added)."""
        if providers == self._providers:
            return
        self._providers = dict(providers)
        if self._count:
            self.dataChanged.emit(self.index(0, COL_PROVIDER),
                                  self.index(self._count - 1, COL_PROVIDER))

    # -- queries -------------------------------------------------------------------------------
    def set_reader(self, reader: ViewReader | None) -> None:
        """Read another workspace, or none (the table empties until the next query); the
        previous workspace's reads stop."""
        self._reader = reader
        self._generation += 1
        stop_owned(self)  # now: the next query (started right after) must not be cancelled
        self.beginResetModel()
        self._count, self._ids = 0, None
        self._pages.clear()
        self._wanted.clear()
        self.endResetModel()
        self.countChanged.emit(0)

    @property
    def query(self) -> PromptQuery:
        return self._query

    def set_query(self, query: PromptQuery) -> None:
        """Show another filter/sort/search (the running one is abandoned)."""
        self._query = query
        self.refresh()

    def refresh(self) -> None:
        """Read the query again from the start (count, first page, snapshot), and say where
        the chosen prompt is once found (:attr:`restoreRow`)."""
        if self._reader is None:  # no workspace open yet
            return
        self._generation += 1
        spawn(self._load(self._generation, self.chosen), name="prompts-load", owner=self)

    async def _load(self, generation: int, keep: int | None = None) -> None:
        query, reader = self._query, self._reader
        if reader is None:
            return
        self.busy_since = time.monotonic()
        self.busy.emit(True)
        try:
            if query.text:
                # A search is a scan: show its first page as soon as it is found, count after
                # (a short first page is the whole answer: no count needed).
                first = await reader.first_page(query, PAGE)
                count = len(first) if len(first) < PAGE else None
                if count is None and await reader.search_is_indexed(query):
                    count = await reader.count(query)  # the index's matches: at hand now
            elif _filtered(query):
                # A filter's count walks its index (half a second at ten million): the first
                # page shows first, the count right after (see below).
                first = await reader.first_page(query, PAGE)
                count = len(first) if len(first) < PAGE else None
            else:
                count = await reader.count(query)
                first = await reader.first_page(query, PAGE)
        except Superseded:
            return
        if generation != self._generation:
            return
        # The prompt chosen now: one chosen while this was read (a click during a reload) is
        # the one to keep, not the one chosen when the reload began.
        keep = self.chosen if self.chosen is not None else keep
        self.beginResetModel()
        self._count = len(first) if count is None else count
        self._ids = None
        self._pages = OrderedDict([(0, first)] if first else [])
        self._wanted.clear()
        self.endResetModel()
        if count is not None:
            self.countChanged.emit(count)
        self.busy_since = None
        self.busy.emit(False)
        if self._shown is not None:
            self._shown.set()
        if keep is not None:
            row = next((i for i, r in enumerate(first) if r.id == keep), -1)
            if row >= 0:
                self.restoreRow.emit(row)
                keep = None
        try:
            if count is None and not query.text:
                counted = await reader.count(query)
                if generation != self._generation:
                    return
                self._resize(counted, force=True)
                count = counted
            ids = await reader.ids(query)
        except Superseded:
            return
        if generation == self._generation:
            self._ids = ids
            if count is None or len(ids) != self._count:  # counted by the snapshot
                self._resize(len(ids), force=True)
            if keep is not None:
                row = _position(ids, keep)
                if row >= 0:
                    self.restoreRow.emit(row)

    async def first_rows_shown(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) until the current query's first rows are shown."""
        if self.busy_since is None and self._count:
            return
        self._shown = asyncio.Event()
        try:
            await asyncio.wait_for(self._shown.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._shown = None

    def _resize(self, count: int, *, force: bool = False) -> None:
        if count > self._count:
            self.beginInsertRows(QModelIndex(), self._count, count - 1)
            self._count = count
            self.endInsertRows()
        elif count < self._count:
            self.beginRemoveRows(QModelIndex(), count, self._count - 1)
            self._count = count
            self._pages = OrderedDict((k, v) for k, v in self._pages.items() if k * PAGE < count)
            self.endRemoveRows()
        elif not force:
            return
        self.countChanged.emit(count)

    # -- pages ---------------------------------------------------------------------------------
    def _row(self, row: int) -> PromptRow | None:
        page = self._pages.get(row // PAGE)
        if page is None:
            self._want(row // PAGE)
            return None
        self._pages.move_to_end(row // PAGE)
        offset = row % PAGE
        return page[offset] if offset < len(page) else None

    def _want(self, page: int) -> None:
        if self._reader is None:
            return
        self._wanted.add(page)
        if not self._fetching:
            self._fetching = True
            spawn(self._fetch_wanted(self._generation), name="prompts-pages", owner=self)

    async def _fetch_wanted(self, generation: int) -> None:
        try:
            while self._wanted and generation == self._generation:
                page = max(self._wanted)  # the latest scrolled-to first
                self._wanted.discard(page)
                if page in self._pages:
                    continue
                rows = await self._read_page(page)
                if generation != self._generation:
                    return
                if rows is None:  # interrupted: asked again at the next repaint
                    continue
                if self._ids is not None and len(rows) < len(self._ids[page * PAGE:
                                                                       (page + 1) * PAGE]):
                    # Some of its prompts are gone (their run was deleted): read it all again.
                    self.refresh()
                    return
                self._store(page, rows)
        finally:
            self._fetching = False
            if self._wanted:  # asked for by a newer query while this one ran out
                self._fetching = True
                spawn(self._fetch_wanted(self._generation), name="prompts-pages", owner=self)

    async def _read_page(self, page: int) -> list[PromptRow] | None:
        """The page's rows (None: the read was interrupted)."""
        start = page * PAGE
        reader = self._reader
        if reader is None:
            return None
        try:
            if self._ids is not None:
                return await reader.rows(self._ids[start:start + PAGE])
            return await reader.page(self._query, start, PAGE)
        except Superseded:
            return None

    def _store(self, page: int, rows: list[PromptRow]) -> None:
        if not rows:
            return
        self._pages[page] = rows
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        first = page * PAGE
        last = min(first + len(rows), self._count) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    async def reload_shown(self, first_row: int = 0, last_row: int = PAGE - 1) -> None:
        """The workspace changed: read the pages on screen again (the others are forgotten and
        read when scrolled to), and say how many rows are new.

        If a row on screen is gone (its run was deleted) or fewer prompts match than are
        shown, the whole query is read again (keeping the chosen prompt chosen where it is
        still there): a table never shows what is no longer true.
        """
        generation, reader = self._generation, self._reader
        if reader is None:
            return
        shown = range(max(first_row, 0) // PAGE, max(last_row, 0) // PAGE + 1)
        for page in [p for p in self._pages if p not in shown]:
            del self._pages[page]
        for page, old in list(self._pages.items()):
            try:
                rows = await reader.rows([r.id for r in old])
            except Superseded:  # a newer query came: that one shows fresh rows
                return
            if generation != self._generation:
                return
            if len(rows) < len(old):
                self.refresh()
                return
            if rows != old:
                self._store(page, rows)
        try:
            count = await reader.recount(self._query)
        except Superseded:
            return
        if generation != self._generation:
            return
        if count < self._count:
            self.refresh()
        else:
            self.newRows.emit(count - self._count)

    # -- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0] if 0 <= section < len(COLUMNS) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._count:
            return None
        row = self._row(index.row())
        if role == RowRole:
            return row
        if row is None:
            if role == Qt.ItemDataRole.DisplayRole and index.column() == 4:
                return LOADING
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if index.column() == COL_PROVIDER:
                return self._providers.get(row.run_id, "")
            if index.column() == COL_LABEL:
                return self._label_cell(row)
            return _cell(row, index.column())
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == COL_CHECK:
            return None if row.check is None else state_colour(
                "succeeded" if row.check else "failed")
        if role == Qt.ItemDataRole.ForegroundRole and index.column() in (0, 6):
            return state_colour(row.state) if index.column() == 0 else state_colour("failed")
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (1, 7, 8):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS) or COLUMNS[column][1] is None:
            return
        sort = COLUMNS[column][1]
        assert sort is not None
        self.set_query(dataclasses.replace(
            self._query, sort=sort, descending=order == Qt.SortOrder.DescendingOrder))

    def row_at(self, row: int) -> PromptRow | None:
        return self._row(row) if 0 <= row < self._count else None

    def ids_at(self, rows: Sequence[int]) -> list[int]:
        """The prompt ids on these rows (from the snapshot, else the rows read so far)."""
        out = []
        for row in rows:
            if not 0 <= row < self._count:
                continue
            if self._ids is not None and row < len(self._ids):
                out.append(self._ids[row])
            elif (page := self._pages.get(row // PAGE)) is not None and row % PAGE < len(page):
                out.append(page[row % PAGE].id)
        return out

    def patch_rows(self, changes: Mapping[int, Mapping[str, Any]]) -> None:
        """Show changed fields (prompt id -> {field: value}, e.g. a label) on the rows read,
        at once: the write follows, and a reload would show the same."""
        for page, rows in self._pages.items():
            for offset, row in enumerate(rows):
                change = changes.get(row.id)
                if change:
                    rows[offset] = dataclasses.replace(row, **change)
                    at = self.index(page * PAGE + offset, COL_LABEL)
                    self.dataChanged.emit(at, at)

    def label_name(self, key: int | None) -> str:
        return "no label" if key is None else self._label_names.get(key, str(key))


def _position(ids: Sequence[int], wanted: int) -> int:
    """Where ``wanted`` is in a snapshot (-1: not there)."""
    try:
        return ids.index(wanted)
    except ValueError:
        return -1
