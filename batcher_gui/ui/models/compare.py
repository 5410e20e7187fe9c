"""The compare table: one row per pair of two runs, read a page at a time.

While the pairs are built (seconds on a million prompts) the table shows the first page read
straight from the runs; once built, the filter's count sizes the table, its first page comes
by position, and the list of every position under the filter (8 bytes a pair) is read in the
background; pages of 200 pairs are then read by position into a bounded cache, like the
prompts table.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from batcher_gui.app.compare import Comparison
from batcher_gui.app.reader import Superseded
from batcher_gui.domain.compare import CompareFilter, PairFlag, PairRow
from batcher_gui.domain.views import PromptRow
from batcher_gui.ui.base.tasks import spawn, stop_owned
from batcher_gui.ui.base.theme import money, state_colour, state_label

PAGE = 200
MAX_PAGES = 40
LOADING = "loading…"
#: Role returning the row's PairRow (None while loading).
PairRole = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("custom_id", "Prompt", "Answer A", "Answer B", "Same?", "A: state", "B: state",
           "A: tokens", "B: tokens", "A: cost", "B: cost", "A: label", "B: label",
           "A: check", "B: check")
(COL_KEY, COL_PROMPT, COL_A, COL_B, COL_SAME, COL_A_STATE, COL_B_STATE, COL_A_TOKENS,
 COL_B_TOKENS, COL_A_COST, COL_B_COST, COL_A_LABEL, COL_B_LABEL, COL_A_CHECK,
 COL_B_CHECK) = range(len(COLUMNS))
_NUMERIC = frozenset({COL_A_TOKENS, COL_B_TOKENS, COL_A_COST, COL_B_COST})


def same_words(flags: int) -> str:
    """A pair's verdict in a word or two."""
    if flags & PairFlag.ONLY_A:
        return "only in A"
    if flags & PairFlag.ONLY_B:
        return "only in B"
    if flags & PairFlag.FAILED:
        return "failed"
    if not flags & PairFlag.ANSWERED:
        return "no answer yet"
    if flags & PairFlag.SAME:
        return "same"
    return "same (normalised)" if flags & PairFlag.NORMALISED_SAME else "different"


def _tokens(row: PromptRow | None) -> str:
    if row is None or (row.input_tokens is None and row.output_tokens is None):
        return ""
    return f"{row.input_tokens or 0:,} / {row.output_tokens or 0:,}"


def _check(row: PromptRow | None) -> str:
    if row is None or row.check is None:
        return ""
    return "passed" if row.check else f"failed: {row.check_detail}".rstrip(": ")


