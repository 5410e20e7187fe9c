"""The file the import dialog is on, as read so far: its name, size and format, the format and
sheet it is read with, and its first rows in a table.

The dialog reads the file (in the background) and lays the widgets out; this only shows what
was read.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
)

from batcher_gui.domain import intake as previews
from batcher_gui.domain.models import InputFormat
from batcher_gui.domain.wording import size_text
from batcher_gui.ui.dialogs.import_form import FORMAT_NAMES
from batcher_gui.ui.dialogs.import_words import escaped

#: A JSONL file's table: a line is a whole request, so these are picked out of it.
JSONL_COLUMNS = ["custom_id", "url", "model", "first user text"]


class FileView:
    """The file's line (``top``: name, Format, Sheet) and its first rows (``table``)."""

    def __init__(self) -> None:
        self.file_label = QLabel()
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.format = QComboBox()
        self.format.setAccessibleName("Format")
        self.format.addItem("Detect", None)
        for fmt, name in FORMAT_NAMES.items():
            self.format.addItem(name, fmt)
        self.sheet = QComboBox()
        self.sheet.setAccessibleName("Sheet")
        self.sheet_label = QLabel("Sheet")
        self.top = QHBoxLayout()
        self.top.addWidget(self.file_label, 1)
        self.top.addWidget(QLabel("Format"))
        self.top.addWidget(self.format)
        self.top.addWidget(self.sheet_label)
        self.top.addWidget(self.sheet)

        self.table = QTableWidget()
        self.table.setAccessibleName("File preview")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)

    def show_reading(self, path: str) -> None:
        self.file_label.setText(f"<b>{escaped(Path(path).name)}</b> · reading…")

    def show_file(self, path: str, preview: previews.FilePreview) -> None:
        """What was read: the file's size and format, its sheets (a workbook's), its rows."""
        self.file_label.setText(f"<b>{escaped(Path(path).name)}</b> · "
                                f"{size_text(preview.total_bytes)} · "
                                f"{FORMAT_NAMES[preview.format]}")
        self.file_label.setToolTip(path)
        self._show_sheets(preview)
        self._show_table(preview)

    def show_unreadable(self, path: str) -> None:
        """The file's name only, and no rows: it cannot be read as chosen."""
        self.file_label.setText(f"<b>{escaped(Path(path).name)}</b>")
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)

    def set_choosable(self, choosable: bool) -> None:
        """Format and sheet can be chosen (not while importing)."""
        self.format.setEnabled(choosable)
        self.sheet.setEnabled(choosable)

    def forget_choices(self) -> None:
        """The next file is read as detected, its sheets not yet known."""
        self.format.setCurrentIndex(0)
        self.sheet.clear()

    def _show_sheets(self, preview: previews.FilePreview) -> None:
        shown = preview.format is InputFormat.XLSX
        self.sheet.setVisible(shown)
        self.sheet_label.setVisible(shown)
        current = self.sheet.currentData()
        self.sheet.clear()
        for name in preview.sheets:
            self.sheet.addItem(name, name)
        if current in preview.sheets:
            self.sheet.setCurrentIndex(preview.sheets.index(current))

    def _show_table(self, preview: previews.FilePreview) -> None:
        columns = (preview.columns or (JSONL_COLUMNS if preview.format is InputFormat.JSONL
                                       else ["prompt"]))
        self.table.clear()
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(preview.rows))
        for r, row in enumerate(preview.rows):
            for c, cell in enumerate(row[:len(columns)]):
                self.table.setItem(r, c, QTableWidgetItem(cell.replace("\n", " ⏎ ")))
        for c in range(len(columns)):
            self.table.setColumnWidth(c, 320 if len(columns) == 1 else 160)
        self.table.horizontalHeader().setStretchLastSection(True)
