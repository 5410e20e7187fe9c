"""Painting: a progress bar of states in a table cell, and an empty-table message."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
)

from batcher_gui.ui.base.qtfix import item_data
from batcher_gui.ui.base.theme import PROGRESS_ORDER, is_dark, state_colour
from batcher_gui.ui.models.runs import ProgressRole

Index = QModelIndex | QPersistentModelIndex


class ProgressDelegate(QStyledItemDelegate):
    """A bar split by state (done, in flight, waiting, failed), with the cell's text on it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        segments: list[tuple[Any, int]] | None = item_data(index, ProgressRole)
        if not segments:
            super().paint(painter, option, index)
            return
        widget = option.widget  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else None
        if style is not None:  # selection background and focus, as the style draws them
            opt = QStyleOptionViewItem(option)
            self.initStyleOption(opt, index)
            opt.text = ""  # type: ignore[attr-defined]
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect: QRect = option.rect.adjusted(4, 5, -4, -5)  # type: ignore[attr-defined]
        total = sum(n for _, n in segments)
        dark = is_dark(widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        trough = QColor("#3f3f46" if dark else "#e5e7eb")
        painter.setBrush(trough)
        painter.drawRoundedRect(rect, 3, 3)
        order = {s: i for i, s in enumerate(PROGRESS_ORDER)}
        x = rect.left()
        for state, n in sorted(segments, key=lambda sn: order.get(sn[0], 99)):
            if not n or total == 0:
                continue
            width = max(1, round(rect.width() * n / total))
            width = min(width, rect.right() - x + 1)
            colour = state_colour(state, dark)
            colour.setAlpha(150 if state in ("pending",) else 230)
            painter.setBrush(colour)
            painter.drawRect(QRect(x, rect.top(), width, rect.height()))
            x += width
        text = item_data(index, Qt.ItemDataRole.DisplayRole)
        if text:
            painter.setPen(option.palette.color(QPalette.ColorRole.Text))  # type: ignore
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(text))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 140), hint.height())


class EmptyMessageTable(QTableView):
    """A table that says what to do when it has no rows (instead of a blank grid).

    Keys move between rows, not cells: Tab leaves the table (to the next control) instead of
    walking its cells and silently choosing another row; Home and End go to the first and
    last row. A frame in the highlight colour shows when the table has the keyboard focus.
    """

    def __init__(self, message: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.empty_message = message
        self.setTabKeyNavigation(False)
        self.setStyleSheet("EmptyMessageTable { border: 1px solid palette(mid); } "
                           "EmptyMessageTable:focus { border: 1px solid palette(highlight); }")
        header = self.horizontalHeader()
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._choose_columns)

    def _choose_columns(self, pos: Any) -> None:
        """Right-click on the header: tick the columns to show (the layout remembers)."""
        model, header = self.model(), self.horizontalHeader()
        if model is None:
            return
        menu = QMenu(self)
        shown = [c for c in range(model.columnCount()) if not header.isSectionHidden(c)]
        for column in range(model.columnCount()):
            action = menu.addAction(str(model.headerData(column, Qt.Orientation.Horizontal)))
            action.setCheckable(True)
            action.setChecked(column in shown)
            action.setEnabled(not (column in shown and len(shown) == 1))  # never hide them all
            action.toggled.connect(lambda on, c=column: header.setSectionHidden(c, not on))
        menu.popup(header.mapToGlobal(pos))

    def moveCursor(self, action: QAbstractItemView.CursorAction,
                   modifiers: Qt.KeyboardModifier) -> QModelIndex:
        model = self.model()
        ends = (QAbstractItemView.CursorAction.MoveHome, QAbstractItemView.CursorAction.MoveEnd)
        if action in ends and model is not None and model.rowCount() > 0:
            current = self.currentIndex()
            column = current.column() if current.isValid() else 0
            row = 0 if action is QAbstractItemView.CursorAction.MoveHome \
                else model.rowCount() - 1
            return model.index(row, column)
        return super().moveCursor(action, modifiers)

    def paintEvent(self, event: Any) -> None:
        super().paintEvent(event)
        model = self.model()
        if model is None or model.rowCount() > 0 or not self.empty_message:
            return
        painter = QPainter(self.viewport())
        colour = self.palette().color(QPalette.ColorRole.PlaceholderText)
        painter.setPen(colour)
        rect = self.viewport().rect().adjusted(24, 24, -24, -24)
        painter.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                         | Qt.TextFlag.TextWordWrap, self.empty_message)
        painter.end()