class CompareModel(QAbstractTableModel):
    """See the module docstring."""

    #: The number of pairs shown changed.
    countChanged = Signal(int)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._comparison: Comparison | None = None
        self._filter = CompareFilter.ALL
        self._built = False
        self._generation = 0
        self._count = 0
        self._positions: Sequence[int] | None = None
        self._pages: OrderedDict[int, list[PairRow]] = OrderedDict()
        self._wanted: set[int] = set()
        self._fetching = False
        self.label_names: dict[int, str] = {}

    # -- what it shows ---------------------------------------------------------------------
    @property
    def only(self) -> CompareFilter:
        return self._filter

    def show_preview(self, comparison: Comparison, rows: list[PairRow]) -> None:
        """The first pairs, before the build ends (only under "All")."""
        self._comparison = comparison
        if self._built or self._filter is not CompareFilter.ALL:
            return
        self._reset(rows, len(rows))

    def set_built(self, comparison: Comparison) -> None:
        """The pairs are built: show the filter's pairs from now on."""
        self._comparison = comparison
        self._built = True
        self.label_names = dict(comparison.label_names)
        self.refresh()

    def set_filter(self, only: CompareFilter) -> None:
        self._filter = only
        if self._built:
            self.refresh()
        elif only is not CompareFilter.ALL:
            self._reset([], 0)

    def clear(self) -> None:
        self._comparison = None
        self._built = False
        self._reset([], 0)

    def _reset(self, first: list[PairRow], count: int) -> None:
        self._generation += 1
        stop_owned(self)
        self.beginResetModel()
        self._count = count
        self._positions = None
        self._pages = OrderedDict([(0, first)] if first else [])
        self._wanted.clear()
        self._fetching = False
        self.endResetModel()
        self.countChanged.emit(count)

    def refresh(self) -> None:
        """Read the filter's pairs again from the start."""
        if self._comparison is None or not self._built:
            return
        self._generation += 1
        spawn(self._load(self._generation), name="compare-load", owner=self)

    async def _load(self, generation: int) -> None:
        comparison, only = self._comparison, self._filter
        if comparison is None or comparison.summary is None:
            return
        count = comparison.summary.counts.get(only, 0)
        try:
            first = await comparison.pair_page(only, 0, PAGE)
        except Superseded:
            return
        if generation != self._generation:
            return
        self._reset(first, count)
        generation = self._generation
        try:
            positions = await comparison.positions(only)
        except Superseded:
            return
        if generation == self._generation:
            self._positions = positions

    # -- pages -------------------------------------------------------------------------------
    def _row(self, row: int) -> PairRow | None:
        page = self._pages.get(row // PAGE)
        if page is None:
            self._want(row // PAGE)
            return None
        self._pages.move_to_end(row // PAGE)
        offset = row % PAGE
        return page[offset] if offset < len(page) else None

    def _want(self, page: int) -> None:
        if self._comparison is None or not self._built:
            return
        self._wanted.add(page)
        if not self._fetching:
            self._fetching = True
            spawn(self._fetch_wanted(self._generation), name="compare-pages", owner=self)

    async def _fetch_wanted(self, generation: int) -> None:
        try:
            while self._wanted and generation == self._generation:
                page = max(self._wanted)
                self._wanted.discard(page)
                if page in self._pages:
                    continue
                rows = await self._read_page(page)
                if generation != self._generation:
                    return
                if rows is not None:
                    self._store(page, rows)
        finally:
            if generation == self._generation:
                self._fetching = False

    async def _read_page(self, page: int) -> list[PairRow] | None:
        comparison = self._comparison
        if comparison is None:
            return None
        try:
            if self._positions is not None:
                return await comparison.pairs_at(self._positions[page * PAGE:(page + 1) * PAGE])
            # Before the position list is read: the page after the last pair shown before it.
            before = self._pages.get(page - 1)
            if before:
                return await comparison.pair_page(self._filter, before[-1].pos, PAGE)
            return None  # asked again once the positions are read (the next repaint)
        except Superseded:
            return None

    def _store(self, page: int, rows: list[PairRow]) -> None:
        if not rows:
            return
        self._pages[page] = rows
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        first = page * PAGE
        last = min(first + len(rows), self._count) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def pair_at(self, row: int) -> PairRow | None:
        return self._row(row) if 0 <= row < self._count else None

    # -- Qt model API ------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def _label(self, row: PromptRow | None) -> str:
        if row is None:
            return ""
        label = "" if row.label is None else self.label_names.get(row.label, str(row.label))
        return f"{label} ✎ {row.note}".strip() if row.note else label

    def _text(self, pair: PairRow, column: int) -> str:
        a, b = pair.a, pair.b
        if column == COL_KEY:
            return pair.key
        if column == COL_PROMPT:
            return (a or b).prompt if (a or b) is not None else ""  # type: ignore[union-attr]
        if column in (COL_A, COL_B):
            side = a if column == COL_A else b
            return "" if side is None else side.answer or side.error
        if column == COL_SAME:
            return same_words(pair.flags)
        if column in (COL_A_STATE, COL_B_STATE):
            side = a if column == COL_A_STATE else b
            return "" if side is None else state_label(side.state)
        if column in (COL_A_TOKENS, COL_B_TOKENS):
            return _tokens(a if column == COL_A_TOKENS else b)
        if column in (COL_A_COST, COL_B_COST):
            side, cost = (a, pair.a_cost) if column == COL_A_COST else (b, pair.b_cost)
            return "" if side is None or cost is None else money(cost)
        if column in (COL_A_LABEL, COL_B_LABEL):
            return self._label(a if column == COL_A_LABEL else b)
        return _check(a if column == COL_A_CHECK else b)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._count:
            return None
        pair = self._row(index.row())
        if role == PairRole:
            return pair
        column = index.column()
        if pair is None:
            return LOADING if role == Qt.ItemDataRole.DisplayRole and column == COL_PROMPT \
                else None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._text(pair, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == COL_SAME:
                words = same_words(pair.flags)
                if words == "different" or words == "failed":
                    return state_colour("failed")
                if words.startswith("same"):
                    return state_colour("completed")
            if column in (COL_A_STATE, COL_B_STATE):
                side = pair.a if column == COL_A_STATE else pair.b
                return None if side is None else state_colour(side.state)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
