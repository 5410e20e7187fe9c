"""A small table of items with ids (runs, batches) that updates in place.

Each refresh hands the whole list again (runs and batches number in the tens to thousands).
:meth:`ItemTableModel.set_items` turns the difference into the smallest change a view
understands: rows gone are removed, new rows inserted, changed rows repainted
(``dataChanged``); rows that moved are moved with their persistent indexes. So the view keeps
its selection and current row across every refresh, and when the selected item goes away the
selection model says so (``selectionChanged``) instead of silently pointing elsewhere.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
#: Role returning the row's item.
ItemRole = Qt.ItemDataRole.UserRole + 1
#: Role returning, for a progress column, the segments (state, count) to paint.
ProgressRole = Qt.ItemDataRole.UserRole + 2
T = TypeVar("T")


class ItemTableModel(QAbstractTableModel, Generic[T]):
    """A table of items with an id; subclasses say the columns and cells."""

    HEADERS: tuple[str, ...] = ()
    NUMERIC: frozenset[int] = frozenset()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[T] = []

    def key(self, item: T) -> Hashable:
        """What identifies an item across refreshes (its id)."""
        raise NotImplementedError

    # -- updating ------------------------------------------------------------------------------
    def set_items(self, items: Sequence[T]) -> None:
        """Show ``items`` (see the module docstring)."""
        new = list(items)
        new_keys = [self.key(i) for i in new]
        wanted = set(new_keys)
        self._remove_missing(wanted)
        kept = {self.key(i) for i in self._items}
        if [self.key(i) for i in self._items] != [k for k in new_keys if k in kept]:
            self._reorder([k for k in new_keys if k in kept])
        for row, item in enumerate(new):
            if row >= len(self._items) or self.key(self._items[row]) != new_keys[row]:
                self.beginInsertRows(QModelIndex(), row, row)
                self._items.insert(row, item)
                self.endInsertRows()
            elif self._items[row] != item:
                self._items[row] = item
                self.dataChanged.emit(self.index(row, 0),
                                      self.index(row, len(self.HEADERS) - 1))

    def _remove_missing(self, wanted: set[Hashable]) -> None:
        row = len(self._items) - 1
        while row >= 0:
            if self.key(self._items[row]) in wanted:
                row -= 1
                continue
            last = row
            while row - 1 >= 0 and self.key(self._items[row - 1]) not in wanted:
                row -= 1
            self.beginRemoveRows(QModelIndex(), row, last)
            del self._items[row:last + 1]
            self.endRemoveRows()
            row -= 1

    def _reorder(self, order: list[Hashable]) -> None:
        """Put the (same) items in ``order``, moving persistent indexes with them."""
        self.layoutAboutToBeChanged.emit()
        by_key = {self.key(i): i for i in self._items}
        before = self.persistentIndexList()
        keys = [self.key(self._items[i.row()]) for i in before]
        self._items = [by_key[k] for k in order]
        rows = {k: r for r, k in enumerate(order)}
        self.changePersistentIndexList(before, [self.index(rows[k], i.column())
                                                for k, i in zip(keys, before, strict=True)])
        self.layoutChanged.emit()

    # -- reading -------------------------------------------------------------------------------
    def item(self, row: int) -> T | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def items(self) -> list[T]:
        return list(self._items)

    def row_of(self, key: Hashable) -> int:
        for row, item in enumerate(self._items):
            if self.key(item) == key:
                return row
        return -1

    def find(self, key: Hashable) -> T | None:
        row = self.row_of(key)
        return self._items[row] if row >= 0 else None

    # -- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.item(index.row())
        if item is None:
            return None
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in self.NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return self.cell(item, index.column(), role)

    def cell(self, item: T, column: int, role: int) -> Any:
        raise NotImplementedError
