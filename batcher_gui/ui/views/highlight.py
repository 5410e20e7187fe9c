"""Search matches lit up in the prompts table's Prompt and Answer cells (and in the detail
pane's text): where the query's terms match, as the search found them (words and prefixes with
the search index, substrings without; see domain/search.py)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextEdit,
)

from batcher_gui.domain.search import match_spans
from batcher_gui.ui.base.qtfix import item_data

Index = QModelIndex | QPersistentModelIndex
#: A marker yellow, half see-through: readable on light and dark rows alike.
MARK = QColor(255, 200, 40, 150)
#: Space the style leaves on each side of a cell's text.
_MARGIN = 4


class HighlightDelegate(QStyledItemDelegate):
    """Paints a cell's one-line text with the search's matches marked."""

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)
        self.query = ""
        #: True: the search index's meaning (words, prefixes); False: substrings.
        self.words = True

    def set_query(self, query: str, *, words: bool | None = None) -> None:
        self.query = query
        if words is not None:
            self.words = words

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        text = item_data(index, Qt.ItemDataRole.DisplayRole)
        spans = match_spans(text, self.query, words=self.words) if (
            self.query and isinstance(text, str)) else []
        widget = option.widget  # type: ignore[attr-defined]
        if not spans:
            super().paint(painter, option, index)
            return
        assert isinstance(text, str)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect: QRect = option.rect.adjusted(_MARGIN, 0, -_MARGIN, 0)  # type: ignore[attr-defined]
        metrics = option.fontMetrics  # type: ignore[attr-defined]
        shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        visible = len(shown) - (1 if shown != text and shown.endswith("…") else 0)
        painter.save()
        for start, end in spans:
            if start >= visible:
                break
            end = min(end, visible)
            left = rect.left() + metrics.horizontalAdvance(shown[:start])
            width = metrics.horizontalAdvance(shown[start:end])
            painter.fillRect(QRect(left, rect.top() + 2, width, rect.height() - 4), MARK)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(option.palette.color(role))  # type: ignore[attr-defined]
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                         shown)
        painter.restore()


def mark_matches(edit: QTextEdit, query: str, *, words: bool = True) -> int:
    """Mark the query's matches in ``edit``'s text (extra selections: the text itself is not
    changed); returns how many."""
    if not query:
        edit.setExtraSelections([])
        return 0
    spans = match_spans(edit.toPlainText(), query, words=words)
    marks = []
    fmt = QTextCharFormat()
    fmt.setBackground(MARK)
    for start, end in spans:
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(edit.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor  # type: ignore[attr-defined]
        selection.format = fmt  # type: ignore[attr-defined]
        marks.append(selection)
    edit.setExtraSelections(marks)
    return len(marks)
